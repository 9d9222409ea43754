"""The organisation's audit trail: who changed a team, member, category, policy, card or setting."""

from typing import Any, Literal

from sqlalchemy import insert, select

from db.engine import RequestDb
from db.tables import audit_events

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
    """Add one audit event in the request's write transaction (it commits with the change)."""
    await db.rows(
        insert(audit_events)
        .values(
            business_id=business_id,
            actor_member_id=actor_member_id,
            actor_api_key_id=actor_api_key_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            details=details or {},
        )
        .returning(audit_events.c.id)
    )


async def events_of(
    *, db: RequestDb, business_id: int, object_type: ObjectType, object_id: int
) -> list[Any]:
    """Return the audit events of one object, oldest first."""
    return list(
        await db.rows(
            select(audit_events)
            .where(
                audit_events.c.business_id == business_id,
                audit_events.c.object_type == object_type,
                audit_events.c.object_id == object_id,
            )
            .order_by(audit_events.c.at, audit_events.c.id)
        )
    )
