"""Running a plan for one request, a level at a time.

Each field is computed for every object of its level together: a ``read`` is one loop
over the sources, a ``fetch`` one call of its load with all of them (the loads of one
level are awaited together by :func:`execution.gather.gather`, so DataLoaders batch and
cache exactly as on the reference path), and lists are flattened so that the next level
again sees all its objects at once. Responses are built as dicts; no strawberry object
and no resolve info is made.

Any error (a load raising, a null in a non-null field, a value of a type the plan does
not know) ends the run with :class:`Fallback`: the caller hands the request to the
reference path, which reports errors, partial data and nulls as the specification wants.
Only queries are planned, so nothing was written; what the loads read stays in the
request's DataLoader caches for the reference path to reuse.
"""

from itertools import accumulate, chain, pairwise
from typing import Any

import strawberry
from graphql.execution.values import VariableValues, get_argument_values

from execution import compat
from execution.gather import gather
from execution.plan import FieldPlan
from execution.values import Fallback, Level, Shape, level_of
from schema.fields import Typed, loaded_key

_MISSING: Any = object()


class Run:
    """One execution of a plan: the request's context and variables, objects made so far."""

    def __init__(
        self,
        schema: strawberry.Schema,
        context: Any,
        variables: VariableValues,
        *,
        written_by_orjson: bool = False,
    ) -> None:
        self.schema = schema
        self.context = context
        self.variables = variables
        # the response goes to orjson as it is (the lane's): dates and instants may stay
        # objects (values.written_as_is); other callers get the serialised strings
        self.written_by_orjson = written_by_orjson
        # what the lane's run loaded, when this run follows it (Context.loaded)
        self.loaded: dict[Any, Any] | None = getattr(context, "loaded", None)
        self.objects_made = 0  # response objects, the root included: the actual cost
        # set by the first error: no load starts after it (the reference path takes over)
        self.failed = False
        # (load, sources, arguments, values) of every fetch that completed
        self.fetches: list[tuple[Any, list[Any], dict[str, Any], list[Any]]] = []

    async def objects(self, plans: list[FieldPlan], sources: list[Any]) -> list[dict[str, Any]]:
        """Return the response objects of ``sources`` for the selection ``plans`` (the root's)."""
        return await self.objects_of(level_of(plans), sources)

    async def objects_of(self, level: Level, sources: list[Any]) -> list[dict[str, Any]]:
        """Return the response objects of ``sources``, all of one object type."""
        if not sources:
            return []
        if self.failed:
            raise Fallback("stopped")
        columns = self.filled(level, sources)
        if level.later:  # loads, and object fields: awaited after every leaf is made
            later = [
                self.fetched(plan, shape, sources)
                if read is None
                else self.complete(shape, list(map(read, sources)))
                for _, plan, read, shape in level.later
            ]
            # one load or object field: no gather to share the turn with
            done = [await later[0]] if len(later) == 1 else await gather(later)
            for (j, *_), column in zip(level.later, done, strict=True):
                columns[j] = column
        # every column holds one value per source (made so above): no strict check
        return list(map(level.make, *columns))

    def filled(self, level: Level, sources: list[Any]) -> list[Any]:
        """Return the columns of ``level`` for ``sources``, all but its ``later`` fields."""
        self.objects_made += len(sources)
        columns: list[Any] = [None] * level.width
        for j, name in level.typenames:
            columns[j] = [name] * len(sources)
        for j, many, non_null in level.columns:  # serialised by the declaration, all at once
            columns[j] = values = many(sources)
            if non_null and None in values:
                raise Fallback("null in a non-null field")
        for j, read, column, as_is in level.leaves:
            values = list(map(read, sources))  # C loops over attrgetters
            if as_is is not None and self.written_by_orjson and as_is(values):
                columns[j] = values  # dates and instants: orjson writes them alike
            else:
                columns[j] = column(values)
        for j, read, inner, non_null in level.inline:
            columns[j] = self.inlined(inner, list(map(read, sources)), non_null)
        return columns

    def inlined(self, level: Level, values: list[Any], non_null: bool) -> list[Any]:
        """Return the response objects of a plain object field of leaves (Money), made at once."""
        present = [value for value in values if value is not None]
        if non_null and len(present) < len(values):
            raise Fallback("null in a non-null field")
        objects = list(map(level.make, *self.filled(level, present))) if present else []
        # most columns hold no null: their objects are in place already
        return objects if len(objects) == len(values) else _in_place_of(values, objects)

    async def fetched(self, plan: FieldPlan, shape: Shape, sources: list[Any]) -> list[Any]:
        """Return the completed values of a ``Fetch`` field for all ``sources``."""
        assert plan.load is not None
        if self.failed:
            raise Fallback("stopped")
        try:
            arguments = self.arguments(plan) if plan.field_def is not None else {}
            # loaded already when the lane's run handed the request over
            values = self.handed_over(plan, sources, arguments) if self.loaded else None
            if values is None:
                # only the columns the document reads of the rows (execution/columns.py)
                narrowed = {} if plan.columns is None else {"columns": plan.columns}
                follows = self.following(plan) if plan.follows else None
                # the load's first read (or loader batch) takes them, in this step
                self.context.db.follows.offer(follows)
                try:
                    values = await plan.load(self.context, sources, **narrowed, **arguments)
                finally:
                    if follows:
                        self.context.db.follows.withdraw(follows)
        except BaseException:
            self.failed = True
            raise
        self.fetches.append((plan.load, sources, arguments, values))
        if shape.column is not None:
            return shape.column(values)
        return await self.complete(shape, values)

    def following(self, plan: FieldPlan) -> list[Any]:
        """Return the batches of the level below ``plan`` that can go with its read
        (db/sent_together.py): the next level then finds them loaded."""
        made = []
        for table, child in plan.follows:
            narrowed = {} if child.columns is None else {"columns": child.columns}
            arguments = self.arguments(child) if child.field_def is not None else {}
            follows = child.follow(self.context, table, **narrowed, **arguments)  # type: ignore[misc]
            if follows is None:  # all or none: the level's batches go together
                return []
            made.append(follows)
        return made

    def handed_over(
        self, plan: FieldPlan, sources: list[Any], arguments: dict[str, Any]
    ) -> list[Any] | None:
        """Return the values the lane's run loaded for all ``sources``, or None.

        After the lane hands a request over, the reference path runs the plan again:
        what the lane read (a root list has no DataLoader to remember it) is not read twice.
        """
        loaded = self.loaded
        assert loaded is not None
        key = loaded_key(arguments)
        values = [loaded.get((plan.load, id(source), key), _MISSING) for source in sources]
        return None if any(value is _MISSING for value in values) else values

    def arguments(self, plan: FieldPlan) -> dict[str, Any]:
        """Return the field's arguments as its load takes them."""
        if plan.arguments is not None:
            return plan.arguments
        assert plan.field_def is not None and plan.node is not None
        values = get_argument_values(plan.field_def, plan.node, self.variables)
        declared = compat.strawberry_field(plan.field_def)
        assert declared is not None
        arguments = compat.resolver_arguments(self.schema, declared, values)
        if plan.constant_arguments:
            plan.arguments = arguments
        return arguments

    async def complete(self, shape: Shape, values: list[Any]) -> list[Any]:
        """Return completed values of an object, interface or list type, the level at once."""
        if shape.item is not None:
            lists = [value for value in values if value is not None]
            # sizes before any list is read: one without a size falls back, unread
            ends = list(accumulate(map(len, lists)))
            # the items of every list at once, flattened and cut back in C loops
            items = await self.complete(shape.item, list(chain(*lists)))
            done = [items[start:end] for start, end in pairwise([0, *ends])]
            if len(done) < len(values):
                done = _in_place_of(values, done)
        elif shape.level is not None:
            done = await self.made(shape.level, values)
        else:
            assert shape.levels is not None
            done = await self.abstract(shape.levels, values)
        if shape.non_null and None in done:
            raise Fallback("null in a non-null field")
        return done

    async def made(self, level: Level, values: list[Any]) -> list[Any]:
        """Return the response objects of ``values`` (sources or None) of one object type."""
        present = [value for value in values if value is not None]
        if level.leaves_only:
            # scalars only: one response object per distinct source, shared where it
            # repeats (fifty expenses name a few members); each occurrence still counts
            by_id = dict(zip(map(id, present), present, strict=True))
            if len(by_id) < len(present):
                objects = await self.objects_of(level, list(by_id.values()))
                self.objects_made += len(present) - len(by_id)
                made = dict(zip(by_id, objects, strict=True))
                return list(map(made.get, map(id, values)))  # None's id is not among them
        objects = await self.objects_of(level, present)
        # most levels hold no null: their objects are in place already
        return objects if len(present) == len(values) else _in_place_of(values, objects)

    async def abstract(self, levels: dict[str, Level], values: list[Any]) -> list[Any]:
        """Return completed values of an interface: each names its concrete type."""
        groups: dict[str, list[int]] = {}
        for i, value in enumerate(values):
            if value is None:
                continue
            if not isinstance(value, Typed) or value.type_name not in levels:
                raise Fallback(f"cannot tell the type of {type(value).__name__}")
            groups.setdefault(value.type_name, []).append(i)
        out: list[Any] = [None] * len(values)
        for name, positions in groups.items():
            done = await self.objects_of(levels[name], [values[i].source for i in positions])
            for i, value in zip(positions, done, strict=True):
                out[i] = value
        return out


def _in_place_of(values: list[Any], objects: list[Any]) -> list[Any]:
    """Return ``objects`` (one per value that is not None) where their values were, None
    where a value was None."""
    made = iter(objects)
    return [None if value is None else next(made) for value in values]


def hand_over(run: Run) -> None:
    """Leave what the run loaded in its context for the reference path (``Context.loaded``)."""
    loaded = run.context.loaded
    for load, sources, arguments, values in run.fetches:
        key = loaded_key(arguments)
        for source, value in zip(sources, values, strict=True):
            loaded[(load, id(source), key)] = value
