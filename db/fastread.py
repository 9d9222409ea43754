"""SELECTs run by asyncpg directly: SQLAlchemy compiles them (cached), asyncpg runs them.

A read through ``AsyncConnection.execute`` costs about half a millisecond of Python
beyond PostgreSQL's own work: the greenlet bridge, the execution context, the cursor
adapter, a processed ``Row`` per row. A 50-row list page runs seven of them. Here the
statement still goes through SQLAlchemy's compiled cache (same SQL, same cache key), and
then asyncpg's ``fetch`` runs the SQL with its own prepared-statement cache; rows come
back as named tuples with the same attribute names.

Only plain statements take this path: a SELECT with no expanding or literal parameters
and unique column names whose types SQLAlchemy can name a processor for without the
driver's type code; parameters and the columns that need it (arrays) go through the same
bind and result processors SQLAlchemy would apply. Anything else (and every write) goes through SQLAlchemy as before; the decision
is made once per compiled statement.
"""

import collections
import keyword
import re
from collections.abc import Mapping
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.compiler import SQLCompiler

from db.merged_reads import KEYS, PLACEHOLDER

# False sends every statement through SQLAlchemy (to measure what this path saves)
ENABLED = True
_NOT_PLAIN = object()
_plans: dict[int, Any] = {}  # id(compiled) -> (compiled, row type) or _NOT_PLAIN
# statements made once and run many times (see keep): id -> [statement, compiled form,
# the _Template of its named parameters, whether it returns one row, what keyed made of it]
_kept: dict[int, list[Any]] = {}

# what other modules make of kept statements (db/sent_together.py take): forgotten with them
_memos: list[dict[Any, Any]] = []

S = TypeVar("S")
MAX_KEYED_PER_STATEMENT = 1024


def keep(statement: S, *, one_row: bool = False) -> S:
    """Mark ``statement`` as built once and run many times; return it.

    :func:`prepared` then remembers its compiled form and arguments, and skips
    SQLAlchemy's cache key walk and lookup on every later run of the same object.
    ``one_row``: it returns at most one row (it matches a unique key), which lets it
    merge with others more cheaply (db/merged_reads.py).
    """
    if len(_kept) > 4000:
        _kept.clear()
        for made in _memos:
            made.clear()
    _kept[id(statement)] = [statement, None, None, one_row, {}]
    return statement


def kept_memo() -> dict[Any, Any]:
    """Return a new dict emptied whenever the kept statements are forgotten (:func:`keep`)."""
    made: dict[Any, Any] = {}
    _memos.append(made)
    return made


def remembered(statement: Any) -> bool:
    """Return True when :func:`keyed` remembers what it makes of ``statement``: the same
    arguments for the same parameters (none computed at each run)."""
    kept = _kept.get(id(statement))
    return kept is not None and kept[0] is statement and kept[2] is not None


def _row_type(compiled: SQLCompiler, dialect: Dialect) -> Any:
    """Return the named-tuple type for a plain compiled SELECT, or ``_NOT_PLAIN``."""
    if not compiled.positional or compiled.literal_execute_params or compiled.post_compile_params:
        return _NOT_PLAIN
    names = [column.keyname for column in compiled._result_columns]
    if len(set(names)) != len(names) or not all(
        name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")
        for name in names
    ):
        return _NOT_PLAIN
    processors = [_processor(column.type, dialect) for column in compiled._result_columns]
    if any(processor is _NOT_PLAIN for processor in processors):
        return _NOT_PLAIN
    base = collections.namedtuple("FastRow", names)  # type: ignore[misc]
    mapping = property(lambda row: row._asdict())
    row_type = type("FastRow", (base,), {"__slots__": (), "_mapping": mapping})
    # a row from a record or a tuple in one C call (``_make`` is a Python frame per row)
    row_type._new = partial(tuple.__new__, row_type)  # type: ignore[attr-defined]
    # the few columns SQLAlchemy would convert (arrays) get the very same function
    row_type._processors = [  # type: ignore[attr-defined]
        (i, processor) for i, processor in enumerate(processors) if processor is not None
    ]
    return row_type


def _processor(type_: Any, dialect: Dialect) -> Any:
    """Return SQLAlchemy's result processor for a column type (numerics ask by type OID)."""
    if isinstance(type_, sqltypes.Float):
        coltype: int | None = 701  # float8
    elif isinstance(type_, sqltypes.Numeric):
        coltype = 1700  # numeric: asyncpg returns Decimal, as SQLAlchemy would
    else:
        coltype = None
    try:
        return type_._cached_result_processor(dialect, coltype)
    except Exception:  # a type that needs the real OID: leave it to SQLAlchemy
        return _NOT_PLAIN


