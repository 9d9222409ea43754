"""Webhook endpoints and their deliveries: the rows, and the feed turned into deliveries."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import BigInteger, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert

from db.engine import RequestDb
from db.locks import locked_row
from db.rows import EventRow, WebhookDeliveryRow, WebhookEndpointRow
from db.tables.feed import events as events_table
from db.tables.feed import webhook_deliveries, webhook_endpoints
from db.visibility import Visibility
from db.writes import events
from db.writes.rows import update_row

# events turned into deliveries per endpoint and tick, at most
DISPATCH_BATCH = 500


async def create_endpoint(
    *,
    db: RequestDb,
    business_id: int,
    url: str,
    description: str,
    event_types: Sequence[str],
    secret: str,
) -> WebhookEndpointRow:
    """Add an endpoint; it receives the events committed from now on.

    It starts where ``events.feed_end`` says "now" is, as a subscription without a cursor
    does: the greatest (tx, id) so far would skip a transaction that began earlier and
    commits later.
    """
    feed_tx, feed_id = await events.feed_end(db=db)
    statement = (
        insert(webhook_endpoints)
        .values(business_id=business_id, url=url, description=description,
                event_types=list(event_types), secret=secret, feed_tx=feed_tx, feed_id=feed_id)
        .returning(*webhook_endpoints.c)
    )  # fmt: skip
    return cast(WebhookEndpointRow, (await db.rows(statement))[0])


async def endpoints(*, db: RequestDb, business_id: int) -> list[WebhookEndpointRow]:
    """Return the business's endpoints, oldest first."""
    statement = (
        select(webhook_endpoints)
        .where(webhook_endpoints.c.business_id == business_id)
        .order_by(webhook_endpoints.c.id)
    )
    return list(cast("Sequence[WebhookEndpointRow]", await db.rows(statement)))


async def lock_endpoint(
    *, db: RequestDb, business_id: int, endpoint_id: int
) -> WebhookEndpointRow | None:
    """Return the endpoint, locked for this transaction, or None."""
    return await locked_row(
        db=db, table=webhook_endpoints, business_id=business_id, row_id=endpoint_id
    )


async def update_endpoint(
    *, db: RequestDb, business_id: int, endpoint_id: int, values: dict[str, Any]
) -> WebhookEndpointRow:
    """Change an endpoint and return it."""
    return cast(WebhookEndpointRow, await update_row(
        db=db, table=webhook_endpoints, business_id=business_id, row_id=endpoint_id,
        values=values,
    ))  # fmt: skip


class DeliveryOfEventRow(WebhookDeliveryRow, Protocol):
    """A webhook delivery with its event's type (:func:`deliveries`)."""

    event_type: str


async def deliveries(
    *,
    db: RequestDb,
    business_id: int,
    endpoint_id: int,
    statuses: Sequence[str] | None,
    limit: int,
    delivery_id: int | None = None,
) -> list[DeliveryOfEventRow]:
    """Return an endpoint's deliveries (or the one ``delivery_id``), newest first, each with
    its event's type."""
    conditions = [
        webhook_deliveries.c.business_id == business_id,
        webhook_deliveries.c.endpoint_id == endpoint_id,
    ]
    if statuses is not None:
        conditions.append(webhook_deliveries.c.status.in_(list(statuses)))
    if delivery_id is not None:
        conditions.append(webhook_deliveries.c.id == delivery_id)
    statement = (
        select(webhook_deliveries, events_table.c.type.label("event_type"))
        .join(
            events_table,
            (events_table.c.business_id == webhook_deliveries.c.business_id)
            & (events_table.c.id == webhook_deliveries.c.event_id),
        )
        .where(*conditions)
        .order_by(webhook_deliveries.c.id.desc())
        .limit(limit)
    )
    return list(cast("Sequence[DeliveryOfEventRow]", await db.rows(statement)))


async def redeliver(
    *, db: RequestDb, business_id: int, endpoint_id: int, event_id: int
) -> WebhookDeliveryRow:
    """Queue the event for the endpoint again (a new attempt now, a fresh day of retries)."""
    values = dict(
        status="PENDING", next_attempt_at=func.now(), first_attempt_at=None, attempts=0,
        last_error=None, delivered_at=None,
    )  # fmt: skip
    statement = (
        pg_insert(webhook_deliveries)
        .values(business_id=business_id, endpoint_id=endpoint_id, event_id=event_id)
        .on_conflict_do_update(
            index_elements=["business_id", "endpoint_id", "event_id"], set_=values
        )
        .returning(*webhook_deliveries.c)
    )
    return cast(WebhookDeliveryRow, (await db.rows(statement))[0])


