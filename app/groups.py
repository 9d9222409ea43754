"""Fan-out by group: one task reads the feed for many subscribers and writes to each socket.

Subscribers of ``events`` whose reads are the same (business, visibility, readable object
types, event types) and whose messages are the same (document and operation name) form a
:class:`Group`. Its one task wakes on the business's NOTIFY (or every ``recheck_s``),
reads the feed once from the group's cursor, renders each event once and writes the same
text to every member's socket. A member joins at its own cursor: when that is behind the
group's, it first reads the feed on its own (paced by its socket) until it is not.

A member's socket takes a message at once while its buffers have room (as one frame made
for the whole group, app/ws_frames.py, where the server allows); when it does not, the
message goes on through ASGI in a task of its own and later ones wait in the member's backlog.
A member whose backlog passes ``backlog`` messages or whose message waits ``send_s``
seconds is ended as slow (app/fanout.py closes its connection); the group never waits.
"""

import asyncio
import logging
import types
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, Hashable
from typing import Any

from app.ws_frames import frame

log = logging.getLogger("expensegraph.subscriptions")

PAGE = 100
Cursor = tuple[int, int]
# each event's cursor, the text of its message and that text's websocket frame
Messages = list[tuple[Cursor, str, bytes]]
Read = Callable[[Cursor], Awaitable[list[Any]]]  # a page of the feed after a cursor


@types.coroutine
def _resumed(coro: Coroutine[Any, Any, None], yielded: Any) -> Generator[Any, Any, None]:
    """Go on with ``coro``, which ran up to its first suspension, where it ``yielded``."""
    while True:
        try:
            sent = yield yielded
        except BaseException as error:  # cancellation too: the coroutine handles it
            try:
                yielded = coro.throw(error)
            except StopIteration:
                return
        else:
            try:
                yielded = coro.send(sent)
            except StopIteration:
                return


async def _finish(coro: Coroutine[Any, Any, None], yielded: Any) -> None:
    await _resumed(coro, yielded)


class Member:
    """One subscription served by a group: its cursor and what its socket has not taken."""

    def __init__(self, send: Callable[[str], Coroutine[Any, Any, None]], head: str,
                 cursor: Cursor, *, backlog: int, send_s: float,
                 write: Callable[[bytes], bool] | None = None) -> None:  # fmt: skip
        self.send, self.head, self.cursor = send, head, cursor
        self.write = write  # a whole frame straight to the socket (app/ws_frames.py)
        self.most, self.send_s = backlog, send_s
        self.backlog: deque[str] = deque()
        self.sending: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        # set once: None when its socket closed, else why it was too slow
        self.ended: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

    def deliver(self, messages: Messages) -> None:
        """Send the messages of events after the member's cursor, in order."""
        for at, text, data in messages:
            if at > self.cursor:
                self.cursor = at
                self.push(text, data)

    def push(self, text: str, data: bytes) -> None:
        if self.ended.done():
            return
        if self.sending is None:
            if self.write is None or not self.write(data):
                self._start(text)
            return
        self.backlog.append(text)
        if len(self.backlog) > self.most:
            self.end(f"more than {self.most} messages waited")

    def end(self, why: str | None) -> None:
        if not self.ended.done():
            self.ended.set_result(why)

    def stop(self) -> None:
        """Drop what is unsent (the member has ended or left for good)."""
        self.backlog.clear()
        if self.sending is not None:
            self.sending.cancel()

    async def drained(self) -> None:
        """Return when the socket took every message pushed, or the member ended."""
        while self.sending is not None and not self.ended.done():
            await asyncio.wait((self.sending, self.ended), return_when=asyncio.FIRST_COMPLETED)

    def _start(self, text: str) -> None:
        # run the send up to its first suspension: a socket with room takes the message
        # there and then, with no task; a full one goes on in a task (asyncio has no eager
        # tasks before Python 3.12)
        coro = self.send(text)
        try:
            yielded = coro.send(None)
        except StopIteration:
            return
        except Exception:  # the socket is closed
            self.end(None)
            return
        sending = self.sending = asyncio.ensure_future(_finish(coro, yielded))
        sending.add_done_callback(self._sent)
        self._timer = asyncio.get_running_loop().call_later(self.send_s, self._late, sending)

    def _late(self, sending: asyncio.Future[None]) -> None:
        if self.sending is sending:
            self.end(f"a message waited {self.send_s:g} s")

    def _sent(self, sending: asyncio.Future[None]) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.sending is sending:
            self.sending = None
        if sending.cancelled():
            return
        if sending.exception() is not None:
            self.end(None)
            return
        while self.backlog and self.sending is None and not self.ended.done():
            self._start(self.backlog.popleft())


