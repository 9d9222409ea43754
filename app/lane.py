"""The fast lane: known query documents served by execution/ instead of strawberry's path.

A query is known once the reference path (strawberry: parse, validate with every rule,
execute) has answered it without an error for a signed-in caller: then its text and
operation name are parsed once more, planned (execution/plan.py) and kept, bounded by
the bytes of their texts. A later request with the same document (sent whole, or by its
persisted-query hash, already resolved to its text here) skips strawberry's extensions
and graphql-core's executor: its variables are coerced, its static cost computed and
taken from the caller's bucket, the plan run (execution/run.py), the unused cost
refunded, and the answer built by app/answers.py as the reference path's is.

Anything the lane cannot answer as the reference path would (variables that do not
coerce, a cost over the ceiling or beyond the bucket, an error while running) goes to
the reference path, which answers it in full; the lane's debit is refunded first. Such
fallbacks are counted in ``expensegraph_fast_lane_total`` by reason and logged at WARNING.

A credential is read from the database (a member's role is the database's, never a
token's), and a query's first reads depend on that principal (who sees what). A known
query sent with a credential read moments ago runs under that reading while it stands
(app/auth.py :class:`~app.auth.LastPrincipals`: EXPENSEGRAPH_CREDENTIAL_CACHE_MS, and no
write in this process since). Otherwise it need not wait for the credential read either:
it starts under the principal the same ``Authorization`` header had last time
(:func:`speculated`), so that the credential read and the query's first level reach
PostgreSQL in the same turn and go as one statement (db/sent_together.py). Nothing the
query read is used unless that credential read gives the same principal; otherwise the
request starts again under the principal it gave.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLSchema, parse
from strawberry.types import ExecutionResult

from app.answers import Answer, result_answer
from app.cost import StaticCosts
from app.limits import Buckets, LimitSettings
from app.observability import LANE, TALLY, child
from execution import compat
from execution.cache import DOCUMENT_CACHE_BYTES, BoundedCache
from execution.plan import Plan, Unsupported, plan_document
from execution.run import Run, hand_over
from execution.values import Fallback
from resolvers.context import Principal
from schema.error_log import NAME_LIMIT, bounded

log = logging.getLogger("expensegraph.lane")


# root fields whose first read PostgreSQL plans once per connection (a generic plan, measured
# on the seeded database: by id, and the lists of the small tables of a business): a query
# made of them starts before its credential is read, and the credential read goes in the
# same statement (:func:`speculated`). The expense and receipt lists are planned at every
# run (their rows depend on the tenant's size); merged with one, the credential read would
# be planned every time too: 0.25 ms more of PostgreSQL's CPU a list page (bench/RESULTS.md)
PLANNED_ONCE = frozenset({"node", "teams", "members", "cards", "categories"})


@dataclass(frozen=True, slots=True)
class Known:
    """What the lane knows of one (query text, operation name): its plan, or why none."""

    plan: Plan | None
    reason: str = ""
    # whether a request may start before its credential is read (PLANNED_ONCE)
    speculates: bool = False
    # the operation's name as the request's log line shows it (bounded once, here)
    operation: str | None = None


class FastLane:
    """Known query documents of one schema, and the requests it serves with them."""

    def __init__(
        self,
        schema: strawberry.Schema,
        limits: LimitSettings,
        buckets: Buckets,
        costs: StaticCosts,
        max_bytes: int = DOCUMENT_CACHE_BYTES,
    ) -> None:
        self.schema = schema
        self.core: GraphQLSchema = compat.core_schema(schema)
        self.limits, self.buckets, self.costs = limits, buckets, costs
        self.known: BoundedCache[tuple[str, str | None], Known] = BoundedCache(max_bytes)

    def learn(self, query: str, operation_name: str | None) -> None:
        """Plan a document the reference path has just answered without an error."""
        key = (query, operation_name)
        if key in self.known:
            return
        try:
            plan = plan_document(self.core, parse(query), operation_name)
            roots = {field.name for field in plan.fields} - {"__typename"}
            named = plan.operation.name
            operation = operation_name or (named.value if named is not None else None)
            known = Known(
                plan,
                speculates=bool(roots) and roots <= PLANNED_ONCE,
                operation=None if operation is None else bounded(operation, NAME_LIMIT),
            )
        except Unsupported as why:
            known = Known(None, str(why))
        except GraphQLError:  # validated by the reference path: only a limit it kept
            known = Known(None, "parse")
        self.known.put(key, known, len(query) + len(operation_name or ""))

    def known_of(self, params: Any) -> Known | None:
        """Return what the lane knows of the request's query if it has a plan, else None."""
        known = self.known.get((params.query, params.operation_name))
        return known if known is not None and known.plan is not None else None

    async def answer(
        self,
        params: Any,
        context: Any,
        media: str,
        confirm: Callable[[], Awaitable[bool]] | None = None,
        known: Known | None = None,
    ) -> Answer | None:
        """Return the answer to a known query, or None for the reference path.

        ``confirm``, when given, says (once the run has read its rows) whether the context's
        principal is the request's (:func:`speculated`): if not, None, and nothing was kept.
        ``known``: what :meth:`known_of` returned for the request, when the caller asked.
        """
        principal = context.principal
        if principal is None or params.query is None:
            return None
        if known is None:
            known = self.known.get((params.query, params.operation_name))
        if known is None:
            return None
        if known.plan is None:
            child(LANE, "reference", known.reason).inc()
            return None
        plan = known.plan
        if not plan.permits(principal):
            self._fallback("permission", context)
            return None
        inputs = params.variables or {}
        variables = compat.variable_values(self.core, plan.operation, inputs)
        if isinstance(variables, list):
            self._fallback("variables", context)
            return None
        requested = self.costs.cost(
            self.core, params.query, plan.document, params.operation_name, inputs
        )
        if requested > self.limits.max_cost:
            self._fallback("cost", context)
            return None
        key = principal.label
        if await self.buckets.take(key, requested) is not None:
            self._fallback("rate", context)
            return None
        run = Run(self.schema, context, variables, written_by_orjson=True)
        failed: Exception | None = None
        try:
            data = await run.objects(plan.fields, [None])
        except Exception as error:
            failed = error
        if confirm is not None and not await self._confirmed(confirm, key, requested):
            return None  # not the principal the run assumed: the caller starts again
        if failed is not None:  # the reference path answers in full
            hand_over(run)
            await self.buckets.refund(key, requested)
            self._fallback(_reason(failed), context, failed)
            return None
        actual = max(run.objects_made - 1, 0)
        await self.buckets.refund(key, requested - actual)
        report = context.report
        report["operation"] = known.operation
        report["cost"], report["actual_cost"] = requested, actual
        TALLY.inc(child(LANE, "lane", ""))
        extensions = {"cost": await self._cost(key, requested, actual)}
        return result_answer(
            ExecutionResult(data=data[0], errors=None, extensions=extensions), context, media
        )

    async def _confirmed(
        self, confirm: Callable[[], Awaitable[bool]], key: str, requested: int
    ) -> bool:
        """Return ``confirm()``; when it is False (or raises), the run's debit is refunded."""
        same = False
        try:
            same = await confirm()
        finally:
            if not same:
                await self.buckets.refund(key, requested)
        return same

    async def _cost(self, key: str, requested: int, actual: int) -> dict[str, Any]:
        """Return ``extensions.cost``, as app/limits.py QueryCost reports it."""
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self.limits.bucket_size,
                "currentlyAvailable": int(await self.buckets.available(key)),
                "restoreRate": self.limits.restore_rate,
            },
        }

    def _fallback(self, reason: str, context: Any, error: Exception | None = None) -> None:
        child(LANE, "fallback", reason).inc()
        detail = "" if error is None else f": {bounded(repr(error), 300)}"
        log.warning("fast lane fell back (%s) request_id=%s%s", reason, context.request_id, detail)