async def dispatch(*, db: RequestDb, endpoint: WebhookEndpointRow) -> int:
    """Turn the events after the endpoint's feed position into deliveries; return how many.

    Reads the feed as db/writes/events.py does (never skipping an event), for every object of
    the business, the endpoint's types only; then moves the position past them.
    """
    tx, id_ = endpoint.feed_tx, endpoint.feed_id  # both set when the endpoint is created
    after = (tx, id_) if tx is not None and id_ is not None else None
    found = await events.feed(
        db=db,
        visibility=Visibility(business_id=endpoint.business_id),
        object_types=list(events.OBJECT_TABLES),
        after=after,
        limit=DISPATCH_BATCH,
        filter_=events.FeedFilter(types=list(endpoint.event_types) or None),
    )
    if not found:
        return 0
    await db.rows(
        pg_insert(webhook_deliveries)
        .values([
            {"business_id": endpoint.business_id, "endpoint_id": endpoint.id, "event_id": row.id}
            for row in found
        ])
        .on_conflict_do_nothing()
        .returning(webhook_deliveries.c.id)
    )  # fmt: skip
    last = found[-1]
    await update_endpoint(
        db=db, business_id=endpoint.business_id, endpoint_id=endpoint.id,
        values={"feed_tx": last.tx, "feed_id": last.id},
    )  # fmt: skip
    return len(found)


async def enabled_endpoints(*, db: RequestDb) -> list[WebhookEndpointRow]:
    """Return every enabled endpoint of every business (the worker's tick), in key order:
    the order ``lock_endpoints`` locks them in, so two ticks never wait on each other."""
    statement = (
        select(webhook_endpoints)
        .where(webhook_endpoints.c.enabled)
        .order_by(webhook_endpoints.c.business_id, webhook_endpoints.c.id)
    )
    return list(cast("Sequence[WebhookEndpointRow]", await db.rows(statement)))


async def due(*, db: RequestDb, now: datetime, limit: int) -> list[WebhookDeliveryRow]:
    """Claim deliveries due now to enabled endpoints (locked, skipping those another worker
    holds). A disabled endpoint's deliveries wait without filling the batch."""
    enabled = (
        select(webhook_endpoints.c.id)
        .where(
            webhook_endpoints.c.business_id == webhook_deliveries.c.business_id,
            webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id,
            webhook_endpoints.c.enabled,
        )
        .exists()
    )
    statement = (
        select(webhook_deliveries)
        .where(
            webhook_deliveries.c.status == "PENDING",
            webhook_deliveries.c.next_attempt_at <= now,
            enabled,
        )
        .order_by(webhook_deliveries.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(cast("Sequence[WebhookDeliveryRow]", await db.rows(statement)))


def _keys(keys: Sequence[tuple[int, int]], name: str) -> Any:
    """Return (business_id, ``name``) pairs as a table: two arrays, any number of pairs."""
    business_ids = bindparam("business_ids", [k[0] for k in keys], type_=ARRAY(BigInteger))
    ids = bindparam(f"{name}s", [k[1] for k in keys], type_=ARRAY(BigInteger))
    return func.unnest(business_ids, ids).table_valued("business_id", name).render_derived("k")


async def lock_endpoints(
    *, db: RequestDb, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], WebhookEndpointRow]:
    """Return the endpoints of ``keys`` (business id, endpoint id), locked for this
    transaction in key order, by key."""
    wanted = _keys(keys, "id")
    statement = (
        select(webhook_endpoints)
        .join(wanted, (webhook_endpoints.c.business_id == wanted.c.business_id)
              & (webhook_endpoints.c.id == wanted.c.id))
        .order_by(webhook_endpoints.c.business_id, webhook_endpoints.c.id)
        .with_for_update(of=webhook_endpoints)
    )  # fmt: skip
    rows = cast("Sequence[WebhookEndpointRow]", await db.rows(statement))
    return {(row.business_id, row.id): row for row in rows}


async def event_rows(
    *, db: RequestDb, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], EventRow]:
    """Return the events of ``keys`` (business id, event id), by key."""
    wanted = _keys(keys, "event_id")
    statement = select(events_table).join(
        wanted, (events_table.c.business_id == wanted.c.business_id)
        & (events_table.c.id == wanted.c.event_id),
    )  # fmt: skip
    rows = cast("Sequence[EventRow]", await db.rows(statement))
    return {(row.business_id, row.id): row for row in rows}


async def event_row(*, db: RequestDb, business_id: int, event_id: int) -> EventRow | None:
    """Return one event of the feed."""
    return (await event_rows(db=db, keys=[(business_id, event_id)])).get((business_id, event_id))


async def lease(
    *, db: RequestDb, deliveries: Sequence[WebhookDeliveryRow], until: datetime
) -> None:
    """Count an attempt of each delivery and hold it until ``until`` (the attempt's lease)."""
    wanted = _keys([(d.business_id, d.id) for d in deliveries], "id")
    await db.rows(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.business_id == wanted.c.business_id,
            webhook_deliveries.c.id == wanted.c.id,
        )
        .values(attempts=webhook_deliveries.c.attempts + 1, next_attempt_at=until)
        .returning(webhook_deliveries.c.id)
    )


async def store_outcome(
    *, db: RequestDb, delivery: WebhookDeliveryRow, values: dict[str, Any]
) -> None:
    """Store the outcome of the attempt a claim counted."""
    await db.rows(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.business_id == delivery.business_id,
            webhook_deliveries.c.id == delivery.id,
        )
        .values(**values)
        .returning(webhook_deliveries.c.id)
    )
