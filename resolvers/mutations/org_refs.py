"""The members and teams a change points at or changes: of the caller's business, locked, live."""

from db.rows import MemberRow, TeamRow
from db.writes import org as org_writes
from resolvers.context import Context
from resolvers.mutations.common import row_id
from resolvers.mutations.rules import RuleCode, fail, found


async def locked_member(
    ctx: Context, global_id: str, field: str = "id", *, share: bool = False
) -> MemberRow:
    """Return the member ``global_id`` names, locked for update (``share``: share-locked);
    else NOT_FOUND on ``field``."""
    principal, _ = ctx.require()
    member = await org_writes.locked_member(
        db=ctx.db,
        business_id=principal.business_id,
        member_id=row_id(global_id, "Member", field),
        share=share,
    )
    return found(member, "member", field)


async def active_member(
    ctx: Context, global_id: str, field: str, *, share: bool = True
) -> MemberRow:
    """Return the active member ``global_id`` names, share-locked (``share`` False: locked
    for update); else the userError on ``field``."""
    member = await locked_member(ctx, global_id, field, share=share)
    # locked first: the member cannot be deactivated between this check and the write
    if member.deactivated_at is not None:
        raise fail(RuleCode.MEMBER_DEACTIVATED, "The member is deactivated.", field)
    return member


async def live_team(ctx: Context, team_id: int, if_archived: str) -> TeamRow:
    """Return the unarchived team ``team_id``, share-locked; else the userError on teamId.

    ``if_archived`` is that userError's message for an archived team.
    """
    principal, _ = ctx.require()
    team = await org_writes.team(db=ctx.db, business_id=principal.business_id, team_id=team_id)
    team = found(team, "team", "teamId")
    if team.archived_at is not None:
        raise fail(RuleCode.TEAM_ARCHIVED, if_archived, "teamId")
    return team
