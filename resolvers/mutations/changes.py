"""Who may change the business's set-up (categories, policies, cards), and the audit trail."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from db.nodes import NodeType
from db.permissions import Permission
from db.roles import WHOLE_BUSINESS_ROLES
from db.rows import NodeRow
from db.writes import audit
from resolvers.context import Context, Principal
from resolvers.mutations.rules import RuleCode, fail

R = TypeVar("R", bound=NodeRow)


class ArchivableRow(NodeRow, Protocol):
    """A row archived for good rather than deleted (teams, categories)."""

    archived_at: datetime | None


A = TypeVar("A", bound=ArchivableRow)


def require_admin_or_finance(ctx: Context, *, key_permission: Permission, what: str) -> Principal:
    """Return the principal if it is an admin, finance, or an API key with ``key_permission``.

    A key without the permission gets a top-level FORBIDDEN, as for every permission; a member in
    another role gets a FORBIDDEN userError.
    """
    principal, _ = ctx.require()
    if principal.kind == "api_key":
        ctx.require(key_permission)
    elif principal.role not in WHOLE_BUSINESS_ROLES:
        raise fail(RuleCode.FORBIDDEN, f"Only an admin or finance may {what}.")
    return principal


def actor_ids(principal: Principal) -> tuple[int | None, int | None]:
    """Return (member id, API key id) of the principal, one of them None."""
    if principal.kind == "member":
        return principal.id, None
    return None, principal.id


async def record_change(
    ctx: Context,
    *,
    object_type: audit.ObjectType,
    object_id: int,
    action: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Add the audit event of a change, in the mutation's savepoint."""
    principal, _ = ctx.require()
    member_id, api_key_id = actor_ids(principal)
    await audit.record(
        db=ctx.db, business_id=principal.business_id, actor_member_id=member_id,
        actor_api_key_id=api_key_id, action=action, object_type=object_type,
        object_id=object_id, details=details,
    )  # fmt: skip


def seen(ctx: Context, node: NodeType[Any], row: R) -> R:
    """Make the request's loaders see ``row``'s new state (a write returned it); return it."""
    _, loaders = ctx.require()
    loaders.changed(node, row.id, row)
    return row


async def archive(
    ctx: Context,
    row: A,
    object_type: audit.ObjectType,
    node: NodeType[Any],
    write: Callable[[], Awaitable[A]],
) -> A:
    """Return ``row`` as ``write`` archives it, audited; INVALID_TRANSITION if it already is."""
    if row.archived_at is not None:
        what = object_type.lower()
        raise fail(RuleCode.INVALID_TRANSITION, f"The {what} is already archived.", "id")
    archived = await write()
    await record_change(ctx, object_type=object_type, object_id=archived.id, action="ARCHIVED")
    return seen(ctx, node, archived)
