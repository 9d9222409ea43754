"""Admission control: at most N GraphQL requests in flight per process, the rest wait FIFO.

A request holds its pooled connection for its whole life, most of it waiting for the one
event loop; admitting no more requests than the pool holds keeps an admitted request from
waiting for a connection (and timing out there). Excess requests wait in a bounded queue;
past its limit or its wait timeout they are refused (503 UNAVAILABLE, Retry-After). A
queued request whose client hangs up leaves the queue; an admitted one whose client has
hung up by the time its answer is ready is not answered (:func:`hung_up`).
"""

import asyncio
from collections import deque
from dataclasses import dataclass

from starlette.types import Message, Receive

from db.connect import PoolSettings

# the body a queued request sends is read (to notice a hang-up behind it) and buffered up
# to this size; a bigger body is left unread and its request waits without the watch
WATCH_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class AdmissionSettings:
    """In-flight and queue limits per process; README lists them."""

    # None: the pool's size plus its overflow, so an admitted request never waits for it
    max_in_flight: int | None = None
    queue: int = 100
    timeout_s: int = 10


class Refused(Exception):
    """The request was not admitted: the queue was full or the wait timed out."""


class ClientGone(Exception):
    """The client hung up while its request waited in the queue."""


class Admission:
    """A FIFO semaphore with a bounded queue and a wait timeout."""

    def __init__(self, settings: AdmissionSettings, pool: PoolSettings) -> None:
        self.max_in_flight = settings.max_in_flight or pool.size + pool.max_overflow
        self.queue_limit, self.timeout_s = settings.queue, settings.timeout_s
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def queued(self) -> int:
        """Return how many requests wait for a slot."""
        return len(self._waiters)

    def try_enter(self) -> bool:
        """Take a free slot if nobody waits for one; return whether it was taken."""
        if self.in_flight < self.max_in_flight and not self._waiters:
            self.in_flight += 1
            return True
        return False

    async def enter(self) -> None:
        """Take a slot, waiting in line if none is free; raise Refused when that cannot be."""
        if self.try_enter():
            return
        if len(self._waiters) >= self.queue_limit:
            raise Refused(f"admission queue full ({self.queue_limit} waiting)")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.timeout_s):
                await waiter
        except BaseException as error:
            if waiter.done() and not waiter.cancelled():
                self.leave()  # handed a slot just as it gave up: the next in line gets it
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            if isinstance(error, TimeoutError):
                raise Refused(f"waited {self.timeout_s} s for admission") from None
            raise

    def leave(self) -> None:
        """Give the slot back: to the first waiter still in line, else free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes to it: in_flight stays
                return
        self.in_flight -= 1


class _HangUpWatch:
    """Reads a queued request's messages, so a hang-up is noticed; replays them after."""

    def __init__(self, receive: Receive, waiting: "asyncio.Task[object]") -> None:
        self._receive, self._waiting = receive, waiting
        self.messages: list[Message] = []
        self.gone = False

    async def run(self) -> None:
        size = 0
        while size <= WATCH_BODY_LIMIT:
            message = await self._receive()
            self.messages.append(message)
            if message["type"] == "http.disconnect":
                self.gone = True
                self._waiting.cancel()
                return
            size += len(message.get("body", b""))
        await asyncio.get_running_loop().create_future()  # too big to buffer: stop reading

    def replay(self) -> Receive:
        """Return a ``receive`` giving the buffered messages first, then the real ones."""
        pending = deque(self.messages)

        async def receive() -> Message:
            return pending.popleft() if pending else await self._receive()

        return receive


async def _wait_watching(admission: Admission, receive: Receive) -> Receive:
    """Wait for a slot while watching for a hang-up; return the ``receive`` to go on with."""
    task = asyncio.current_task()
    assert task is not None
    watch = _HangUpWatch(receive, task)
    watcher = asyncio.create_task(watch.run())
    try:
        await admission.enter()
    except asyncio.CancelledError:
        if watch.gone and task.uncancel() == 0:
            raise ClientGone() from None
        raise
    finally:
        watcher.cancel()
    return watch.replay()


class Admitted:
    """``async with Admitted(admission, receive) as receive``: hold a slot for the enclosed
    request, which reads from the ``receive`` given (the one it had, or the watch's replay).

    Raises Refused (queue full, waited too long) or ClientGone before the block runs. A class
    rather than an ``asynccontextmanager``, whose async generator the event loop tracks in a
    weak set and contextlib drives with ``anext``: 15 Python calls a request, 5 here.
    """

    def __init__(self, admission: Admission, receive: Receive) -> None:
        self.admission, self.receive = admission, receive

    async def __aenter__(self) -> Receive:
        if not self.admission.try_enter():
            self.receive = await _wait_watching(self.admission, self.receive)
        return self.receive

    async def __aexit__(self, *_: object) -> None:
        self.admission.leave()


def hung_up(receive: Receive) -> bool:
    """Return True when the client has hung up: a ``receive`` that answers at once says so.

    The body was read already; a ``receive`` that would wait means the client is still
    there, and that wait is closed, not awaited. Asked once, when the answer is ready,
    rather than by a task watching every request (a task, a wait and a cancel: 0.03 ms).
    """
    waiting = receive().__await__()
    try:
        waiting.send(None)
    except StopIteration as answered:
        return bool(answered.value["type"] == "http.disconnect")
    except Exception:  # a server's receive failing: answer anyway, as if still there
        return False
    close = getattr(waiting, "close", None)
    if close is not None:
        close()  # the server's wait for a message ends here (asyncio.Event.wait's finally)
    return False
