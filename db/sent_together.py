"""Which reads share a round trip: those of one turn, and those of the next level.

**One turn.** The loaders of one level of a query (an expense page's members, cards, teams,
receipts) dispatch in the same turn of the event loop. :class:`ReadQueue` holds their reads
until the turn ends, and one turn more (the read of a task started in that turn goes with
them: the credential read app/lane.py's ``speculated`` starts beside a query's first reads,
whether that first read is asked for at once, a root list's, or two turns later, a loader's
batch), and hands them to the request's handle at once, which sends several as one
statement (db/merged_reads.py :func:`~db.merged_reads.merged`): one round trip instead of
one each.

**The next level.** Its loads are keyed by columns of the rows the level above returned: an
expense's ``member_id``, a team's ``id``. When the fast lane knows, before the level
above is read, which loads the next level will make (execution/run.py), each is a
:class:`Following`: the loader's batch statement, whose array of keys PostgreSQL takes
from the rows of the read it follows, in the same statement, and what makes the loader's
values of its rows. Those values prime the loader: the next level finds them cached and
sends nothing.

What it primes is what the loader would have loaded: the loader's own statement, for
exactly the keys the parent rows hold, in the same snapshot. Whatever read of its table
it goes with, then, its values are right; it only saves a round trip when it goes with
the read whose rows the next level uses.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Executable, Row, Select
from sqlalchemy.engine import Dialect

from db.fastread import kept_memo, keyed, remembered, unkeyed_sql
from db.merged_reads import UNNEST_KEYS, After, Read, one_row, width


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
    # reads of the next level sent with it (:func:`take`): what primes, and each as taken
    follows: "Sequence[Following]" = ()
    taken: "tuple[Taken, ...]" = ()


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


# False sends each level's reads in its own round trip (to measure what this saves, bench/)
ENABLED = True


class KeyedRead(NamedTuple):
    """A batch statement of a loader, with its parameters but its array of keys."""

    statement: Select[Any]
    params: Mapping[str, Any]
    keys: str  # the name of its parameter of keys
    # one row a key at most (its keys are the rows' ids): following a read of one row, it is
    # joined to it instead of aggregated into arrays (db/merged_reads.py merged)
    unique: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class Following:
    """A loader's batch read, keyed by ``column`` of the rows of a read of ``table``."""

    table: str
    column: str
    read: KeyedRead
    # given the keys (the distinct non-null values of ``column``) and its rows: prime
    answer: Callable[[list[Any], Sequence[Any]], None]


class Offers:
    """The reads a caller offers to the read it asks for next, at once (execution/run.py).

    Whatever reads or joins a loader's batch in the same step takes them (:meth:`claim`);
    an offer nothing took is replaced by the next.
    """

    __slots__ = ("_offered",)

    def __init__(self) -> None:
        self._offered: list[Following] | None = None

    def offer(self, follows: list[Following] | None) -> None:
        self._offered = follows

    def claim(self) -> list[Following] | None:
        """Return the reads offered (and take them), or None."""
        follows, self._offered = self._offered, None
        return follows

    def withdraw(self, follows: list[Following]) -> None:
        """Withdraw ``follows`` if nothing took them."""
        if self._offered is follows:
            self._offered = None

    def __bool__(self) -> bool:
        return bool(self._offered)


# a follower as :func:`take` takes it: its read (its arguments a tuple: every request of the
# shape shares it), the index of its keys' column in the rows it follows, where the keys
# were among its arguments, whether it returns one row at most, whether it reads a key once
# per row holding it (db/merged_reads.py UNNEST_KEYS)
Taken = tuple[Read, int, int, bool, bool]
# what take made of a read's followers, by the read's row type and each follower's table,
# column, statement, keys and parameters: a level of a served document asks the same at
# every request (forgotten with the kept statements, db/fastread.py)
_taken: dict[tuple[Any, ...], tuple[Taken, ...]] = kept_memo()
MAX_TAKEN = 1024


