"""GraphQL subscriptions over ``graphql-transport-ws`` on /graphql: the change feed, live.

A client opens a websocket with the ``graphql-transport-ws`` subprotocol, authenticates
in ``connection_init`` (``{"Authorization": "Bearer ..."}``) and subscribes to
``events(after: String, types: [String!])``. It gets every event after its cursor that it
may see (as ``Query.events`` would give them: the same visibility, the same commit-safe
order), then each new one as it commits. Reconnecting with the last cursor it received
loses nothing.

One LISTEN connection per process (:class:`Hub`) hears a NOTIFY per business whose feed
changed (a trigger on ``events``, migration 0008) and wakes that business's readers.
Subscriptions of event fields are served by group (app/groups.py, app/feed_ws.py): one
task per group reads the feed once per wake-up from the group's cursor with the group's
visibility, renders each event once and writes the same text to every member's socket;
a subscriber that joins with an older cursor catches up alone first. Other selections
are served by strawberry from :meth:`Session.stream`, which reads from the subscriber's
own cursor (reads of the same cursor and visibility shared). Without a NOTIFY (the LISTEN
connection lost) the feed is still read every ``RECHECK_S`` seconds, and every
subscription's credential is checked again as often: an expired token, a deactivated
member or a revoked key ends that stream alone with UNAUTHENTICATED. A credential holds at
most ``Settings.subscriptions_per_credential`` subscriptions at once (more: RATE_LIMITED).
A subscriber that stops reading is disconnected with close code 4408 (app/feed_ws.py).
"""

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from app.auth import AuthError, authenticate
from app.fanout import Renders
from app.feed_ws import FeedHandler
from app.groups import Groups
from app.settings import Settings
from db.engine import RequestDb
from db.writes import events
from resolvers.context import Principal
from resolvers.errors import DomainError, ErrorCode
from resolvers.events import readable_types
from resolvers.paging import decode_cursor

log = logging.getLogger("expensegraph.subscriptions")

CHANNEL = "expensegraph_events"
RECHECK_S = 10.0
PAGE = 100


class Hub:
    """One LISTEN connection per process; wakes the subscribers of a business on a NOTIFY."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._connection: asyncpg.Connection | None = None
        self._starting: asyncio.Lock | None = None
        self._waiting: dict[int, set[asyncio.Event]] = {}
        # feed reads in flight, by what they read: subscribers woken by the same NOTIFY at
        # the same cursor with the same visibility share one statement
        self._reads: dict[Any, asyncio.Future[list[Any]]] = {}

    async def subscribe(self, business_id: int) -> asyncio.Event:
        """Return a flag set whenever ``business_id``'s feed may have grown."""
        await self._listen()
        wake = asyncio.Event()
        self._waiting.setdefault(business_id, set()).add(wake)
        return wake

    def unsubscribe(self, business_id: int, wake: asyncio.Event) -> None:
        waiting = self._waiting.get(business_id)
        if waiting is not None:
            waiting.discard(wake)
            if not waiting:
                del self._waiting[business_id]

    async def read(self, key: Any, read: Any) -> list[Any]:
        """Return ``await read()``, shared with every concurrent caller of the same ``key``."""
        shared = self._reads.get(key)
        if shared is None:
            shared = asyncio.ensure_future(read())
            self._reads[key] = shared
            shared.add_done_callback(lambda _: self._reads.pop(key, None))
        return await asyncio.shield(shared)

    @property
    def subscribers(self) -> int:
        return sum(len(w) for w in self._waiting.values())

    async def _listen(self) -> None:
        if self._connection is not None and not self._connection.is_closed():
            return
        self._starting = self._starting or asyncio.Lock()
        async with self._starting:
            if self._connection is not None and not self._connection.is_closed():
                return
            try:
                connection = await asyncpg.connect(self.dsn)
                await connection.add_listener(CHANNEL, self._notified)
            except (OSError, asyncpg.PostgresError) as error:  # subscribers poll meanwhile
                log.warning("subscriptions cannot LISTEN: %s", str(error)[:200])
                return
            self._connection = connection

    def _notified(self, _: Any, __: int, ___: str, payload: str) -> None:
        try:
            business_id = int(payload)
        except ValueError:
            return
        for wake in self._waiting.get(business_id, ()):
            wake.set()

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


