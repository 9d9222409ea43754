"""The columns a query document reads of the rows its narrowing fields return.

An expense page's rows are read whole by default: two dozen columns, seven of them
timestamps, for a selection that may show four. A field declared as narrowing
(schema/fields.py ``Fetch.narrows``: a reference, an expense's receipts, an expense page)
is given the columns its document reads of its table, from what each selected field
declares it reads of its row (``Get.reads``, ``Fetch.reads``), and its statement selects
only those (with the id, and a page's ordering column when its cursors are read); a page
reads the row past its end, which tells whether more follow, only for its page info.
The rows serve both paths: the reference path's objects read their fields when asked
(schema/fields.py ``Sourced``), so the same selection reads the same columns there.
"""

from collections.abc import Iterator
from typing import TYPE_CHECKING

from db.sql import CURSORS, PAGE_INFO, Columns

if TYPE_CHECKING:
    from execution.plan import FieldPlan


def read_columns(plan: "FieldPlan") -> Columns:
    """Return the columns a narrowing field's selection reads of its rows; None: whole rows.

    The rows of a reference (or a list of rows) are its objects; a connection's are its
    ``nodes`` and its ``edges``' ``node``. The selection reads of them what their selected
    fields declare they read (a field that declares nothing: whole rows). A page's cursors
    read its ordering column and the id, its page info a row past its end: :func:`narrow`
    asks for them (:data:`CURSORS`, :data:`PAGE_INFO`).
    """
    objects = objects_of(plan, plan.narrows is not None and plan.narrows.pages)
    return _reads([p for by_type in objects for plans in by_type.values() for p in plans])


def objects_of(plan: "FieldPlan", pages: bool) -> list[dict[str, list["FieldPlan"]]]:
    """Return the selections of the objects of ``plan``'s values ({type name: field plans}):
    its own, or with ``pages``, its connection's ``nodes``' and ``edges``' ``node``'s."""
    if not pages:
        return [plan.children]
    parts = [part for parts in plan.children.values() for part in parts]
    edges = [
        e for part in parts if part.name == "edges" for es in part.children.values() for e in es
    ]
    objects = [p.children for p in parts if p.name == "nodes"]
    return objects + [e.children for e in edges if e.name == "node"]


def narrow(fields: list["FieldPlan"]) -> None:
    """Give each narrowing field of a document the columns the document reads of its table.

    One set per table, the union of what every narrowing field of that table reads (None
    when one of them, or a field reading the table's rows another way, reads whole rows):
    the reads of a table then share one loader and one batch, as on the reference path,
    and a list page's rows serve the references to them. A field narrowing by concrete
    type (``node``) is given a set per type, its table's.
    """
    plans = list(walk(fields))
    narrowing = [plan for plan in plans if plan.narrows is not None]
    wanted: dict[str, set[str] | None] = {t: None for plan in plans for t in plan.whole}
    for plan in narrowing:
        for table, columns in _targets(plan).values():
            known = wanted.setdefault(table, set())
            wanted[table] = None if columns is None or known is None else known | set(columns)
    for plan in narrowing:
        unions = {name: wanted[table] for name, (table, _) in _targets(plan).items()}
        chosen = {name: None if u is None else tuple(sorted(u)) for name, u in unions.items()}
        assert plan.narrows is not None
        if plan.narrows.by_type is not None:
            plan.columns = chosen
            continue
        columns = chosen[""]
        if columns is not None and plan.narrows.pages:  # this page's own markers: the
            columns = (*columns, *page_markers(plan))  # table's other reads need none
        plan.columns = columns


def page_markers(plan: "FieldPlan") -> tuple[str, ...]:
    """Return what a connection's selection reads beyond its rows' columns: cursors for its
    edges and its page info (schema/base.py ``edges_of``, ``page_info_of``), whatever is
    selected of them, and the row past its end for its page info; its nodes and count
    need neither."""
    names = {part.name for parts in plan.children.values() for part in parts}
    cursors = (CURSORS,) if names & {"edges", "pageInfo"} else ()
    return (*cursors, PAGE_INFO) if "pageInfo" in names else cursors


def _targets(plan: "FieldPlan") -> dict[str, tuple[str, Columns]]:
    """Return the tables a narrowing field reads and what of each, by type name ("": one)."""
    assert plan.narrows is not None
    if plan.narrows.by_type is None:
        return {"": (plan.narrows.table, read_columns(plan))}
    tables = plan.narrows.by_type
    return {n: (tables[n], _reads(plans)) for n, plans in plan.children.items() if n in tables}


def _reads(plans: list["FieldPlan"]) -> Columns:
    """Return what ``plans`` (one object type's selection) read of its row; None: whole."""
    reads: set[str] = set()
    for plan in plans:
        if plan.reads is None:
            return None
        reads.update(plan.reads)
    return tuple(sorted(reads))


def walk(plans: list["FieldPlan"]) -> Iterator["FieldPlan"]:
    """Yield ``plans`` and every plan below them."""
    for plan in plans:
        yield plan
        for children in plan.children.values():
            yield from walk(children)
