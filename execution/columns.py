"""The columns a query reads of the rows its connections return.

An expense page's rows are read whole by default: two dozen columns, seven of them
timestamps, for a selection that may show four. A connection declared as narrowing
(schema/fields.py ``Fetch.narrows``) is given the columns its selection reads, from what
each selected field declares it reads of its row (``Get.reads``, ``Fetch.reads``), and its
page statement selects only those (with the id and the ordering column, for cursors).
The rows serve both paths: the reference path's objects read their fields when asked
(schema/fields.py ``Sourced``), so the same selection reads the same columns there.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from execution.plan import FieldPlan


def page_columns(plan: "FieldPlan") -> tuple[str, ...] | None:
    """Return the columns a connection's selection reads of its rows; None for whole rows.

    Its rows are its ``nodes`` and its ``edges``' ``node``; the selection reads of them what
    their selected fields declare they read (a field that declares nothing: whole rows).
    Cursors and page info read the ordering column and the id, which a page always selects.
    """
    reads: set[str] = set()
    for part in (p for parts in plan.children.values() for p in parts):
        if part.name == "edges":
            edge_parts = (e for parts in part.children.values() for e in parts)
            nodes = [e.children for e in edge_parts if e.name == "node"]
        else:
            nodes = [part.children] if part.name == "nodes" else []
        for row_plans in (plans for by_type in nodes for plans in by_type.values()):
            for row_plan in row_plans:
                if row_plan.reads is None:
                    return None
                reads.update(row_plan.reads)
    return tuple(sorted(reads))


def narrow(plans: list["FieldPlan"]) -> None:
    """Give each narrowing field of one selection set the columns its rows need.

    Fields of the same name (aliases) get the union of theirs: their loads with the same
    arguments are then the same read, whose rows serve both on either path.
    """
    wanted: dict[str, set[str] | None] = {}
    for plan in plans:
        if plan.narrows:
            columns = page_columns(plan)
            known = wanted.setdefault(plan.name, set())
            wanted[plan.name] = None if columns is None or known is None else known | set(columns)
    for plan in plans:
        if plan.narrows and (union := wanted[plan.name]) is not None:
            plan.columns = tuple(sorted(union))