@dataclass
class Session:
    """One websocket's context: who authenticated in connection_init, and the feed reader."""

    view: "SubscriptionView"
    request: WebSocket
    connection_params: dict[str, Any] = field(default_factory=dict)
    principal: Principal | None = None
    request_id: str = "ws"
    report: dict[str, Any] = field(default_factory=dict)

    @contextlib.asynccontextmanager
    async def counted(self) -> AsyncIterator[Principal]:
        """Hold one of the credential's subscriptions (RATE_LIMITED when none is left)."""
        principal = self.principal
        if principal is None:
            raise DomainError(ErrorCode.UNAUTHENTICATED, "Authenticate in connection_init.")
        view, label = self.view, principal.label
        most = view.settings.subscriptions_per_credential
        if view.active[label] >= most:
            message = f"At most {most} subscriptions per credential at once."
            raise DomainError(ErrorCode.RATE_LIMITED, message)
        view.active[label] += 1
        try:
            yield principal
        finally:
            view.active[label] -= 1

    async def stream(self, *, after: str | None, types: Sequence[str] | None) -> AsyncIterator[Any]:
        """Yield the caller's events after ``after``, then each new one as it commits."""
        async with self.counted() as principal:
            view = self.view
            cursor = (
                decode_cursor(after, "tx", field="after") if after is not None else await self.end()
            )
            wake = await view.hub.subscribe(principal.business_id)
            check_at = time.monotonic() + view.recheck_s
            try:
                while True:
                    rows = await self._read(principal, cursor, types)
                    for row in rows:
                        yield row
                        cursor = (row.tx, row.id)
                    if len(rows) == PAGE:
                        continue
                    try:
                        await asyncio.wait_for(wake.wait(), max(check_at - time.monotonic(), 0))
                    except TimeoutError:
                        pass
                    wake.clear()
                    if time.monotonic() >= check_at:
                        principal = await self.recheck()
                        check_at = time.monotonic() + view.recheck_s
            finally:
                view.hub.unsubscribe(principal.business_id, wake)

    @property
    def visibility(self) -> tuple[Any, ...]:
        """Return what decides which events the caller sees (equal: the same events)."""
        assert self.principal is not None
        return (self.principal.visibility, tuple(readable_types(self.principal)))

    async def end(self) -> tuple[int, int]:
        """Return the cursor of "from now on" (events.feed_end)."""
        db = RequestDb(self.view.engine)
        try:
            return await events.feed_end(db=db)
        finally:
            await db.close()

    async def _read(
        self, principal: Principal, cursor: tuple[int, int] | None, types: Sequence[str] | None
    ) -> list[Any]:
        kinds = readable_types(principal)
        wanted = tuple(types) if types is not None else None
        key = (principal.visibility, tuple(kinds), wanted, cursor)
        return await self.view.hub.read(
            key, lambda: self._read_now(principal, kinds, cursor, types)
        )

    async def _read_now(
        self,
        principal: Principal,
        kinds: list[str],
        cursor: tuple[int, int] | None,
        types: Sequence[str] | None,
    ) -> list[Any]:
        db = RequestDb(self.view.engine)
        try:
            return await events.feed(
                db=db, visibility=principal.visibility, object_types=kinds, after=cursor, limit=PAGE,
                filter_=events.FeedFilter(types=list(types) if types is not None else None),
            )  # fmt: skip
        finally:
            await db.close()

    async def recheck(self) -> Principal:
        """Return the credential's principal again, or raise UNAUTHENTICATED."""
        principal = await self.view.principal_of(self.connection_params)
        if principal is None or self.principal is None or principal.label != self.principal.label:
            raise DomainError(
                ErrorCode.UNAUTHENTICATED, "The credential expired or was revoked: sign in again."
            )
        self.principal = principal
        return principal


class SubscriptionView(GraphQL[Session, None]):
    """strawberry's websocket handling for /graphql: graphql-transport-ws, our sessions,
    ``events`` messages made once for all who get the same (app/fanout.py)."""

    graphql_transport_ws_handler_class = FeedHandler

    def __init__(self, schema: Any, settings: Settings, engine: Any, hub: Hub) -> None:
        super().__init__(
            schema, graphql_ide=None, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,)
        )
        self.settings = settings
        self._engine = engine
        self.hub = hub
        self.active: Counter[str] = Counter()
        self.recheck_s = RECHECK_S
        self.slow_send_s = settings.subscription_slow_s
        self.slow_backlog = settings.subscription_backlog
        self.groups = Groups(hub)
        self.renders = Renders(schema._schema)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine()  # type: ignore[no-any-return]

    async def get_context(self, request: Any, response: Any) -> Session:
        return Session(view=self, request=request)

    async def on_ws_connect(self, context: Session) -> None:
        principal = await self.principal_of(context.connection_params)
        if principal is None:
            raise ConnectionRejectionError()
        context.principal = principal

    async def principal_of(self, params: dict[str, Any]) -> Principal | None:
        """Return the principal of a connection_init payload's Authorization, or None."""
        header = params.get("Authorization") or params.get("authorization")
        if not isinstance(header, str):
            return None
        db = RequestDb(self.engine)
        try:
            return await authenticate(header, db=db, settings=self.settings)
        except AuthError:
            return None
        finally:
            await db.close()
