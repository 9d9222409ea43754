"""Several plain reads sent as one statement: one round trip for a level's reads.

:func:`fetch` sends the reads of one turn together (db/fastread.py made each of them): each
read becomes a derived table whose columns are aggregated into arrays, all in one SELECT,
and its rows are taken back out of that statement's one row.
"""

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, cast

# merged SQL by the texts it merges: the same level of the same query merges alike
_merged: dict[tuple[tuple[str, bool, tuple[int, int] | None], ...], str] = {}
PLACEHOLDER = re.compile(r"\$(\d+)")
# where a following read's keys go in its SQL (db/sent_together.py): SQLAlchemy never uses $0
KEYS = "$0"
_KEYS = re.compile(re.escape(KEYS) + r"(?!\d)")
_ANY_KEYS = re.compile(r"= ANY \(" + re.escape(KEYS) + r"(?:::[A-Z ]+\[\])?\)")
# a LATERAL over the keys (:func:`merged`): it takes a key per row of the read it follows
UNNEST_KEYS = re.compile(r"unnest\(" + re.escape(KEYS) + r"(?:::[A-Z ]+\[\])?\)")

Read = tuple[str, Sequence[Any], Any]  # what asyncpg is sent: SQL, arguments; the row type
# the reads following another (db/sent_together.py), by index: that one's index, the column
# of its rows holding their keys, and whether a follower returns one row at most
After = Mapping[int, tuple[int, int, bool]]


def width(row_type: Any) -> int | None:
    """Return the number of columns of a read that can be merged, None for one that cannot.

    A column SQLAlchemy converts (an array) would be aggregated into an array of arrays,
    which PostgreSQL refuses when their lengths differ: such a read goes alone.
    """
    return None if row_type._processors else len(row_type._fields)


# PostgreSQL takes at most 1,664 columns in a SELECT list and asyncpg 32,767 arguments; and
# it plans a merged statement anew for each count of reads, in more than linear time: a list
# page with batching off (a read per key, ~170 in one turn) took 1.6 s merged whole, 39 ms
# in merges of 8 (bench/RESULTS.md). A level of a batched query has fewer reads than that.
MAX_MERGED_COLUMNS = 1600
MAX_MERGED_ARGUMENTS = 30000
MAX_MERGED_READS = 8


def merge_groups(sizes: Mapping[int, tuple[int | None, int]]) -> list[dict[int, int]]:
    """Return the reads to merge ({index: columns}), in groups of two or more under the caps.

    ``sizes`` holds each read's columns (None: it cannot merge) and arguments. Reads that
    cannot merge and a group's lone read go alone.
    """
    groups: list[dict[int, int]] = [{}]
    columns_in, arguments_in = 0, 0
    for k, (columns, arguments) in sizes.items():
        if columns is None:
            continue
        if (
            columns_in + columns > MAX_MERGED_COLUMNS
            or arguments_in + arguments > MAX_MERGED_ARGUMENTS
            or len(groups[-1]) >= MAX_MERGED_READS
        ):
            groups.append({})
            columns_in, arguments_in = 0, 0
        groups[-1][k] = columns
        columns_in, arguments_in = columns_in + columns, arguments_in + arguments
    return [group for group in groups if len(group) > 1]


def one_row(row_type: Any) -> bool:
    """Return True for the rows of a read that returns at most one (db/fastread.py keep)."""
    return getattr(row_type, "_one_row", False)


# one statement merged: its SQL, arguments, columns, whether it returns at most one row, and
# for a read following another (db/sent_together.py): that one's index and its keys' column
Part = tuple[str, Sequence[Any], int, bool, tuple[int, int] | None]


def merged(statements: Sequence[Part]) -> tuple[str, list[Any]]:
    """Return one SELECT answering ``statements`` at once.

    Its one row holds, for statement k, one array per column, in the order of its rows:
    ``array_agg`` over the statement as a derived table (aggregates of one query read
    their input in one pass, so the arrays line up, and a LIMIT or ORDER BY inside is
    applied before them). Arrays of a column's type decode with that type's codec, as
    the statement alone would (anonymous records would not: their fields come in binary
    whatever codec the connection has, and are decoded slower). A statement that returns
    at most one row is joined instead, after a column saying whether it found one: no
    aggregate to build (a lookup by id and the credential read, about a fifth less of
    PostgreSQL's CPU; bench/RESULTS.md). Placeholders are renumbered after the statements
    before them. A statement that others follow is a materialized CTE, run once: its rows
    and the keys the others take from them are the same rows; one of one row at most is
    joined before them, which take its key from its columns.
    """
    texts = tuple((sql, single, after) for sql, _, _, single, after in statements)
    sql = _merged.get(texts)
    if sql is None:
        sql = _merged_sql(statements)
        if len(_merged) > 2000:
            _merged.clear()
        _merged[texts] = sql
    return sql, [arg for _, args, *_ in statements for arg in args]


