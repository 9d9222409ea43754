"""The change feed: events written in the transaction of the change, read in commit-safe order.

Every committed change adds one row to ``events`` in its own transaction (a transactional
outbox), so an event exists exactly when its change does. Each row carries ``tx``, the id
of the transaction that wrote it.

Reading in id order would lose events: ids are taken at insert, but transactions commit
in another order, so a reader that has read up to id 105 can later find that 103
committed after it looked. Instead the feed is read in ``(tx, id)`` order, and only below
the oldest transaction still running when the statement starts
(``pg_snapshot_xmin(pg_current_snapshot())``): every transaction below that horizon has
ended, so nothing can appear below it later, and any transaction that commits later has a
``tx`` at or above it. A cursor ``(tx, id)`` taken from a read therefore never skips a
committed event. A long transaction holds later events back until it ends; it never
loses them.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    delete,
    exists,
    false,
    literal_column,
    or_,
    select,
    tuple_,
)

from db.engine import RequestDb
from db.nodes import NODE_TABLES
from db.rows import EventRow
from db.tables.feed import events
from db.visibility import Visibility
from db.writes.rows import insert_row

# object types the feed carries, and the table whose visibility applies to their events
# (None: only callers who see the whole business)
OBJECT_TABLES: dict[str, str | None] = {
    "Expense": "expenses",
    "Receipt": "receipts",
    "Card": "cards",
    "Member": "members",
    "Team": "teams",
    "Category": "categories",
    "Policy": None,
    "Business": None,
    "ApiKey": None,
    "WebhookEndpoint": None,
}
# the horizon: ids of transactions below it have all ended (see the module docstring)
_HORIZON = literal_column("(pg_snapshot_xmin(pg_current_snapshot()))::text::bigint", BigInteger)


@dataclass(frozen=True)
class Actor:
    """Who made a change: a member, an API key, or neither (the system)."""

    member_id: int | None = None
    api_key_id: int | None = None


SYSTEM = Actor()


async def emit(
    *,
    db: RequestDb,
    business_id: int,
    type: str,
    object_type: str,
    object_id: int,
    actor: Actor,
    data: dict[str, Any] | None = None,
) -> None:
    """Add one event in the request's write transaction: it commits with the change or not at all."""
    if object_type not in OBJECT_TABLES:
        raise ValueError(f"no events for {object_type}")
    values = {
        "type": type,
        "object_type": object_type,
        "object_id": object_id,
        "actor_member_id": actor.member_id,
        "actor_api_key_id": actor.api_key_id,
        "data": data or {},
    }
    await insert_row(db=db, table=events, business_id=business_id, values=values)


@dataclass(frozen=True)
class FeedFilter:
    """What a reader asks for; every given condition must hold."""

    types: Sequence[str] | None = None
    objects: Sequence[tuple[str, int]] | None = None  # (object type, id)
    occurred_after: datetime | None = None


async def feed(
    *,
    db: RequestDb,
    visibility: Visibility,
    object_types: Sequence[str],
    after: tuple[int, int] | None,
    limit: int,
    filter_: FeedFilter,
) -> list[EventRow]:
    """Return up to ``limit`` events after the cursor ``(tx, id)``, in commit-safe order.

    ``object_types``: the types the caller may read events of; the visibility of each
    object applies as it does to the object itself.
    """
    conditions: list[ColumnElement[bool]] = [
        events.c.business_id == visibility.business_id,
        events.c.tx < _HORIZON,
        _visible(visibility, object_types),
    ]
    if after is not None:
        conditions.append(tuple_(events.c.tx, events.c.id) > tuple_(*after))
    if filter_.types is not None:
        conditions.append(events.c.type.in_(list(filter_.types)))
    if filter_.objects is not None:
        conditions.append(
            or_(
                false(),
                *(
                    and_(events.c.object_type == kind, events.c.object_id == id_)
                    for kind, id_ in filter_.objects
                ),
            )
        )
    if filter_.occurred_after is not None:
        conditions.append(events.c.occurred_at > filter_.occurred_after)
    statement = select(events).where(*conditions).order_by(events.c.tx, events.c.id).limit(limit)
    return list(cast("Sequence[EventRow]", await db.rows(statement)))


def _visible(visibility: Visibility, object_types: Sequence[str]) -> ColumnElement[bool]:
    """Return the events of ``object_types`` whose objects ``visibility`` shows."""
    allowed: list[ColumnElement[bool]] = []
    for kind in object_types:
        table_name = OBJECT_TABLES[kind]
        if visibility.sees_all:
            allowed.append(events.c.object_type == kind)
            continue
        if table_name is None:
            continue  # policies, settings and keys: only for whoever sees the whole business
        node = NODE_TABLES[table_name]
        table, predicate = node.table, node.visible
        sees = exists(
            select(1)
            .select_from(table)
            .where(
                table.c.business_id == events.c.business_id,
                table.c.id == events.c.object_id,
                predicate(visibility),
            )
        )
        allowed.append(and_(events.c.object_type == kind, sees))
    return or_(false(), *allowed)


# how long events are kept at least: integrations resume from cursors up to this old
KEEP_DAYS = 30


async def prune(*, db: RequestDb, older_than: datetime, limit: int = 10_000) -> int:
    """Delete up to ``limit`` events written before ``older_than``; return how many."""
    oldest = (
        select(events.c.business_id, events.c.id)
        .where(events.c.occurred_at < older_than)
        .order_by(events.c.occurred_at)
        .limit(limit)
    )
    statement = (
        delete(events)
        .where(tuple_(events.c.business_id, events.c.id).in_(oldest))
        .returning(events.c.id)
    )
    return len(await db.rows(statement))


async def feed_end(*, db: RequestDb) -> tuple[int, int]:
    """Return a cursor before every event not yet readable: "from now on".

    Events of transactions still running, or starting later, all have a ``tx`` at or
    above the horizon; the cursor sits just below it (so a few events committed just
    before may follow too, never one less).
    """
    horizon = (await db.rows(select(_HORIZON.label("horizon"))))[0].horizon
    return int(horizon) - 1, 2**63 - 1
