"""Plain reads asked for in one turn of the event loop, sent to PostgreSQL together.

The loaders of one level of a query (an expense page's members, cards, teams, receipts)
dispatch in the same turn. :class:`ReadQueue` holds their reads until the turn ends, and
one turn more (the read of a task started in that turn goes with them: the credential
read app/lane.py's ``speculated`` starts beside a query's first reads, whether that first
read is asked for at once, a root list's, or two turns later, a loader's batch), and hands them
to the request's handle at once, which sends several as one statement
(db/merged_reads.py :func:`~db.merged_reads.merged`): one round trip instead of one each.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Executable, Row


@dataclass(slots=True)
class QueuedRead:
    """A plain read waiting to be sent, as SQLAlchemy and as asyncpg would send it."""

    statement: Executable
    params: Mapping[str, Any] | None
    sql: str
    args: list[Any]
    row_type: Any
    rows: "asyncio.Future[Sequence[Row[Any]]]" = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    # reads of the next level sent with it (db/following.py): what primes, the read, the
    # index of its keys' column in this read's rows, where the keys were among its arguments
    follows: list[tuple[Any, tuple[str, list[Any], Any], int, int]] | tuple[()] = ()


Send = Callable[[list[QueuedRead]], Awaitable[list[Sequence[Row[Any]]]]]


class ReadQueue:
    """The reads of one turn, handed to ``send`` when it ends; each waiter gets its rows."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._reads: list[QueuedRead] = []
        self._sending: set[asyncio.Future[None]] = set()  # held until done

    def add(self, read: QueuedRead) -> "asyncio.Future[Sequence[Row[Any]]]":
        """Queue ``read``; return the future of its rows."""
        if not self._reads:
            asyncio.get_running_loop().call_soon(self._turn_ended)
        self._reads.append(read)
        return read.rows

    def _turn_ended(self, last: bool = False) -> None:
        if not last:  # and one turn more: a read of a task started this turn goes too
            asyncio.get_running_loop().call_soon(self._turn_ended, True)
            return
        reads, self._reads = self._reads, []
        task = asyncio.get_running_loop().create_task(self._answer(reads))
        self._sending.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._sending.discard)

    async def _answer(self, reads: list[QueuedRead]) -> None:
        try:
            answers = await self._send(reads)
        except Exception as error:  # one round trip: every read of it fails alike
            for read in reads:
                if not read.rows.done():
                    read.rows.set_exception(error)
            return
        except BaseException:  # cancelled: so are the reads waiting for it
            for read in reads:
                read.rows.cancel()
            raise
        for read, rows in zip(reads, answers, strict=True):
            if not read.rows.done():
                read.rows.set_result(rows)