def _merged_sql(statements: Sequence[Part]) -> str:
    """Return the SQL of :func:`merged` (made once per texts)."""
    # several rows: a CTE; one at most: joined before its followers (no CTE and subqueries
    # to scan it: a detail page's statement 0.147 -> 0.126 ms, bench/RESULTS.md)
    followed = {after[0] for *_, after in statements if after and not statements[after[0]][3]}
    parts, ctes, offset = [], [], 0
    for k, (text, args, columns, single, after) in enumerate(statements):
        if after is not None:
            text = _keyed_text(text, after, statements[after[0]][3])
        if offset:
            text = PLACEHOLDER.sub(_shifted(offset), text)
        names = ", ".join(f"_c{i}" for i in range(columns))
        if k in followed:
            ctes.append(f"_l{k}({names}) AS MATERIALIZED ({text})")
            source = f"_l{k} AS _s"
        else:
            source = f"({text}) AS _s({names})"
        if single:
            shown = f"true AS _p{k}, _s.*"
        else:
            shown = ", ".join(f"array_agg(_c{i}) AS _a{k}_{i}" for i in range(columns))
        parts.append(f"(SELECT {shown} FROM {source}) AS _m{k}")
        offset += len(args)
    sql = "WITH " + ", ".join(ctes) + " " if ctes else ""
    if any(single for _, _, _, single, _ in statements):  # all joined to one row, in order
        return (
            sql
            + "SELECT * FROM (SELECT) AS _one"
            + "".join(f" LEFT JOIN LATERAL {part} ON true" for part in parts)
        )
    return sql + "SELECT * FROM " + ", ".join(parts)


def unmerged(record: Sequence[Any], statements: Sequence[Part]) -> list[Iterable[tuple[Any, ...]]]:
    """Return the rows of each statement from the one record of their :func:`merged` SQL.

    Each as an iterator: :func:`rows_of` makes the rows from it (zip reuses its tuple).
    """
    answers: list[Iterable[tuple[Any, ...]]] = []
    start = 0
    for _, _, columns, single, _ in statements:
        if single:  # found or not, then its columns
            found = record[start]
            answers.append(
                [] if found is None else [tuple(record[start + 1 : start + 1 + columns])]
            )
            start += 1 + columns
            continue
        arrays = record[start : start + columns]
        start += columns
        # no row: array_agg of nothing is NULL
        answers.append([] if arrays[0] is None else zip(*arrays))  # noqa: B905
    return answers


def _keyed_text(text: str, after: tuple[int, int], single: bool) -> str:
    """Return a follower's ``text`` taking its keys from column ``after[1]`` of statement
    ``after[0]``'s rows (``single``: one row at most, joined before it)."""
    # one row: an equality, planned as a lookup by key, where against an array PostgreSQL
    # plans ten keys and may scan the business's index (a member: 0.36 -> 0.22 ms). Rows:
    # set membership, where a repeated or null key changes nothing: no DISTINCT to hash (a
    # list page's references: 0.74 -> 0.66 ms). A LATERAL over the keys takes each row's
    # too (a teams page's expense pages: 0.290 -> 0.270 ms); a key held twice is read
    # twice, and db/sent_together.py answered drops them. A subquery, not unnest(ARRAY()),
    # counted as ten rows whatever the CTE holds: 15 connections of 20 planned a teams page
    # with its expense pages anew at every run; now none (all in bench/RESULTS.md)
    key, cte = f"_c{after[1]}", f"_l{after[0]}"
    if single:
        key = f"_m{after[0]}.{key}"
        text, present = _ANY_KEYS.sub(f"= {key}", text), f"SELECT {key} WHERE {key} IS NOT NULL"
    else:
        text = _ANY_KEYS.sub(f"= ANY (ARRAY(SELECT {key} FROM {cte}))", text)
        present = f"SELECT {key} FROM {cte} WHERE {key} IS NOT NULL"
    text = UNNEST_KEYS.sub(f"({present})", text)
    return _KEYS.sub(f"ARRAY({present.replace('SELECT', 'SELECT DISTINCT', 1)})", text)


