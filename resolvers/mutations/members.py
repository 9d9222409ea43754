"""Members: added, given another role or team, and deactivated by admins.

An email is a member's for good within a business: a deactivated member keeps it, so
they cannot be added again (their history stays theirs). A deactivated member's tokens
stop at once (db/queries/auth.py looks only for active members) and the teams they managed are
left without a manager. No change may leave the business without an active admin.
"""

import re
from dataclasses import dataclass
from typing import Any

from db.nodes import MEMBER, TEAM
from db.roles import Role
from db.rows import MemberRow
from db.tables.org import ROLES
from db.writes import org as org_writes
from resolvers.context import Context
from resolvers.mutations.business import require_admin, required_name
from resolvers.mutations.changes import record_change
from resolvers.mutations.common import row_id
from resolvers.mutations.org_refs import active_member, live_team, locked_member
from resolvers.mutations.rules import RuleCode, atomic, clean_text, fail

WHAT = "manage members"
MAX_EMAIL = 254  # RFC 5321's limit on a forward path
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


@dataclass(frozen=True)
class MemberChanges:
    """updateMember's input: a role (None keeps it) and, if ``set_team``, the team."""

    role: str | None = None
    team_id: str | None = None
    set_team: bool = False


def normalised_email(value: str, field: str = "email") -> str:
    """Return the email in lower case without blanks around it; INVALID_VALUE if it is not one."""
    email = clean_text(value, field, max_length=MAX_EMAIL).lower()
    if not EMAIL.fullmatch(email):
        raise fail(RuleCode.INVALID_VALUE, "Give an email address such as ann@example.com.", field)
    return email


def _role(role: str) -> str:
    if role not in ROLES:  # the schema's enum already refuses others
        raise fail(RuleCode.INVALID_VALUE, f"Unknown role {role[:20]!r}.", "role")
    return role


async def _open_team(ctx: Context, global_id: str | None, current: int | None = None) -> int | None:
    """Return the row id of a team that takes members (share-locked), or raise the userError.

    ``current`` is the member's team: staying in it is no change, archived or not.
    """
    if global_id is None:
        return None
    id_ = row_id(global_id, "Team", "teamId")
    if id_ == current:
        return id_
    team = await live_team(ctx, id_, "The team is archived; it takes no new members.")
    return int(team.id)


async def _keep_an_admin(ctx: Context, member: MemberRow, field: str) -> None:
    """Raise LAST_ADMIN when ``member`` is the business's only active admin."""
    principal, _ = ctx.require()
    # concurrent admin changes queue here, so two admins cannot remove each other at once
    await org_writes.lock_business(db=ctx.db, business_id=principal.business_id)
    admins = await org_writes.active_admin_ids(db=ctx.db, business_id=principal.business_id)
    if not set(admins) - {member.id}:
        raise fail(
            RuleCode.LAST_ADMIN,
            f"{member.name} is the business's last active admin; make another member an admin first.",
            field,
        )


def _seen(
    ctx: Context, row: MemberRow, *, teams: tuple[int | None, ...], unmanaged: list[int]
) -> MemberRow:
    """Make the request's loaders see the member's new state and its teams'; return it."""
    _, loaders = ctx.require()
    loaders.changed(MEMBER, row.id, row)
    for team in {t for t in teams if t is not None}:
        loaders.members_by_team.clear(team)
        loaders.member_counts.clear(team)
    for team in unmanaged:
        loaders.changed(TEAM, team)
    return row


async def add_member(
    ctx: Context, email: str, name: str, role: str, team_id: str | None
) -> MemberRow:
    """Add a member to the caller's business and return it."""
    principal = require_admin(ctx, WHAT)
    async with atomic(ctx):
        email = normalised_email(email)
        name = required_name(name, what="member's name")
        role = _role(role)
        team = await _open_team(ctx, team_id)
        found = await org_writes.member_by_email(
            db=ctx.db, business_id=principal.business_id, email=email
        )
        if found is not None:
            raise _duplicate(email, found)
        try:
            row = await org_writes.insert_member(
                db=ctx.db, business_id=principal.business_id, name=name, email=email,
                role=role, team_id=team,
            )  # fmt: skip
        except org_writes.AlreadyExists:  # added by a concurrent request since the lookup
            raise _duplicate(email, None) from None
        details = {"email": email, "name": name, "role": role, "team_id": team}
        await record_change(
            ctx, object_type="Member", object_id=row.id, action="ADDED",
            details=details,
        )  # fmt: skip
        return _seen(ctx, row, teams=(team,), unmanaged=[])


def _duplicate(email: str, found: MemberRow | None) -> Exception:
    if found is not None and found.deactivated_at is not None:
        message = f"{email} belonged to a member who was deactivated; they cannot be added again."
    else:
        message = f"The business already has a member with email {email}."
    return fail(RuleCode.DUPLICATE, message, "email")


async def update_member(ctx: Context, global_id: str, changes: MemberChanges) -> MemberRow:
    """Give a member another role or team; return the member."""
    principal = require_admin(ctx, WHAT)
    async with atomic(ctx):
        member = await active_member(ctx, global_id, "id", share=False)
        values: dict[str, Any] = {}
        if changes.role is not None and changes.role != member.role:
            values["role"] = _role(changes.role)
            if member.role == Role.ADMIN:
                await _keep_an_admin(ctx, member, "role")
        if changes.set_team:
            team = await _open_team(ctx, changes.team_id, current=member.team_id)
            if team != member.team_id:
                values["team_id"] = team
        if not values:
            return member
        unmanaged: list[int] = []
        if values.get("role") == Role.EMPLOYEE:  # an employee manages no team
            unmanaged = await org_writes.drop_manager(
                db=ctx.db, business_id=principal.business_id, manager_id=member.id
            )
        row = await org_writes.update_member(
            db=ctx.db, business_id=principal.business_id, member_id=member.id, values=values
        )
        before = {k: getattr(member, k) for k in values}
        details = {"from": before, "to": values, "unmanaged_team_ids": unmanaged}
        await record_change(
            ctx, object_type="Member", object_id=row.id, action="UPDATED",
            details=details,
        )  # fmt: skip
        return _seen(ctx, row, teams=(member.team_id, row.team_id), unmanaged=unmanaged)


async def deactivate_member(ctx: Context, global_id: str) -> MemberRow:
    """Deactivate a member for good: their tokens stop, their history stays; return them."""
    principal = require_admin(ctx, WHAT)
    async with atomic(ctx):
        member = await locked_member(ctx, global_id)
        if member.deactivated_at is not None:
            raise fail(RuleCode.INVALID_TRANSITION, "The member is already deactivated.", "id")
        if member.role == Role.ADMIN:
            await _keep_an_admin(ctx, member, "id")
        unmanaged = await org_writes.drop_manager(
            db=ctx.db, business_id=principal.business_id, manager_id=member.id
        )
        row = await org_writes.deactivate_member(
            db=ctx.db, business_id=principal.business_id, member_id=member.id
        )
        await record_change(
            ctx, object_type="Member", object_id=row.id, action="DEACTIVATED",
            details={"unmanaged_team_ids": unmanaged},
        )  # fmt: skip
        return _seen(ctx, row, teams=(row.team_id,), unmanaged=unmanaged)
