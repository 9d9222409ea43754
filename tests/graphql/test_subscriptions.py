"""Subscriptions over graphql-transport-ws, with a real websocket client against a real server."""

import asyncio
import json
from typing import Any

import pytest
import websockets

from resolvers.ids import encode_id
from tests.conftest import gql, token
from tests.graphql.helpers_ws import (
    CREATE,
    FREEZE,
    UNFREEZE,
    Served,
    message_of_a_freeze,
    next_message,
    subscribe,
)
from tests.world import World


async def _expenses_of_two(served: Served, world: World) -> dict[str, str]:
    """Return the ids of an expense created by the engineer, then one by the employee."""
    made = {}
    async with served.http() as client:
        for who in ("engineer", "employee"):
            found = await gql(client, CREATE, {"input": {
                "amount": {"amount": "1.00", "currency": world.a.home}, "spentAt": "2026-02-02T10:00:00Z",
                "merchantName": f"Sub {who}"}}, as_=token(world.a, who))  # fmt: skip
            assert found["createExpense"]["userErrors"] == [], found
            made[who] = found["createExpense"]["expense"]["id"]
    return made


@pytest.fixture
def admin(world: World) -> str:
    """Return the token of business A's admin, who freezes and unfreezes the card."""
    return token(world.a, "admin")


@pytest.fixture
def card(world: World) -> str:
    """Return the global id of the employee's card, the one the tests freeze."""
    return encode_id("Card", world.a.cards["employee"])


async def test_a_client_receives_the_event_of_a_mutation_within_a_second(
    served: Served, admin: str, card: str
) -> None:
    ws = await served.connect(admin)
    try:
        await subscribe(ws, {"types": ["card.frozen"]})
        await asyncio.sleep(0.2)  # subscribed: the feed's end is taken
        async with served.http() as client:
            await gql(client, FREEZE, {"id": card}, as_=admin)
            started = asyncio.get_running_loop().time()
            message = await next_message(ws, 1.0)
            assert asyncio.get_running_loop().time() - started < 1.0
            await gql(client, UNFREEZE, {"id": card}, as_=admin)
        assert message["type"] == "next", message
        event = message["payload"]["data"]["events"]
        assert (event["type"], event["objectId"], event["actor"]["kind"]) == (
            "card.frozen",
            card,
            "MEMBER",
        )
    finally:
        await ws.close()


async def test_an_employee_never_receives_another_members_events(
    served: Served, world: World
) -> None:
    employee = token(world.a, "employee")
    ws = await served.connect(employee)
    try:
        await subscribe(ws, {"types": ["expense.created"]})
        await asyncio.sleep(0.2)
        made = await _expenses_of_two(served, world)
        message = await next_message(ws, 2.0)
        assert message["payload"]["data"]["events"]["objectId"] == made["employee"]
        with pytest.raises(TimeoutError):  # the engineer's expense never comes
            await next_message(ws, 0.5)
    finally:
        await ws.close()


async def test_subscribers_of_different_visibility_get_different_events(
    served: Served, world: World
) -> None:
    # the same document and variables: only what each may see tells them apart
    admin_ws = await served.connect(token(world.a, "admin"))
    employee_ws = await served.connect(token(world.a, "employee"))
    try:
        for ws in (admin_ws, employee_ws):
            await subscribe(ws, {"types": ["expense.created"]})
        await asyncio.sleep(0.2)
        made = await _expenses_of_two(served, world)
        admin_got = [
            (await next_message(admin_ws, 2.0))["payload"]["data"]["events"] for _ in range(2)
        ]
        employee_got = (await next_message(employee_ws, 2.0))["payload"]["data"]["events"]
        with pytest.raises(TimeoutError):
            await next_message(employee_ws, 0.5)
    finally:
        await admin_ws.close()
        await employee_ws.close()
    assert [e["objectId"] for e in admin_got] == [made["engineer"], made["employee"]]
    assert employee_got["objectId"] == made["employee"]


async def test_two_subscribers_of_one_group_get_the_same_message_made_once(
    served: Served, admin: str, card: str
) -> None:
    renders = served.app.graphql_ws.renders
    # two dashboards of the admin: one group for one document (finance would be another:
    # it may not read the events of API keys and webhook endpoints)
    sockets = [await served.connect(admin) for _ in range(2)]
    try:
        for ws in sockets:
            await subscribe(ws, {"types": ["card.frozen"]})
        await asyncio.sleep(0.2)
        before = renders.made
        async with served.http() as client:
            await gql(client, FREEZE, {"id": card}, as_=admin)
            got = [await asyncio.wait_for(ws.recv(), 2.0) for ws in sockets]
            await gql(client, UNFREEZE, {"id": card}, as_=admin)
    finally:
        for ws in sockets:
            await ws.close()
    assert got[0] == got[1], got  # the same bytes
    assert json.loads(got[0])["payload"]["data"]["events"]["objectId"] == card
    assert renders.made == before + 1  # executed and encoded once for both