def _shifted(offset: int) -> Callable[["re.Match[str]"], str]:
    """Return a replacement for :data:`PLACEHOLDER` adding ``offset`` to each number."""
    return lambda match: f"${int(match.group(1)) + offset}"


def rows_of(records: Iterable[Any], row_type: Any) -> list[Any]:
    """Return asyncpg records (or tuples of a merged read) as rows with attribute access."""
    make = row_type._new
    processors = row_type._processors
    if not processors:
        return list(map(make, records))
    rows = []
    for record in records:
        values = list(record)
        for i, processor in processors:
            values[i] = processor(values[i])
        rows.append(make(values))
    return rows


class _Plan(NamedTuple):
    """How :func:`fetch` sends a turn's reads: the groups merged, the reads sent alone."""

    # each group: its reads' indices, its SQL, and its parts (their arguments left out:
    # :func:`unmerged` needs only their columns)
    groups: list[tuple[list[int], str, list[Part]]]
    alone: list[int]


# plans by the reads' SQL, row types and followers: a level of a served document sends the
# same reads at every request, and working out how is most of fetch's Python
_plans: dict[tuple[Any, ...], _Plan] = {}
MAX_PLANS = 2000


async def fetch(
    driver: Any, reads: Sequence[Read], after: After | None = None
) -> tuple[list[Sequence[Any]], int]:
    """Return the rows of each (sql, arguments, row type) read on asyncpg ``driver``, and
    how many statements carried them.

    Reads go together where they can (:func:`merge_groups`): one round trip a group.
    ``after`` holds the reads following another (:data:`After`); each goes in the group of the
    read it follows.
    """
    if len(reads) == 1:  # most turns of a request (a lone lookup)
        sql, args, row_type = reads[0]
        return [rows_of(await driver.fetch(sql, *args), row_type)], 1
    after = after or {}
    shape = (*[(sql, row_type) for sql, _, row_type in reads], *after.items())
    plan = _plans.get(shape)
    if plan is None:
        if len(_plans) >= MAX_PLANS:
            _plans.clear()
        plan = _plans[shape] = _planned(reads, after)
    found: list[Any] = [None] * len(reads)
    for indices, sql, parts in plan.groups:
        records = await driver.fetch(sql, *[arg for k in indices for arg in reads[k][1]])
        if len(records) != 1:  # a read kept as one_row returned more: no row dropped
            raise RuntimeError(f"reads merged as one_row gave {len(records)} rows, not one")
        for k, rows in zip(indices, unmerged(records[0], parts), strict=True):
            found[k] = rows
    for k in plan.alone:
        sql, args, _ = reads[k]
        found[k] = await driver.fetch(sql, *args)
    answers: list[Sequence[Any]] = [
        rows_of(rows, read[2]) for rows, read in zip(found, reads, strict=True)
    ]
    return answers, len(plan.groups) + len(plan.alone)


def _planned(reads: Sequence[Read], after: After) -> _Plan:
    """Return how :func:`fetch` sends ``reads`` (made once per shape of a turn)."""
    sizes = {k: (width(t), len(a)) for k, (_, a, t) in enumerate(reads) if k not in after}
    groups = merge_groups(sizes)  # each: {read's index: its columns}, two or more
    for k, (parent, _, _) in after.items():  # both can merge (db/sent_together.py take)
        group = next((g for g in groups if parent in g), None)
        if group is None:  # alone until now
            group = {parent: cast(int, sizes[parent][0])}
            groups.append(group)
        group[k] = cast(int, width(reads[k][2]))
    plan = _Plan([], [k for k in range(len(reads)) if not any(k in g for g in groups)])
    for group in groups:
        at = {k: i for i, k in enumerate(group)}
        parts: list[Part] = []
        for k, columns in group.items():
            if k in after:  # a follower: its keys from its parent's rows, in this group
                parent, column, single = after[k]
                parts.append((*reads[k][:2], columns, single, (at[parent], column)))
            else:
                parts.append((*reads[k][:2], columns, one_row(reads[k][2]), None))
        sql, _ = merged(parts)
        plan.groups.append((list(group), sql, [(t, (), c, s, a) for t, _, c, s, a in parts]))
    return plan
