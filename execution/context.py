"""Planned execution inside strawberry's path: a query's first request is fast too.

The fast lane (app/lane.py) serves a document only from its second request on, once
strawberry has validated it. Strawberry's own execution of a query operation also runs
its plan, through this execution context: strawberry parses, validates and runs its
extensions as always, then graphql-core's ``execute_operation`` is replaced by
:class:`~execution.run.Run`. An operation the planner does not handle, and a run that
meets any error, go to graphql-core's standard execution (what the run loaded is handed
over first), which reports errors, partial data and nulls as the specification wants.
"""

import logging
from typing import Any

from graphql import GraphQLSchema

from execution import compat
from execution.cache import DOCUMENT_CACHE_BYTES, BoundedCache
from execution.plan import Plan, Unsupported, plan_operation
from execution.run import Run, hand_over

log = logging.getLogger("expensegraph.execution")

# per graphql-core schema: (query text, operation name) -> its plan, or None
_plans: dict[int, BoundedCache[tuple[str, str | None], Plan | None]] = {}


def _plan_of(executor: Any) -> Plan | None:
    """Return the cached plan of the executor's operation (planning it the first time)."""
    operation = executor.operation
    if operation.loc is None:
        return None
    name = operation.name.value if operation.name else None
    key = (operation.loc.source.body, name)
    schema: GraphQLSchema = executor.schema
    plans = _plans.setdefault(id(schema), BoundedCache(DOCUMENT_CACHE_BYTES))
    if key in plans:
        return plans.get(key)
    try:
        plan: Plan | None = plan_operation(schema, None, operation, executor.fragment_definitions)
    except Unsupported:
        plan = None
    plans.put(key, plan, len(key[0]) + len(name or ""))
    return plan


class PlannedExecutionContext(compat.ExecutionContext):
    """Runs planned query operations; graphql-core's standard execution for the rest."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        plan = _plan_of(self)
        if plan is None or not plan.permits(getattr(self.context_value, "principal", None)):
            return super().execute_operation(serially)
        return self._run(plan, serially)

    async def _run(self, plan: Plan, serially: bool | None) -> Any:
        run = Run(
            compat.strawberry_schema_of(self.schema), self.context_value, self.variable_values
        )
        try:
            data = await run.objects(plan.fields, [self.root_value])
        except Exception as error:  # graphql-core reports it as the specification wants
            log.debug("planned run fell back to graphql-core: %r", error)
            hand_over(run)
            result = super().execute_operation(serially)
            return await result if self.is_awaitable(result) else result
        report = getattr(self.context_value, "report", None)
        if isinstance(report, dict):  # the cost extension need not walk the response
            report["response_objects"] = run.objects_made
        return self.build_response(data[0])
