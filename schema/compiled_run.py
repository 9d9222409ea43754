"""Running compiled plans, and the execution context that chooses between the two paths."""

import inspect
import logging
from collections import Counter
from collections.abc import Awaitable, Iterable, Iterator
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.arguments import convert_arguments
from strawberry.types.info import Info

from schema.compiled import (
    BACKREF,
    FieldPlan,
    abstract_groups,
    compile_operation,
    leaf_values,
)
from schema.gather import gather

log = logging.getLogger("expensegraph.compiled")

# per schema (a plan holds that schema's field definitions): query text and operation
# name -> plan, or None when not compilable; cleared when it reaches PLAN_CACHE_SIZE
PLAN_CACHE_SIZE = 1000
_plans: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str | None], list[FieldPlan] | None]] = (
    WeakKeyDictionary()
)
# how operations ran in this process: "compiled", "fallback" (compiled, then re-run by
# graphql-core after an error) or "standard" (not compilable); read by the tests
RUNS: Counter[str] = Counter()


class NullInNonNull(Exception):
    """A non-null field resolved to null: graphql-core will say where."""


class PlanRun:
    """One execution of a compiled plan, a level at a time."""

    def __init__(self, executor: StrawberryGraphQLCoreExecutionContext) -> None:
        self.executor = executor
        self.infos: dict[int, GraphQLResolveInfo] = {}
        self.objects_made = 0  # response objects, the root included

    def strawberry_info(self, plan: FieldPlan) -> Info[Any, Any]:
        """Return the strawberry Info a field method of ``plan`` receives."""
        assert plan.field_def is not None
        return Info(_raw_info=self.info(plan), _field=plan.field_def.extensions[BACKREF])

    def info(self, plan: FieldPlan) -> GraphQLResolveInfo:
        """Return the resolve info of ``plan`` (one per field of the document, not per object)."""
        info = self.infos.get(id(plan))
        if info is None:
            assert plan.field_def is not None
            path = Path(None, plan.key, plan.parent_type.name)
            info = self.executor.build_resolve_info(
                plan.field_def, plan.nodes, plan.parent_type, path
            )
            self.infos[id(plan)] = info
        return info

    async def objects(self, plans: list[FieldPlan], sources: list[Any]) -> list[dict[str, Any]]:
        """Return the response objects of ``sources``, all of one object type."""
        if not sources:
            return []
        self.objects_made += len(sources)
        columns: list[Any] = [None] * len(plans)
        later: list[tuple[int, Awaitable[list[Any]]]] = []
        try:
            for j, plan in enumerate(plans):
                column = self.field(plan, sources)
                if isinstance(column, list):
                    columns[j] = column
                else:
                    later.append((j, column))
        except BaseException:
            _close([a for _, a in later])
            raise
        if later:
            for (j, _), column in zip(later, await gather([a for _, a in later]), strict=True):
                columns[j] = column
        keys = [plan.key for plan in plans]
        return [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]

    def field(self, plan: FieldPlan, sources: list[Any]) -> list[Any] | Awaitable[list[Any]]:
        """Return the completed values of one field for all ``sources``, or an awaitable."""
        if plan.how == "typename":
            return [plan.parent_type.name] * len(sources)
        assert plan.field_def is not None
        type_ = plan.field_def.type
        if plan.how == "attr":
            name = plan.python_name
            values = [getattr(source, name) for source in sources]
            if plan.leaf:
                return self.complete_now(type_, values)
            return self.complete(plan, type_, values)
        return self.resolved(plan, type_, sources)

    def call(self, plan: FieldPlan, sources: list[Any]) -> list[Any]:
        """Return what the field's resolver gives for each source (maybe awaitables)."""
        values: list[Any] = []
        try:
            for value in self._calls(plan, sources):
                values.append(value)
        except BaseException:
            _close(values)
            raise
        return values

    def _calls(self, plan: FieldPlan, sources: list[Any]) -> Iterator[Any]:
        info = self.info(plan)
        assert plan.field_def is not None
        if plan.how == "method":
            strawberry_field = plan.field_def.extensions[BACKREF]
            resolver = strawberry_field.base_resolver
            kwargs: dict[str, Any] = {}
            if strawberry_field.arguments:  # converted once for the level, not per object
                kwargs = self._strawberry_arguments(plan, strawberry_field)
            if resolver.info_parameter:
                kwargs[resolver.info_parameter.name] = self.strawberry_info(plan)
            func = resolver.wrapped_func
            if resolver.self_parameter:
                return (func(source, **kwargs) for source in sources)
            parent = resolver.parent_parameter or resolver.root_parameter
            if parent is not None:
                return (func(**kwargs, **{parent.name: source}) for source in sources)
            return (func(**kwargs) for _ in sources)
        args = self._arguments(plan)
        resolve = plan.field_def.resolve
        assert resolve is not None
        return (resolve(source, info, **args) for source in sources)

    def _arguments(self, plan: FieldPlan) -> dict[str, Any]:
        assert plan.field_def is not None
        executor = self.executor
        return get_argument_values(
            plan.field_def,
            plan.nodes[0],
            executor.variable_values,
            hide_suggestions=executor.hide_suggestions,
        )

    def _strawberry_arguments(self, plan: FieldPlan, strawberry_field: Any) -> dict[str, Any]:
        """Return the field's arguments as its resolver takes them (inputs as dataclasses).

        Every object of the level gets the same values: resolvers must not mutate inputs.
        """
        schema = self.executor.schema._strawberry_schema  # type: ignore[attr-defined]
        return convert_arguments(
            self._arguments(plan),
            strawberry_field.arguments,
            scalar_registry=schema.schema_converter.scalar_registry,
            config=schema.config,
            info=self.strawberry_info(plan),
        )

    async def resolved(
        self, plan: FieldPlan, type_: GraphQLOutputType, sources: list[Any]
    ) -> list[Any]:
        """Return the completed values of a field with a resolver, for all ``sources``."""
        if plan.batch is not None:
            values = await plan.batch(self.strawberry_info(plan), sources)
        else:
            values = self.call(plan, sources)
        waiting = [i for i, value in enumerate(values) if _awaitable(value)]
        if waiting:
            for i, value in zip(waiting, await gather([values[i] for i in waiting]), strict=True):
                values[i] = value
        if plan.leaf:
            return self.complete_now(type_, values)
        return await self.complete(plan, type_, values)

    def complete_now(self, type_: GraphQLOutputType, values: list[Any]) -> list[Any]:
        """Return completed values of a leaf type, lists and non-null wrappers included."""
        if isinstance(type_, GraphQLNonNull):
            done = self.complete_now(type_.of_type, values)
            if None in done:
                raise NullInNonNull
            return done
        if isinstance(type_, GraphQLList):
            lists = [None if v is None else list(v) for v in values]
            items = [item for items in lists if items is not None for item in items]
            if any(_awaitable(item) for item in items):
                _close(items)
                raise NotImplementedError("a list of awaitable leaves")
            return [None if v is None else self.complete_now(type_.of_type, v) for v in lists]
        return leaf_values(values, type_)  # type: ignore[arg-type]

    async def complete(
        self, plan: FieldPlan, type_: GraphQLOutputType, values: list[Any]
    ) -> list[Any]:
        """Return completed values of a composite type: all objects of the level at once."""
        if isinstance(type_, GraphQLNonNull):
            done = await self.complete(plan, type_.of_type, values)
            if None in done:
                raise NullInNonNull
            return done
        if isinstance(type_, GraphQLList):
            flat: list[Any] = []
            bounds: list[tuple[int, int] | None] = []
            for value in values:
                if value is None:
                    bounds.append(None)
                    continue
                start = len(flat)
                flat.extend(value)
                bounds.append((start, len(flat)))
            waiting = [i for i, item in enumerate(flat) if _awaitable(item)]
            if waiting:  # a resolver may return a list of awaitables (Query.nodes does)
                for i, item in zip(waiting, await gather([flat[i] for i in waiting]), strict=True):
                    flat[i] = item
            done = await self.complete(plan, type_.of_type, flat)
            return [None if b is None else done[b[0] : b[1]] for b in bounds]
        if is_leaf_type(type_):
            return leaf_values(values, type_)  # type: ignore[arg-type]
        if isinstance(type_, GraphQLObjectType):
            return await self._objects_or_null(plan.children[type_.name], values)
        assert is_abstract_type(type_)
        return await self._abstract(plan, type_, values)

    async def _objects_or_null(self, plans: list[FieldPlan], values: list[Any]) -> list[Any]:
        present = [value for value in values if value is not None]
        done = iter(await self.objects(plans, present))
        return [None if value is None else next(done) for value in values]

    async def _abstract(self, plan: FieldPlan, type_: Any, values: list[Any]) -> list[Any]:
        info = self.info(plan)
        groups = abstract_groups(values, type_, lambda v: type_.resolve_type(v, info, type_))
        out: list[Any] = [None] * len(values)
        for name, positions in groups.items():
            plans = plan.children[name]  # KeyError: not a possible type, graphql-core says so
            done = await self.objects(plans, [values[i] for i in positions])
            for i, value in zip(positions, done, strict=True):
                out[i] = value
        return out


