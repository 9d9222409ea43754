"""Subscriptions served by group (app/groups.py): slow members, late joiners, expiry."""

import asyncio
import json
from typing import Any

import pytest
import websockets
from sqlalchemy.ext.asyncio import AsyncEngine

from app.feed_ws import SLOW_CLOSE
from app.http import App, create_app
from app.settings import ConfigError, Settings
from app.subscriptions import SubscriptionView
from app.ws_frames import Written
from resolvers.ids import encode_id
from tests.conftest import gql, token
from tests.graphql.helpers_ws import (
    FEED,
    FEED_LOADING,
    FREEZE,
    UNFREEZE,
    Served,
    commit_events,
    delete_bulk_events,
    message_of_a_freeze,
    next_message,
    slow_count,
    subscribe,
)
from tests.world import World


def test_the_slow_subscriber_limits_are_settings(engine: AsyncEngine, database_url: str) -> None:
    def limits(env: dict[str, str]) -> tuple[float, int]:
        app = create_app(Settings.from_env(env), database_url, engine=engine)
        assert isinstance(app, App) and isinstance(app.graphql_ws, SubscriptionView)
        return app.graphql_ws.slow_send_s, app.graphql_ws.slow_backlog

    env = {"EXPENSEGRAPH_JWT_SECRET": "s" * 40}
    assert limits(env) == (10, 5000)
    env |= {
        "EXPENSEGRAPH_SUBSCRIPTION_SLOW_SECONDS": "3",
        "EXPENSEGRAPH_SUBSCRIPTION_BACKLOG": "50",
    }
    assert limits(env) == (3, 50)
    with pytest.raises(ConfigError, match="EXPENSEGRAPH_SUBSCRIPTION_BACKLOG"):
        Settings.from_env(env | {"EXPENSEGRAPH_SUBSCRIPTION_BACKLOG": "5"})


@pytest.mark.parametrize(
    ("send_s", "backlog", "query"),
    [
        (0.5, 5000, FEED),  # a message waits too long
        (60.0, 100, FEED),  # too many messages wait
        (0.5, 5000, FEED_LOADING),  # a message waits too long, served by strawberry
    ],
    ids=["waited", "backlog", "strawberry-waited"],
)
async def test_a_subscriber_that_stops_reading_is_disconnected_with_4408(
    served: Served, world: World, engine: AsyncEngine, send_s: float, backlog: int, query: str
) -> None:
    view = served.app.graphql_ws
    view.slow_send_s, view.slow_backlog = send_s, backlog
    before, events = slow_count(), 2000
    # a client that stops reading: small buffers both ends, no compression, a short queue
    slow = await served.connect_slow(token(world.a, "admin"))
    reader = await served.connect(token(world.a, "admin"))
    try:
        for ws in (slow, reader):
            await subscribe(ws, {"types": ["test.bulk"]}, query=query)
        await asyncio.sleep(0.3)
        # a reader gets them all: it reads while they come, in bursts its backlog holds (its
        # socket takes frames uncompressed: 2,000 at once would fill it)
        reading = asyncio.create_task(_read(reader, events))
        for _ in range(0, events, 50):
            await commit_events(engine, world.a.id, world.a.cards["employee"], 50)
            await asyncio.sleep(0.02)
        read = await reading
        for _ in range(100):  # meanwhile the slow one reads nothing
            if slow_count() > before:
                break
            await asyncio.sleep(0.1)
        assert slow_count() == before + 1
        got = 0  # reading again: what the socket held, then the close frame
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                got += (await next_message(slow, 5.0))["type"] == "next"
        with pytest.raises(TimeoutError):  # the reader is still subscribed
            await next_message(reader, 0.3)
    finally:
        await slow.close()
        await reader.close()
        await delete_bulk_events(engine)
    assert {m["type"] for m in read} == {"next"}
    assert closed.value.rcvd is not None and closed.value.rcvd.code == SLOW_CLOSE == 4408
    assert "Too slow" in closed.value.rcvd.reason
    assert 0 < got < events


async def _read(ws: websockets.ClientConnection, n: int) -> list[dict[str, Any]]:
    return [await next_message(ws, 5.0) for _ in range(n)]