async def test_a_selection_beyond_the_row_is_still_served(
    served: Served, admin: str, card: str
) -> None:
    # a referenced member is loaded: strawberry serves it per subscriber, as before
    ws = await served.connect(admin)
    query = 'subscription { events(types: ["card.frozen"]) { objectId actor { member { id } } } }'
    try:
        assert (await next_message(ws, 5.0))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        await asyncio.sleep(0.2)
        before = served.app.graphql_ws.renders.made
        message = await message_of_a_freeze(served, admin, card, ws)
    finally:
        await ws.close()
    assert message["payload"]["data"]["events"]["objectId"] == card, message
    assert served.app.graphql_ws.renders.made == before


async def test_a_client_reconnecting_with_its_cursor_misses_nothing(
    served: Served, admin: str, card: str
) -> None:
    ws = await served.connect(admin)
    async with served.http() as client:
        try:
            await subscribe(ws, {"types": ["card.frozen", "card.unfrozen"]})
            await asyncio.sleep(0.2)
            await gql(client, FREEZE, {"id": card}, as_=admin)
            first = (await next_message(ws, 2.0))["payload"]["data"]["events"]
        finally:
            await ws.close()
        await gql(client, UNFREEZE, {"id": card}, as_=admin)  # while nobody listens
        await gql(client, FREEZE, {"id": card}, as_=admin)
        ws = await served.connect(admin)
        try:
            await subscribe(
                ws, {"after": first["cursor"], "types": ["card.frozen", "card.unfrozen"]}
            )
            missed = [
                (await next_message(ws, 2.0))["payload"]["data"]["events"]["type"] for _ in range(2)
            ]
        finally:
            await ws.close()
        await gql(client, UNFREEZE, {"id": card}, as_=admin)
    assert missed == ["card.unfrozen", "card.frozen"]


async def test_a_token_that_expires_mid_stream_ends_the_stream(
    served: Served, world: World
) -> None:
    served.app.graphql_ws.recheck_s = 0.3
    short = token(world.a, "admin", ttl_s=2)
    ws = await served.connect(short)
    try:
        await subscribe(ws, {})
        message = await next_message(ws, 6.0)
        assert message["type"] in ("next", "error"), message
        text = json.dumps(message)
        assert "expired" in text or "UNAUTHENTICATED" in text, message
    finally:
        await ws.close()


async def test_a_connection_without_a_valid_credential_is_refused(served: Served) -> None:
    ws = await served.connect("not-a-token")
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await next_message(ws, 3.0)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_subscribers_woken_together_share_one_read() -> None:
    from app.subscriptions import Hub

    hub, calls = Hub("postgresql://unused"), [0]

    async def read() -> list[int]:
        calls[0] += 1
        await asyncio.sleep(0.01)
        return [calls[0]]

    together = await asyncio.gather(*(hub.read("same cursor", read) for _ in range(50)))
    assert calls == [1] and together == [[1]] * 50
    assert await hub.read("same cursor", read) == [2]  # later, a read of its own


@pytest.mark.parametrize(
    ("selection", "by_group"),
    [
        ("id cursor type objectId transition { from to } actor { kind apiKeyId }", True),
        ("first: id", False),  # aliases: strawberry's, under the alias limit
        ("id actor { member { name } }", False),  # a referenced member: a loader
        ("... on Event { id }", False),
        ("id @include(if: true)", False),
        ("nope", False),  # invalid: strawberry words the error
    ],
)
async def test_which_selections_are_made_once_per_group(
    served: Served, selection: str, by_group: bool
) -> None:
    from types import SimpleNamespace

    from app.fanout import plan_of

    query = f'subscription {{ events(types: ["a.b"]) {{ {selection} }} }}'
    operation: Any = SimpleNamespace(query=query, variables=None, operation_name=None)
    plan = plan_of(served.app.graphql_ws.renders.schema, operation)
    assert (plan is not None) == by_group
    assert plan is None or plan.types == ("a.b",)