def prepared(
    statement: Any, dialect: Dialect, cache: Any, params: Mapping[str, Any] | None = None
) -> tuple[str, list[Any], Any] | None:
    """Return (sql, positional arguments, row type) for a plain SELECT, else None.

    ``params`` are the values of the statement's named bind parameters: a statement built
    once with them (db/lookups.py) keeps its memoized cache key, so each call skips both
    building the expression and walking it for the key.
    """
    if not ENABLED or not isinstance(statement, Select):
        return None
    kept = _kept.get(id(statement))
    if kept is not None and kept[0] is statement and kept[1] is not None:
        fixed: tuple[str, list[Any], Any] | None
        compiled, extracted, collected, fixed = kept[1]
        if params is None:
            if fixed is not None:
                return fixed  # no parameter of its own: the same arguments every time
        else:
            template: _Template | None = kept[2]
            if template is not None and template.names == params.keys():
                return template.filled(params)  # the same names: only their values change
    else:
        compiled, extracted, collected, cache_stat = statement._compile_w_cache(
            dialect, compiled_cache=cache, column_keys=[], for_executemany=False
        )
        if cache_stat in (dialect.NO_CACHE_KEY, dialect.CACHING_DISABLED):
            return None  # compiled anew each time: nothing to remember it by
    entry = _plans.get(id(compiled))
    if entry is None or entry[0] is not compiled:  # ids are reused after eviction
        entry = (compiled, _row_type(compiled, dialect))
        if len(_plans) > 2000:
            _plans.clear()
        _plans[id(compiled)] = entry
    row_type = entry[1]
    if row_type is _NOT_PLAIN:
        return None
    values = compiled.construct_params(
        params, extracted_parameters=extracted, escape_names=False, _collected_params=collected
    )
    processors = compiled._bind_processors  # arrays: a list for asyncpg, whatever was given
    args = [
        processors[name](values[name]) if name in processors else values[name]
        for name in compiled.positiontup or ()
    ]
    answer = compiled.string, args, row_type
    if kept is not None and kept[0] is statement and kept[1] is None:
        if kept[3]:  # the compiled SQL is this statement's: its rows are its rows
            row_type._one_row = True
        kept[1] = (compiled, extracted, collected, answer if params is None else None)
        # a value computed at each run (a callable bind) would be kept by a template
        if params is not None and not any(b.callable for b in compiled.binds.values()):
            kept[2] = _Template(answer, compiled, params)
    return answer


def keyed(
    statement: Any, dialect: Dialect, cache: Any, params: Mapping[str, Any], keys: str
) -> tuple[str, list[Any], Any, int] | None:
    """Return ``statement`` as a read whose array parameter ``keys`` another read fills
    (db/sent_together.py): its SQL with that placeholder as ``KEYS``, its other arguments, its
    row type, and where the keys were among its arguments; None unless it is plain and kept
    (:func:`keep`).

    Remembered per kept statement and parameters (a business id): the same level of the same
    query asks for it again at every request, and making it binds an array: 15 µs a read.
    """
    kept = _kept.get(id(statement))
    if kept is None or kept[0] is not statement:
        return None
    try:
        memo: tuple[Any, ...] | None = (keys, *params.items())
        made = kept[4].get(memo)
    except TypeError:  # a parameter's value that cannot be a key: made each time
        memo, made = None, None
    if made is None:
        fast = prepared(statement, dialect, cache, {**params, keys: []})
        if fast is None or kept[1] is None:
            return None
        sql, args, row_type = fast
        position = kept[1][0].positiontup.index(keys)
        made = (
            keyed_sql(sql, position + 1),
            args[:position] + args[position + 1 :],
            row_type,
            position,
        )
        if memo is not None and kept[2] is not None:  # no value computed at each run
            if len(kept[4]) >= MAX_KEYED_PER_STATEMENT:  # as many as businesses: bounded
                kept[4].clear()
            kept[4][memo] = made
    sql, args, row_type, position = made
    return sql, args.copy(), row_type, position  # the caller's own list


class _Template:
    """A kept statement's arguments with the slots its named parameters fill.

    The statement's own values (a page's limit, a business id built in) never change, so
    a later call with the same parameter names only puts its values in their places,
    without SQLAlchemy's ``construct_params``: 9.8 -> 3.6 µs a call (bench/RESULTS.md).
    """

    __slots__ = ("_args", "_row_type", "_slots", "_sql", "names")

    def __init__(
        self, answer: tuple[str, list[Any], Any], compiled: Any, params: Mapping[str, Any]
    ) -> None:
        self._sql, self._args, self._row_type = answer
        self.names = set(params)
        processors = compiled._bind_processors
        self._slots = [
            (i, name, processors.get(name))
            for i, name in enumerate(compiled.positiontup or ())
            if name in self.names
        ]

    def filled(self, params: Mapping[str, Any]) -> tuple[str, list[Any], Any]:
        args = self._args.copy()
        for i, name, processor in self._slots:
            value = params[name]
            args[i] = value if processor is None else processor(value)
        return self._sql, args, self._row_type


# the SQL of kept statements with their keys at KEYS, by SQL and the keys' placeholder
_keyed: dict[tuple[str, int], str] = {}


def keyed_sql(sql: str, position: int) -> str:
    """Return ``sql`` with placeholder ``$position`` as :data:`KEYS`, those after it one less.

    Its arguments are then those of ``sql`` without the keys.
    """
    key = (sql, position)
    done = _keyed.get(key)
    if done is None:

        def renumbered(match: "re.Match[str]") -> str:
            n = int(match.group(1))
            return KEYS if n == position else f"${n - 1}" if n > position else match.group(0)

        done = PLACEHOLDER.sub(renumbered, sql)
        if len(_keyed) > 2000:
            _keyed.clear()
        _keyed[key] = done
    return done


def unkeyed_sql(sql: str, position: int) -> str:
    """Return ``sql`` as it was before :func:`keyed_sql` (its keys at ``$position``)."""

    def renumbered(match: "re.Match[str]") -> str:
        n = int(match.group(1))
        return f"${position}" if n == 0 else f"${n + 1}" if n >= position else match.group(0)

    return PLACEHOLDER.sub(renumbered, sql)
