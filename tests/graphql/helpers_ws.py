"""A real server and websocket clients for the subscription tests (graphql-transport-ws)."""

import asyncio
import json
import socket
from typing import Any

import websockets
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.typing import Subprotocol

from app.observability import REGISTRY

FEED = """subscription($after: String, $types: [String!]) {
  events(after: $after, types: $types) { id cursor type objectId actor { kind } } }"""
# a selection that loads more than the event row: served by strawberry, not by group
FEED_LOADING = FEED.replace("actor { kind }", "actor { kind member { name } }")
FREEZE = "mutation($id: ID!) { freezeCard(id: $id) { userErrors { code } } }"
UNFREEZE = "mutation($id: ID!) { unfreezeCard(id: $id) { userErrors { code } } }"
CREATE = "mutation($input: CreateExpenseInput!) { createExpense(input: $input) { expense { id } userErrors { code } } }"


class Served:
    def __init__(self, app: Any, port: int, server: Any) -> None:
        self.app, self.port, self.server = app, port, server

    def small_send_buffers(self) -> None:
        """Give the connections accepted from now on a small send buffer (they inherit it)."""
        for listening in self.server.servers:
            for sock in listening.sockets:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)

    async def connect(self, credential: str | None) -> Any:
        ws = await websockets.connect(
            f"ws://127.0.0.1:{self.port}/graphql",
            subprotocols=[Subprotocol("graphql-transport-ws")],
        )
        payload = {} if credential is None else {"Authorization": f"Bearer {credential}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        return ws

    async def connect_slow(self, credential: str) -> Any:
        """Connect a client that will stop reading: small buffers both ends, a short queue."""
        self.small_send_buffers()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.port))
        ws = await websockets.connect(
            f"ws://127.0.0.1:{self.port}/graphql", sock=sock, compression=None, max_queue=4,
            subprotocols=[Subprotocol("graphql-transport-ws")],
        )  # fmt: skip
        payload = {"Authorization": f"Bearer {credential}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        return ws

    def http(self) -> Any:
        import httpx

        return httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}")


async def commit_events(engine: AsyncEngine, business_id: int, card_id: int, n: int) -> None:
    """Commit ``n`` events of type ``test.bulk`` about a card in one transaction."""
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO events (business_id, type, object_type, object_id)"
                 " SELECT :b, 'test.bulk', 'Card', :o FROM generate_series(1, :n)"),
            {"b": business_id, "o": card_id, "n": n},
        )  # fmt: skip


async def delete_bulk_events(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM events WHERE type = 'test.bulk'"))


def slow_count() -> float:
    return REGISTRY.get_sample_value("expensegraph_slow_subscribers_total") or 0.0


async def subscribe(ws: Any, variables: dict[str, Any], id_: str = "1", query: str = FEED) -> None:
    ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert ack["type"] == "connection_ack", ack
    await ws.send(
        json.dumps(
            {"id": id_, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
    )


async def next_message(ws: Any, within_s: float = 1.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), within_s))


async def message_of_a_freeze(
    served: Served, credential: str, card: str, ws: Any
) -> dict[str, Any]:
    """Freeze ``card`` and return the next message ``ws`` gets, then unfreeze it."""
    from tests.conftest import gql

    async with served.http() as client:
        await gql(client, FREEZE, {"id": card}, as_=credential)
        try:
            return await next_message(ws, 2.0)
        finally:
            await gql(client, UNFREEZE, {"id": card}, as_=credential)
