"""Teams: created, renamed, given a manager and archived by admins.

A team's manager is an active member who is not an EMPLOYEE (an employee's role gives
them nothing to manage with). An archived team keeps its members, cards and expenses,
but takes no new member and no manager change; it is never deleted.
"""

from dataclasses import dataclass
from typing import Any

from db.nodes import TEAM
from db.roles import Role
from db.rows import TeamRow
from db.writes import org as org_writes
from resolvers.context import Context
from resolvers.mutations.business import require_admin, required_name
from resolvers.mutations.changes import archive, record_change, seen
from resolvers.mutations.common import row_id
from resolvers.mutations.org_refs import active_member
from resolvers.mutations.rules import RuleCode, atomic, fail, found

WHAT = "manage teams"


@dataclass(frozen=True)
class TeamChanges:
    """updateTeam's input: a new name (None keeps it) and, if ``set_manager``, the manager."""

    name: str | None = None
    manager_id: str | None = None
    set_manager: bool = False


async def _manager(ctx: Context, global_id: str | None) -> int | None:
    """Return the row id of a member who may manage a team, or raise the userError."""
    if global_id is None:
        return None
    member = await active_member(ctx, global_id, "managerId")
    if member.role == Role.EMPLOYEE:
        raise fail(
            RuleCode.INVALID_VALUE,
            "An employee cannot manage a team; make them a MANAGER first.",
            "managerId",
        )
    return int(member.id)


def _duplicate(name: str) -> Exception:
    return fail(
        RuleCode.DUPLICATE,
        f"The business already has a team called {name!r} (archived teams count).",
        "name",
    )


async def _locked(ctx: Context, id_: int) -> TeamRow:
    principal, _ = ctx.require()
    team = await org_writes.locked_team(db=ctx.db, business_id=principal.business_id, team_id=id_)
    return found(team, "team")


async def create_team(ctx: Context, name: str, manager_id: str | None) -> TeamRow:
    """Create a team of the caller's business and return it."""
    principal = require_admin(ctx, WHAT)
    async with atomic(ctx):
        name = required_name(name, what="team name")
        manager = await _manager(ctx, manager_id)
        try:
            row = await org_writes.insert_team(
                db=ctx.db, business_id=principal.business_id, name=name, manager_id=manager
            )
        except org_writes.AlreadyExists:
            raise _duplicate(name) from None
        await record_change(
            ctx, object_type="Team", object_id=row.id, action="CREATED",
            details={"name": name, "manager_id": manager},
        )  # fmt: skip
        return seen(ctx, TEAM, row)


async def update_team(ctx: Context, global_id: str, changes: TeamChanges) -> TeamRow:
    """Rename a team or change its manager; return it."""
    principal = require_admin(ctx, WHAT)
    async with atomic(ctx):
        id_ = row_id(global_id, "Team")
        # the manager before the team: members are locked before teams everywhere
        manager = await _manager(ctx, changes.manager_id) if changes.set_manager else None
        team = await _locked(ctx, id_)
        values: dict[str, Any] = {}
        if changes.name is not None:
            values["name"] = required_name(changes.name, what="team name")
        if changes.set_manager and manager != team.manager_id:
            if team.archived_at is not None:
                raise fail(
                    RuleCode.TEAM_ARCHIVED, "The team is archived; its manager cannot change.", "id"
                )
            values["manager_id"] = manager
        changed = {k: v for k, v in values.items() if v != getattr(team, k)}
        if not changed:
            return team
        try:
            row = await org_writes.update_team(
                db=ctx.db, business_id=principal.business_id, team_id=team.id, values=changed
            )
        except org_writes.AlreadyExists:
            raise _duplicate(changed["name"]) from None
        before = {k: getattr(team, k) for k in changed}
        await record_change(
            ctx, object_type="Team", object_id=row.id, action="UPDATED",
            details={"from": before, "to": changed},
        )  # fmt: skip
        return seen(ctx, TEAM, row)


async def archive_team(ctx: Context, global_id: str) -> TeamRow:
    """Archive a team for good: its history stays, it takes no new members; return it."""
    principal = require_admin(ctx, WHAT)
    async with atomic(ctx):
        team = await _locked(ctx, row_id(global_id, "Team"))
        return await archive(
            ctx, team, "Team", TEAM,
            lambda: org_writes.archive_team(
                db=ctx.db, business_id=principal.business_id, team_id=team.id
            ),
        )  # fmt: skip