def _messages(head: str, payloads: list[tuple[Cursor, str]]) -> Messages:
    """Return the ``next`` messages of an operation whose messages start with ``head``."""
    texts = [(at, head + payload + "}") for at, payload in payloads]
    return [(at, text, frame(text)) for at, text in texts]


class Group:
    """Members with the same reads and messages, served by one task."""

    def __init__(self, key: Hashable, cursor: Cursor, read: Read,
                 render: Callable[[Any], str]) -> None:  # fmt: skip
        self.key, self.cursor, self.read, self.render = key, cursor, read, render
        self.members: set[Member] = set()
        self.task: asyncio.Task[None] | None = None

    async def run(self, wake: asyncio.Event, recheck_s: float) -> None:
        """Read, render and deliver after every wake-up while the group has members."""
        while self.members:
            try:
                rows = await self.read(self.cursor)
            except Exception:  # the database: the members wait, the group tries again
                log.warning("subscriptions: a group's feed read failed", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            if rows:
                self._deliver(rows)
            if len(rows) == PAGE:
                continue
            try:
                await asyncio.wait_for(wake.wait(), recheck_s)
            except TimeoutError:
                pass
            wake.clear()

    def _deliver(self, rows: list[Any]) -> None:
        payloads = [((row.tx, row.id), self.render(row)) for row in rows]
        by_head: dict[str, Messages] = {}  # one text per operation id: the same for most
        for member in list(self.members):
            messages = by_head.get(member.head)
            if messages is None:
                messages = by_head[member.head] = _messages(member.head, payloads)
            member.deliver(messages)
        self.cursor = payloads[-1][0]


class Groups:
    """A process's groups by key; a member joins one once it has caught up with it."""

    def __init__(self, hub: Any) -> None:
        self._groups: dict[Hashable, Group] = {}
        self.hub = hub  # app/subscriptions.py Hub: wakes a business's groups on a NOTIFY

    def __len__(self) -> int:
        return len(self._groups)

    async def join(self, member: Member, key: tuple[Any, ...], read: Read,
                   render: Callable[[Any], str], recheck_s: float) -> Group | None:  # fmt: skip
        """Return the group ``member`` joined after reading alone what it was behind.

        ``key[0]`` is the business id. None: the member ended while catching up.
        """
        caught_up = False  # a read alone came back short: it had all there was
        while not member.ended.done():
            group = self._groups.get(key)
            if group is not None and group.cursor <= member.cursor:
                group.members.add(member)  # what the group sends next is new to it
                return group
            if group is None and caught_up:
                group = self._groups[key] = Group(key, member.cursor, read, render)
                group.members.add(member)
                group.task = asyncio.create_task(self._run(group, key[0], recheck_s))
                return group
            seen = None if group is None else group.cursor
            rows = await read(member.cursor)  # behind: alone, as fast as its socket takes them
            member.deliver(_messages(member.head, [((r.tx, r.id), render(r)) for r in rows]))
            await member.drained()
            if len(rows) < PAGE:  # it has all the group had read when it looked
                caught_up = True
                member.cursor = member.cursor if seen is None else max(member.cursor, seen)
        return None

    def leave(self, member: Member, group: Group) -> None:
        group.members.discard(member)
        if not group.members and self._groups.get(group.key) is group:
            del self._groups[group.key]
            if group.task is not None:
                group.task.cancel()

    async def _run(self, group: Group, business_id: int, recheck_s: float) -> None:
        wake = await self.hub.subscribe(business_id)
        try:
            await group.run(wake, recheck_s)
        finally:
            self.hub.unsubscribe(business_id, wake)
            if self._groups.get(group.key) is group:
                del self._groups[group.key]