def _reason(error: Exception) -> str:
    """Return a bounded metric label for why a run stopped."""
    if isinstance(error, Fallback):
        return "null" if "null" in error.reason else "value"
    code = (getattr(error, "extensions", None) or {}).get("code") or getattr(error, "code", None)
    return f"error:{getattr(code, 'value', code)}" if code else f"error:{type(error).__name__}"


async def speculated(
    lane: FastLane,
    params: Any,
    media: str,
    authenticating: Coroutine[Any, Any, Principal | None],
    guess: Principal,
    context_of: Callable[[Principal], Any],
) -> tuple[Principal | None, Any, Answer | None]:
    """Run a known query under ``guess`` while ``authenticating`` reads the credential again.

    Return the principal read, and when it is ``guess``: the query's context and the lane's
    answer (None: the lane fell back, the reference path answers under that context). When
    it is not, the context and answer are None: the caller starts again under the one read.
    """
    # the credential read joins the query's first reads in the read queue (db/sent_together.py)
    reading = asyncio.ensure_future(authenticating)
    try:
        context = context_of(guess)
        answer = await lane.answer(params, context, media, confirm=partial(_same, reading, guess))
        principal = await reading  # read already, unless the lane stopped before its run
    finally:
        if not reading.done():
            reading.cancel()  # the lane raised: nobody will look at the credential
        elif not reading.cancelled():
            reading.exception()  # looked at: asyncio would log it as never retrieved
    if principal != guess:
        return principal, None, None
    return principal, context, answer


async def _same(reading: "asyncio.Future[Principal | None]", guess: Principal) -> bool:
    return await reading == guess
