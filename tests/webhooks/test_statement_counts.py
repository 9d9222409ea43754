"""SQL statements of the webhook lists and of claiming due deliveries: never one per row."""

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from app import webhooks
from db.engine import RequestDb, in_transaction
from db.tables.feed import webhook_deliveries
from db.writes import events
from resolvers.mutations.webhooks import endpoint_global_id
from tests.conftest import gql, token
from tests.webhooks.conftest import disable_all
from tests.world import World

CREATE = """mutation($url: String!) { p: createWebhookEndpoint(url: $url, eventTypes: ["card.frozen"]) {
  endpoint { id } userErrors { code } } }"""
ENDPOINTS = (
    "{ webhookEndpoints { id url eventTypes enabled disabledReason failingSince createdAt } }"
)
DELIVERIES = """query($id: ID!, $n: Int) {
  webhookDeliveries(endpointId: $id, statuses: [PENDING], first: $n) {
    eventId eventType status attempts lastHttpCode lastError nextAttemptAt deliveredAt } }"""
HOOK = "http://127.0.0.1:9/hook"  # never called: nothing here is attempted


@pytest.fixture(autouse=True)
async def _alone(engine: AsyncEngine) -> Any:
    await disable_all(engine)
    yield
    await disable_all(engine)


async def _endpoint(client: Any, admin: str) -> str:
    made = (await gql(client, CREATE, {"url": HOOK}, as_=admin))["p"]
    assert made["userErrors"] == [], made
    return str(made["endpoint"]["id"])


async def _deliveries(engine: AsyncEngine, world: World, n: int) -> int:
    """Emit ``n`` events of business A and turn them into deliveries; return how many."""

    async def emit(db: RequestDb) -> None:
        for _ in range(n):
            await events.emit(
                db=db, business_id=world.a.id, type="card.frozen", object_type="Card",
                object_id=world.a.cards["employee"], actor=events.SYSTEM,
            )  # fmt: skip

    await in_transaction(engine, emit)
    return await in_transaction(engine, webhooks._dispatch_all)


@pytest.mark.parametrize("extra", [1, 12])
async def test_listing_endpoints_costs_the_same_whatever_their_number(
    client, statements, world: World, extra: int
) -> None:
    admin = token(world.a, "admin")
    for _ in range(extra):
        await _endpoint(client, admin)
    statements.reset()
    listed = (await gql(client, ENDPOINTS, as_=admin))["webhookEndpoints"]
    assert len(listed) >= extra
    # the credential, the endpoints
    assert statements.count == 2, statements.statements


@pytest.mark.parametrize("page", [2, 20])
async def test_a_deliveries_page_costs_the_same_whatever_its_size(
    client, engine, statements, world: World, page: int
) -> None:
    admin = token(world.a, "admin")
    endpoint = await _endpoint(client, admin)
    assert await _deliveries(engine, world, page) == page
    statements.reset()
    found = (await gql(client, DELIVERIES, {"id": endpoint, "n": page}, as_=admin))[
        "webhookDeliveries"
    ]
    assert [(d["eventType"], d["status"]) for d in found] == [("card.frozen", "PENDING")] * page
    # the credential, the endpoint's owner check, the deliveries with their event types
    assert statements.count == 3, statements.statements


async def _claim(engine: AsyncEngine) -> list[tuple[Any, Any, Any]]:
    settings = webhooks.WebhookSettings(allow_private=True)
    return await in_transaction(engine, lambda db: webhooks._claim(db, settings))


async def _settle(engine: AsyncEngine) -> None:
    """Leave nothing due for later tests."""
    async with engine.begin() as conn:
        await conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.next_attempt_at <= datetime.now(UTC))
            .values(status="FAILED")
        )


async def test_a_disabled_endpoints_backlog_holds_no_other_delivery_back(
    client, engine, world: World
) -> None:
    admin = token(world.a, "admin")
    await _endpoint(client, admin)
    assert await _deliveries(engine, world, webhooks.DUE_BATCH) == webhooks.DUE_BATCH
    await disable_all(engine)  # its deliveries stay due, and older than the next one
    enabled = await _endpoint(client, admin)
    assert await _deliveries(engine, world, 1) == 1
    claimed = await _claim(engine)
    await _settle(engine)
    assert [endpoint_global_id(endpoint.id) for _, endpoint, _ in claimed] == [enabled]


@pytest.mark.parametrize("due", [1, 8])
async def test_claiming_due_deliveries_costs_the_same_whatever_their_number(
    client, engine, statements, world: World, due: int
) -> None:
    await _endpoint(client, token(world.a, "admin"))
    assert await _deliveries(engine, world, due) == due
    statements.reset()
    claimed = await _claim(engine)
    # due deliveries, their endpoints (locked), their events, the lease: no statement per row
    # (inside the transaction's SAVEPOINT and RELEASE)
    counted = list(statements.statements)
    await _settle(engine)
    assert [event.type for _, _, event in claimed] == ["card.frozen"] * due
    assert all(endpoint.url == HOOK for _, endpoint, _ in claimed)
    assert len(counted) == 6, counted
