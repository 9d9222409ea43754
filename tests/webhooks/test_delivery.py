"""Webhook delivery against a real receiver: signed, retried, timed out, never redirected,
never to private addresses in production, and every event after an endpoint's creation."""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app import webhooks
from db.engine import in_transaction
from db.tables.feed import events as events_table
from db.tables.feed import webhook_deliveries, webhook_endpoints
from db.writes import events
from db.writes import webhooks as q
from tests.webhooks.conftest import Receiver, disable_all
from tests.world import World

FAST = webhooks.WebhookSettings(
    allow_private=True, timeout_s=2.0, first_retry_s=0.01, max_retry_s=0.05
)


@pytest.fixture(autouse=True)
async def _alone(engine: AsyncEngine) -> Any:
    await disable_all(engine)  # another test's endpoints must not take this test's ticks
    yield
    await disable_all(engine)


async def _endpoint(engine: AsyncEngine, business_id: int, url: str, types: list[str] = []) -> Any:  # noqa: B006
    secret = webhooks.new_secret()
    return await in_transaction(engine, lambda db: q.create_endpoint(
        db=db, business_id=business_id, url=url, description="test", event_types=types,
        secret=secret,
    ))  # fmt: skip


async def _emit(
    engine: AsyncEngine, business_id: int, type_: str = "expense.approved", object_id: int = 1
) -> None:
    await in_transaction(engine, lambda db: events.emit(
        db=db, business_id=business_id, type=type_, object_type="Expense", object_id=object_id,
        actor=events.SYSTEM, data={"from": "SUBMITTED", "to": "APPROVED"},
    ))  # fmt: skip


async def _deliveries(engine: AsyncEngine, endpoint_id: int) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(webhook_deliveries)
            .where(webhook_deliveries.c.endpoint_id == endpoint_id)
            .order_by(webhook_deliveries.c.id)
        )
        return list(rows)


async def _ticks(
    engine: AsyncEngine, settings: webhooks.WebhookSettings, until: Any, limit: int = 60
) -> None:
    for _ in range(limit):
        await webhooks.tick(engine, settings)
        if await until():
            return
        await asyncio.sleep(0.03)
    raise AssertionError("the deliveries never got there")


async def test_a_delivery_is_signed_per_standard_webhooks(
    engine, world: World, receiver: Receiver
) -> None:
    endpoint = await _endpoint(engine, world.a.id, receiver.url)
    await _emit(engine, world.a.id)
    result = await webhooks.tick(engine, FAST)
    assert (result.dispatched, result.delivered) == (1, 1)
    [got] = receiver.got
    payload = Webhook(endpoint.secret).verify(
        got.body, got.headers
    )  # raises if the signature is wrong
    assert payload["type"] == "expense.approved"
    assert payload["data"]["transition"] == {"from": "SUBMITTED", "to": "APPROVED"}
    assert payload["data"]["cursor"] and got.headers["webhook-id"] == payload["data"]["id"]
    with pytest.raises(WebhookVerificationError):  # another secret does not verify
        Webhook(webhooks.new_secret()).verify(got.body, got.headers)
    [delivery] = await _deliveries(engine, endpoint.id)
    assert (delivery.status, delivery.attempts, delivery.last_http_code) == ("DELIVERED", 1, 200)


async def test_a_receiver_failing_twice_gets_the_event_again_until_it_takes_it(
    engine, world: World, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503]
    endpoint = await _endpoint(engine, world.a.id, receiver.url)
    await _emit(engine, world.a.id)

    async def delivered() -> bool:
        return [d.status for d in await _deliveries(engine, endpoint.id)] == ["DELIVERED"]

    await _ticks(engine, FAST, delivered)
    assert len(receiver.got) == 3
    assert (
        len({r.headers["webhook-id"] for r in receiver.got}) == 1
    )  # the receiver de-duplicates by it
    [delivery] = await _deliveries(engine, endpoint.id)
    assert delivery.attempts == 3 and delivery.last_error is None


async def test_a_receiver_that_hangs_is_timed_out_and_tried_again_later(
    engine, world: World, receiver: Receiver
) -> None:
    receiver.hang_s = 3.0
    endpoint = await _endpoint(engine, world.a.id, receiver.url)
    await _emit(engine, world.a.id)
    started = asyncio.get_running_loop().time()
    result = await webhooks.tick(
        engine, replace(FAST, timeout_s=0.3, first_retry_s=60, max_retry_s=3600)
    )
    assert asyncio.get_running_loop().time() - started < 2.5
    assert (result.delivered, result.failed_attempts) == (0, 1)
    [delivery] = await _deliveries(engine, endpoint.id)
    assert delivery.status == "PENDING" and "no answer within 0.3 s" in delivery.last_error
    assert delivery.next_attempt_at > datetime.now(UTC) + timedelta(seconds=20)


