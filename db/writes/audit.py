"""The organisation's audit trail: who changed a team, member, category, policy, card or setting."""

from collections.abc import Sequence
from typing import Any, Literal, cast

from sqlalchemy import select

from db.engine import RequestDb
from db.rows import AuditEventRow
from db.tables.feed import audit_events
from db.writes import events
from db.writes.rows import insert_row

ObjectType = Literal["Business", "Team", "Member", "Category", "Policy", "Card", "ApiKey"]


async def record(
    *,
    db: RequestDb,
    business_id: int,
    actor_member_id: int | None,
    actor_api_key_id: int | None,
    action: str,
    object_type: ObjectType,
    object_id: int,
    details: dict[str, Any] | None = None,
) -> None:
    """Add one audit event, and its event in the change feed, in the request's write
    transaction (they commit with the change)."""
    await events.emit(
        db=db,
        business_id=business_id,
        type=f"{object_type.lower()}.{action.lower()}",
        object_type=object_type,
        object_id=object_id,
        actor=events.Actor(actor_member_id, actor_api_key_id),
        data=event_data(details),
    )
    values = {
        "actor_member_id": actor_member_id,
        "actor_api_key_id": actor_api_key_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": details or {},
    }
    await insert_row(db=db, table=audit_events, business_id=business_id, values=values)


async def events_of(
    *, db: RequestDb, business_id: int, object_type: ObjectType, object_id: int
) -> list[AuditEventRow]:
    """Return the audit events of one object, oldest first."""
    return list(
        cast(
            "Sequence[AuditEventRow]",
            await db.rows(
                select(audit_events)
                .where(
                    audit_events.c.business_id == business_id,
                    audit_events.c.object_type == object_type,
                    audit_events.c.object_id == object_id,
                )
                .order_by(audit_events.c.at, audit_events.c.id)
            ),
        )
    )


def event_data(details: dict[str, Any] | None) -> dict[str, Any]:
    """Return what the feed says of a change: its transition, or the fields it changed.

    The audit trail keeps the old and new values; the feed, read by integrations, names
    the fields only (``{"fields": [...]}``), or carries a status move (``{"from", "to"}``).
    """
    if not details:
        return {}
    before, after = details.get("from"), details.get("to")
    if isinstance(before, str) and isinstance(after, str):
        return {"from": before, "to": after}
    if isinstance(after, dict):
        return {"fields": sorted(after)}
    return {}
