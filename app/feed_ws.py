"""graphql-transport-ws as strawberry speaks it, ``events`` of row fields served by group.

A subscription whose selection app/fanout.py can render once per group becomes a
:class:`~app.groups.Member`: counted against its credential's limit, it joins the group of
its reads and messages (catching up alone first when its cursor is behind) and its own
task only checks its credential every ``recheck_s``: an expired or revoked one ends this
subscription alone with UNAUTHENTICATED; a changed visibility moves it to another group.

A subscriber is too slow when a message waits ``subscription_slow_s`` (app/settings.py) to
be written to its socket (on either path) or more than ``subscription_backlog`` messages wait
behind one (the client stopped reading; a message shared with the group is a reference each). Its
connection is closed with ``SLOW_CLOSE`` and counted; it resumes from its last cursor.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.websockets import WebSocketDisconnect
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)

from app.errors import ensure_codes
from app.fanout import Plan, plan_of
from app.groups import PAGE, Cursor, Member, Read
from app.observability import SLOW_SUBSCRIBERS
from app.ws_frames import direct_writer
from db.engine import RequestDb
from db.writes import events
from resolvers.context import Principal
from resolvers.errors import DomainError
from resolvers.events import readable_types
from resolvers.paging import decode_cursor

log = logging.getLogger("expensegraph.subscriptions")

SLOW_CLOSE = 4408
SLOW_REASON = "Too slow: messages were not read in time; reconnect with your last cursor"
CLOSE_WAIT_S = 10.0  # the close frame waits behind the unread messages this long at most


def reader(view: Any, principal: Principal, types: Sequence[str] | None) -> Read:
    """Return a read of the feed's next page with ``principal``'s visibility."""
    visibility, kinds = principal.visibility, readable_types(principal)
    wanted = events.FeedFilter(types=list(types) if types is not None else None)

    async def read(cursor: Cursor) -> list[Any]:
        db = RequestDb(view.engine)
        try:
            return await events.feed(db=db, visibility=visibility, object_types=kinds,
                                     after=cursor, limit=PAGE, filter_=wanted)  # fmt: skip
        finally:
            await db.close()

    return read


def group_key(principal: Principal, plan: Plan) -> tuple[Any, ...]:
    """Return what a group's members share: the business first, then reads and messages."""
    kinds = tuple(readable_types(principal))
    return (principal.business_id, principal.visibility, kinds, plan.types, plan.shape)


class FeedHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws as strawberry speaks it, ``events`` served by group."""

    async def run_operation(self, operation: Operation[Any, Any]) -> None:
        plan = plan_of(self.context.view.renders.schema, operation)
        if plan is None:
            await super().run_operation(operation)
            return
        head = '{"id":' + orjson.dumps(operation.id).decode() + ',"type":"next","payload":'
        try:
            async with self.context.counted() as principal:
                why = await self._follow(plan, head, principal)
            if why is not None:
                await self.close_slow(why)
            return  # its socket is closed
        except WebSocketDisconnect:
            return
        except DomainError as error:  # the credential ended, or too many subscriptions
            failed = GraphQLError(error.message, path=["events"], original_error=error)
            body = {"data": None, "errors": [e.formatted for e in ensure_codes([failed], "ws")]}
            message: Any = {"id": operation.id, "type": "next", "payload": body}
            await operation.send_operation_message(message)
        await operation.send_operation_message({"id": operation.id, "type": "complete"})

    async def _follow(self, plan: Plan, head: str, principal: Principal) -> str | None:
        """Serve ``plan`` by group until the member ends; return why it was too slow."""
        session, view = self.context, self.context.view
        after = None if plan.after is None else decode_cursor(plan.after, "tx", field="after")
        cursor = after if after is not None else await session.end()
        socket = self.websocket.ws  # type: ignore[attr-defined]
        member = Member(socket.send_text, head, cursor, backlog=view.slow_backlog,
                        send_s=view.slow_send_s, write=direct_writer(socket))  # fmt: skip
        check_at = time.monotonic() + view.recheck_s
        try:
            while not member.ended.done():
                key = group_key(principal, plan)
                render = _renderer(view.renders, plan, principal)
                group = await view.groups.join(member, key, reader(view, principal, plan.types),
                                               render, view.recheck_s)  # fmt: skip
                if group is None:
                    break
                try:
                    while not member.ended.done():
                        with contextlib.suppress(TimeoutError):
                            wait = max(check_at - time.monotonic(), 0)
                            await asyncio.wait_for(asyncio.shield(member.ended), wait)
                        if member.ended.done():
                            break
                        principal = await session.recheck()  # DomainError: this one ends
                        check_at = time.monotonic() + view.recheck_s
                        if group_key(principal, plan) != key:
                            break  # another visibility: another group
                finally:
                    view.groups.leave(member, group)
            return member.ended.result()
        except DomainError:  # what the group sent it goes out before the error
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(member.drained(), member.send_s)
            raise
        finally:
            member.stop()

    async def send_message(self, message: Any) -> None:
        """Send ``message``; a socket that has not taken it within the slow limit is closed.

        This covers the subscriptions strawberry serves (selections that load more than the
        event row): they are read only as fast as their socket takes them, and one that
        stops reading is closed with SLOW_CLOSE as on the group path (app/groups.py).
        """
        limit = self.context.view.slow_send_s
        try:
            async with asyncio.timeout(limit):
                await super().send_message(message)
        except TimeoutError:
            await self.close_slow(f"a message waited {limit:g} s")
            raise asyncio.CancelledError from None  # its operation ends with the connection

    async def close_slow(self, why: str) -> None:
        """Count a slow subscriber and close its connection with SLOW_CLOSE."""
        SLOW_SUBSCRIBERS.inc()
        log.info('{"event": "slow_subscriber", "why": "%s"}', why)
        # the close frame goes behind what the socket still holds: it reaches a client
        # that reads again; one that never does is left to the server's keepalive
        with contextlib.suppress(TimeoutError, WebSocketDisconnect, RuntimeError):
            async with asyncio.timeout(CLOSE_WAIT_S):
                await self.websocket.close(code=SLOW_CLOSE, reason=SLOW_REASON)


def _renderer(renders: Any, plan: Plan, principal: Principal) -> Any:
    visibility = (principal.visibility, tuple(readable_types(principal)))
    return lambda row: renders.payload(plan, visibility, row)