def take(
    following: Sequence[Following] | None, read: QueuedRead, dialect: Dialect, cache: Any
) -> None:
    """Give ``read`` the reads of ``following``, if its rows hold the keys of every one.

    All or none (a level's batches go together, execution/plan.py): if one cannot go (its
    keys are not in these rows, or it cannot go merged, db/merged_reads.py ``width``), their
    loaders read as they would have.
    """
    if not (following and ENABLED):
        return
    key = (
        read.row_type,
        *[
            (
                f.table,
                f.column,
                f.read.statement,
                f.read.keys,
                f.read.unique,
                *f.read.params.items(),
            )
            for f in following
        ],
    )
    shape: tuple[Any, ...] | None = key
    try:
        taken = _taken.get(key)
    except TypeError:  # a parameter's value that cannot be a key: worked out each time
        shape, taken = None, None
    if taken is None:
        taken = _taking(following, read, dialect, cache)
        if shape is not None and all(remembered(f.read.statement) for f in following):
            if len(_taken) >= MAX_TAKEN:
                _taken.clear()
            _taken[shape] = taken
    if taken:
        read.follows, read.taken = following, taken


def _taking(
    following: Sequence[Following], read: QueuedRead, dialect: Dialect, cache: Any
) -> tuple[Taken, ...]:
    """Return how :func:`take` takes each of ``following``; none if one cannot go."""
    fields = read.row_type._fields
    if width(read.row_type) is None:
        return ()
    tables = _tables(read)
    single = one_row(read.row_type)  # one row: so is each follower keyed by the rows' ids
    taken = []
    for follows in following:
        if follows.table not in tables or follows.column not in fields:
            return ()
        statement, params, keys, unique = follows.read
        made = keyed(statement, dialect, cache, params, keys)
        if made is None or "'" in made[0] or width(made[2]) is None:
            return ()
        sql, args, row_type, position = made
        column = fields.index(follows.column)
        read_ = (sql, tuple(args), row_type)
        per_row = UNNEST_KEYS.search(sql) is not None
        taken.append((read_, column, position, single and unique, per_row))
    return tuple(taken)


def _tables(read: QueuedRead) -> frozenset[str]:
    """Return the names of the tables ``read`` selects from (kept on its row type)."""
    tables: frozenset[str] | None = read.row_type.__dict__.get("_tables")
    if tables is None:
        froms = read.statement.get_final_froms()  # type: ignore[attr-defined]
        tables = read.row_type._tables = frozenset(getattr(f, "name", "") for f in froms)
    return tables


def sent(reads: list[QueuedRead]) -> tuple[list[Read], After]:
    """Return what to send for ``reads`` (theirs, then their followers') and where each
    follower takes its keys from (for db/merged_reads.py ``fetch``)."""
    made: list[Read] = [(read.sql, read.args, read.row_type) for read in reads]
    after: dict[int, tuple[int, int, bool]] = {}
    k = len(made)
    for parent, read in enumerate(reads):
        for follower, column, _, single, _ in read.taken:
            after[k] = (parent, column, single)
            made.append(follower)
            k += 1
    return made, after


def answered(
    rows: list[Sequence[Any]], reads: list[QueuedRead]
) -> list[tuple[int, list[Any], int]]:
    """Prime each follower's loader with its rows (as :func:`sent` sent them), for the keys the
    rows it follows hold; return (index, keys, where they go) of those that had keys: they
    count as statements.

    A follower that read a key once per row holding it, in rows that repeat a key, read
    that key's rows more than once: it primes nothing, and its loader reads alone.
    """
    had = []
    k = len(reads)
    for parent, read in enumerate(reads):
        for follows, taken in zip(read.follows, read.taken, strict=True):
            _, column, position, _, per_row = taken
            keys = keys_of(rows[parent], column)
            if keys and not (per_row and repeats(rows[parent], column, keys)):
                follows.answer(keys, rows[k])
                had.append((k, keys, position))
            k += 1
    return had


def alone(sent: list[Read], had: list[tuple[int, list[Any], int]]) -> list[Read]:
    """Return the followers that had keys as each would have run alone (for the statement
    listeners: tests, bench)."""
    read: list[Read] = []
    for k, keys, position in had:
        sql, args, row_type = sent[k]
        read.append(
            (unkeyed_sql(sql, position + 1), [*args[:position], keys, *args[position:]], row_type)
        )
    return read


def repeats(rows: Sequence[Sequence[Any]], column: int, keys: list[Any]) -> bool:
    """Return whether ``rows``' ``column`` holds one of ``keys`` (its distinct non-null
    values) twice."""
    return len(rows) - list(map(itemgetter(column), rows)).count(None) > len(keys)


def keys_of(rows: Sequence[Sequence[Any]], column: int) -> list[Any]:
    """Return the distinct non-null values of ``rows``' ``column`` (by index), in order."""
    keys = dict.fromkeys(map(itemgetter(column), rows))
    keys.pop(None, None)
    return list(keys)