async def test_a_redirect_is_not_followed(engine, world: World, receiver: Receiver) -> None:
    receiver.redirect = True
    endpoint = await _endpoint(engine, world.a.id, receiver.url)
    await _emit(engine, world.a.id)
    await webhooks.tick(engine, replace(FAST, first_retry_s=60, max_retry_s=3600))
    assert [r.path for r in receiver.got] == ["/hook"]
    [delivery] = await _deliveries(engine, endpoint.id)
    assert (delivery.status, delivery.last_http_code) == ("PENDING", 302)
    assert "redirects are not followed" in delivery.last_error


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/hook", "must be https"),
        ("https://127.0.0.1:9/hook", "private address"),
        ("https://10.1.2.3/hook", "private address"),
        ("https://169.254.169.254/latest/meta-data", "private address"),
        ("https://[::1]/hook", "private address"),
        ("https://[::ffff:192.168.0.1]/hook", "private address"),
        ("https://localhost/hook", "private address"),
        ("ftp://example.com/hook", "must be https"),
        ("https://user:pw@example.com/hook", "no credentials"),
    ],
)
async def test_production_refuses_private_and_plain_http_destinations(
    url: str, reason: str
) -> None:
    refusal = await webhooks.destination_refusal(url, allow_private=False)
    assert refusal is not None and reason in refusal


async def test_a_private_address_gets_nothing_in_production_mode(
    engine, world: World, receiver: Receiver
) -> None:
    endpoint = await _endpoint(engine, world.a.id, receiver.url)
    await _emit(engine, world.a.id)
    await webhooks.tick(
        engine,
        replace(FAST, allow_private=False, first_retry_s=60, max_retry_s=3600),
    )
    assert receiver.got == []
    [delivery] = await _deliveries(engine, endpoint.id)
    assert delivery.status == "PENDING" and "https" in delivery.last_error


async def test_only_events_after_the_endpoint_of_its_types_are_sent(
    engine, world: World, receiver: Receiver
) -> None:
    await _emit(engine, world.a.id, "expense.approved", 11)  # before the endpoint: not sent
    endpoint = await _endpoint(engine, world.a.id, receiver.url, ["expense.approved"])
    await _emit(engine, world.a.id, "expense.rejected", 12)  # not one of its types
    await _emit(engine, world.a.id, "expense.approved", 13)
    await _emit(engine, world.b.id, "expense.approved", 14)  # another business
    await webhooks.tick(engine, FAST)
    sent = [Webhook(endpoint.secret).verify(r.body, r.headers) for r in receiver.got]
    assert [(s["type"], s["data"]["objectType"]) for s in sent] == [("expense.approved", "Expense")]
    async with engine.connect() as conn:
        last = (await conn.execute(select(events_table.c.object_id).where(
            events_table.c.type == "expense.approved", events_table.c.business_id == world.a.id
        ).order_by(events_table.c.id.desc()).limit(1))).scalar_one()  # fmt: skip
    assert last == 13


async def test_a_rotated_secret_still_signs_during_the_overlap(
    engine, world: World, receiver: Receiver
) -> None:
    endpoint = await _endpoint(engine, world.a.id, receiver.url)
    newer = webhooks.new_secret()
    async with engine.begin() as conn:
        await conn.execute(update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint.id).values(
            secret=newer, previous_secret=endpoint.secret,
            previous_secret_until=datetime.now(UTC) + webhooks.SECRET_OVERLAP,
        ))  # fmt: skip
    await _emit(engine, world.a.id)
    await webhooks.tick(engine, FAST)
    [got] = receiver.got
    Webhook(newer).verify(got.body, got.headers)
    Webhook(endpoint.secret).verify(got.body, got.headers)  # the receiver not yet updated
    assert len(got.headers["webhook-signature"].split(" ")) == 2


async def test_an_endpoint_failing_too_long_is_disabled_with_an_event(
    engine, world: World, receiver: Receiver
) -> None:
    receiver.statuses = [500]
    endpoint = await _endpoint(engine, world.a.id, receiver.url)
    await _emit(engine, world.a.id)
    await webhooks.tick(
        engine,
        replace(FAST, disable_after_s=0, first_retry_s=60, max_retry_s=3600),
    )
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint.id)
            )
        ).one()
        disabled = (await conn.execute(select(events_table.c.type, events_table.c.object_id).where(
            events_table.c.object_type == "WebhookEndpoint", events_table.c.object_id == endpoint.id
        ))).all()  # fmt: skip
    assert not row.enabled and row.disabled_reason.startswith("failing since")
    assert disabled == [("webhook_endpoint.disabled", endpoint.id)]


async def test_a_delivery_claimed_by_a_worker_that_died_is_sent_once_its_lease_ends(
    engine, world: World, receiver: Receiver
) -> None:
    endpoint = await _endpoint(engine, world.a.id, receiver.url)
    await _emit(engine, world.a.id)
    await in_transaction(engine, webhooks._dispatch_all)
    # a worker claims it (its lease committed), then dies before the attempt
    [(claimed, _, _)] = await in_transaction(engine, lambda db: webhooks._claim(db, FAST))
    await webhooks.tick(engine, FAST)
    assert receiver.got == []  # leased: nobody else sends it meanwhile
    async with engine.begin() as conn:  # the lease runs out
        await conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == claimed.id)
            .values(next_attempt_at=datetime.now(UTC))
        )
    await webhooks.tick(engine, FAST)
    assert len(receiver.got) == 1
    [delivery] = await _deliveries(engine, endpoint.id)
    assert delivery.status == "DELIVERED"
