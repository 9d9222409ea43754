"""Which fetches take the next level's batches along with their read (db/sent_together.py).

A fetch whose rows are those of a table (a reference, a child list, a root list's nodes)
can send the loads of the level below it with its read, if each of them declares how
(schema/fields.py ``Fetch.follow``); the plan lists them in ``FieldPlan.follows`` and the
run offers them to the fetch's read (execution/run.py).
"""

from typing import TYPE_CHECKING

from execution.columns import objects_of, walk

if TYPE_CHECKING:
    from execution.plan import FieldPlan


def plan_follows(fields: list["FieldPlan"]) -> None:
    """Give a fetch the fetches of the level below it that go with its read (``follows``).

    Only when they are every fetch of that level in the document: loaders batch what a
    level asks for together, and a level loaded partly early would split its batches (the
    grandchildren of the early part asking a round trip before those of the rest).
    """
    levels: dict[int, list[FieldPlan]] = {}  # the fetches of each level (fetches above)

    def visit(plans: list["FieldPlan"], level: int) -> None:
        for plan in plans:
            below = level
            if plan.load is not None:  # a fetch
                levels.setdefault(level, []).append(plan)
                below += 1
            for children in plan.children.values():
                visit(children, below)

    visit(fields, 0)
    primed = {table for plan in walk(fields) for table in plan.whole}
    for level, fetches in levels.items():
        below = {id(plan) for plan in levels.get(level + 1, ())}
        for plan in fetches:
            follows = _follows(plan, primed)
            if follows and {id(child) for _, child in follows} == below:
                plan.follows = follows


def _follows(plan: "FieldPlan", primed: set[str]) -> list[tuple[str, "FieldPlan"]]:
    """Return the fetches of the level below ``plan`` whose batches can go with its read,
    or none if one of them cannot.

    Not those reading rows of ``primed`` tables: a root list of the document primes their
    loaders (``Fetch.whole``), and the next level may find its rows there.
    """
    returns = plan.narrows or plan.rows
    if returns is None:
        return []
    follows = []
    for by_type in objects_of(plan, returns.pages):
        for name, plans in by_type.items():
            table = returns.table if returns.by_type is None else returns.by_type.get(name)
            for p in plans:
                if p.load is None:  # not a fetch
                    continue
                if not table or p.follow is None or (p.narrows and p.narrows.table in primed):
                    return []
                follows.append((table, p))
    return follows