async def test_a_late_joiner_catches_up_alone_then_gets_the_groups_messages(
    served: Served, world: World
) -> None:
    view, admin = served.app.graphql_ws, token(world.a, "admin")
    card, types = encode_id("Card", world.a.cards["employee"]), ["card.frozen", "card.unfrozen"]
    early = await served.connect(admin)
    late = None
    async with served.http() as client:
        try:
            await subscribe(early, {"types": types})
            await asyncio.sleep(0.2)
            await gql(client, FREEZE, {"id": card}, as_=admin)
            await gql(client, UNFREEZE, {"id": card}, as_=admin)
            first, second = [
                (await next_message(early, 2.0))["payload"]["data"]["events"] for _ in "12"
            ]
            # joins with the cursor of the first: the second is read for it alone
            late = await served.connect(admin)
            await subscribe(late, {"after": first["cursor"], "types": types})
            caught_up = (await next_message(late, 2.0))["payload"]["data"]["events"]
            await asyncio.sleep(0.2)  # then joins the early one's group
            assert len(view.groups) == 1
            before = view.renders.made
            await gql(client, FREEZE, {"id": card}, as_=admin)
            live = [await asyncio.wait_for(ws.recv(), 2.0) for ws in (early, late)]
            made = view.renders.made - before
            with pytest.raises(TimeoutError):  # nothing twice
                await next_message(late, 0.5)
            await gql(client, UNFREEZE, {"id": card}, as_=admin)
        finally:
            for ws in (early, late):
                if ws is not None:
                    await ws.close()
    assert caught_up == second
    assert live[0] == live[1] and json.loads(live[0])["payload"]["data"]["events"]["type"] == (
        "card.frozen"
    )
    assert made == 1  # rendered once for both


async def test_an_expired_token_in_a_group_ends_only_that_subscribers_stream(
    served: Served, world: World
) -> None:
    view, admin = served.app.graphql_ws, token(world.a, "admin")
    view.recheck_s = 0.3
    card = encode_id("Card", world.a.cards["employee"])
    staying = await served.connect(admin)
    expiring = await served.connect(token(world.a, "admin", ttl_s=2))
    try:
        for ws in (staying, expiring):
            await subscribe(ws, {"types": ["card.frozen"]})
        await asyncio.sleep(0.3)
        assert len(view.groups) == 1  # one group for both
        ended = await next_message(expiring, 6.0)
        completed = await next_message(expiring, 1.0)
        message = await message_of_a_freeze(served, admin, card, staying)
    finally:
        await staying.close()
        await expiring.close()
    assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", ended
    assert completed == {"id": "1", "type": "complete"}
    assert message["payload"]["data"]["events"]["objectId"] == card


async def test_a_groups_message_is_one_frame_written_straight_to_plain_sockets(
    served: Served, world: World, engine: AsyncEngine
) -> None:
    """Plain sockets get the group's prebuilt frame; a compressed one the same text via ASGI.

    Fails when uvicorn's websocket protocol changes under app/ws_frames.py (no direct
    writes), or when the prebuilt frame differs from what the client reads.
    """
    admin, events = token(world.a, "admin"), 20
    plain = await served.connect(admin)
    served.server.config.ws_per_message_deflate = True  # read when a connection is made
    compressed = await served.connect(admin)
    try:
        for ws in (plain, compressed):
            await subscribe(ws, {"types": ["test.bulk"]})
        await asyncio.sleep(0.3)
        before = Written.frames
        await commit_events(engine, world.a.id, world.a.cards["employee"], events)
        got = [[await next_message(ws, 5.0) for _ in range(events)] for ws in (plain, compressed)]
        written = Written.frames - before
    finally:
        for ws in (plain, compressed):
            await ws.close()
        await delete_bulk_events(engine)
    assert compressed.response.headers.get("Sec-WebSocket-Extensions", "").startswith(
        "permessage-deflate"
    )
    assert "Sec-WebSocket-Extensions" not in plain.response.headers
    assert got[0] == got[1] and {m["type"] for m in got[0]} == {"next"}
    assert len({m["payload"]["data"]["events"]["id"] for m in got[0]}) == events
    assert written == events  # the plain socket's, none of the compressed one's