def _awaitable(value: Any) -> bool:
    return hasattr(value, "__await__")


def _close(values: Iterable[Any]) -> None:
    """Close coroutines that will not be awaited (no 'never awaited' warning, finally blocks run)."""
    for value in values:
        if inspect.iscoroutine(value):
            value.close()


def plan_for(executor: StrawberryGraphQLCoreExecutionContext) -> list[FieldPlan] | None:
    """Return the cached plan of the executor's operation (compiling it the first time)."""
    operation = executor.operation
    if operation.loc is None:
        return None
    name = operation.name.value if operation.name else None
    key = (operation.loc.source.body, name)
    plans = _plans.setdefault(executor.schema, {})
    if key in plans:
        return plans[key]
    if len(plans) >= PLAN_CACHE_SIZE:
        plans.clear()
    plan = compile_operation(executor.schema, operation, executor.fragment_definitions)
    plans[key] = plan
    return plan


class CompiledExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Runs compiled plans for queries; graphql-core for the rest and for every error."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        plan = plan_for(self)
        if plan is None:
            RUNS["standard"] += 1
            return super().execute_operation(serially)
        return self._run(plan, serially)

    async def _run(self, plan: list[FieldPlan], serially: bool | None) -> Any:
        run = PlanRun(self)
        try:
            data = await run.objects(plan, [self.root_value])
        except Exception as error:  # the reference path reports it as the spec says
            log.debug("compiled run fell back to graphql-core: %r", error)
            RUNS["fallback"] += 1
            result = super().execute_operation(serially)
            return await result if self.is_awaitable(result) else result
        RUNS["compiled"] += 1
        report = getattr(self.context_value, "report", None)
        if isinstance(report, dict):  # the cost extension need not walk the response
            report["response_objects"] = run.objects_made
        return self.build_response(data[0])
