"""The Starlette app: /graphql (authenticated), /healthz, /readyz."""

import gc
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from graphql import ASTValidationRule
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from app import idempotency, persisted
from app.admission import Admission, ClientGone, Refused, admitted
from app.auth import AuthError, authenticate
from app.cost import StaticCosts
from app.downloads import mount_receipts, with_receipt_files
from app.errors import ErrorCodes, ensure_codes, is_unavailable, unavailable_body
from app.graphiql import graphiql_page, mount_graphiql, wants_graphiql
from app.limits import (
    Buckets,
    LeakyBuckets,
    LimitSettings,
    QueryCost,
    ValidationGate,
    shape_rule,
)
from app.observability import RequestRecord, finish, metrics, observe_batch
from app.redis_buckets import RedisBuckets
from app.settings import Settings
from app.transactions import CommitWrites
from app.uploads import MultipartView
from app.validation import DocumentParseCache, DocumentValidationCache
from db.engine import RequestDb, create_engine
from db.migrate import current_revision, head_revision
from loaders import base as loader_base
from resolvers.context import Context, Principal, build_context
from resolvers.errors import ErrorCode
from schema.build import build_schema

log = logging.getLogger("expensegraph.http")
# parsed and validated documents kept per process (dashboards send the same few)
DOCUMENT_CACHE_SIZE = 1000


class GraphQLView(MultipartView):
    """Strawberry's ASGI view, taking the context our endpoint built."""

    def encode_json(self, data: object) -> bytes:
        # orjson: several times faster than json for the large pages dashboards fetch
        return orjson.dumps(data)

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        if result.errors:
            context = request.scope["state"]["context"]
            result.errors = ensure_codes(result.errors, context.request_id)
            context.report["codes"] = [(e.extensions or {}).get("code") for e in result.errors]
        return await super().process_result(request, result)

    async def get_context(self, request: Any, response: Any) -> Context:
        context: Context = request.scope["state"]["context"]
        return with_receipt_files(context, request)


class GraphQLEndpoint:
    """Authenticate, build the request context, run GraphQL, give the connection back."""

    def __init__(self, app: Starlette, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.persisted = persisted.from_settings(settings)
        self.admission = app.state.admission = Admission(settings.admission, settings.pool)
        self.view = GraphQLView(
            # classes or factories, never shared instances (SECURITY-NOTES 1)
            build_schema(
                [
                    ErrorCodes,
                    CommitWrites,
                    _parser_cache,
                    _validation_cache,
                    *_limits(settings.limits, settings.redis_url),
                    *([] if settings.introspection else [DisableIntrospection]),
                ],
                compiled=settings.compiled_execution,
            ),
            graphql_ide=None,  # app/graphiql.py serves it, from local assets
            multipart_uploads_enabled=True,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.settings.graphiql and wants_graphiql(scope):
            await graphiql_page(self.settings)(scope, receive, send)
            return
        request = Request(scope)
        record = RequestRecord(request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex)
        db = RequestDb(self.app.state.engine)
        principal = None
        sending = record.capture(send)
        try:
            # before any SQL: an admitted request finds a free pooled connection
            async with admitted(self.admission, receive) as receive:
                principal = await self._serve(request, db, record, receive, sending)
        except Refused as error:
            log.warning("request refused request_id=%s: %s", record.request_id, error)
            await _unavailable(record, scope, receive, sending)
        except ClientGone:
            record.status = 499  # nginx's "client closed request": logged, nothing to send
        except Exception as error:
            # the credential lookup, persisted queries and idempotency run outside GraphQL
            if not is_unavailable(error) or record.status:
                raise
            log.warning("database unavailable request_id=%s: %r", record.request_id, error)
            await _unavailable(record, scope, receive, sending)
        finally:
            await db.close()
            finish(record, principal=principal, statements=db.statements)

    async def _serve(
        self, request: Request, db: RequestDb, record: RequestRecord, receive: Receive, send: Send
    ) -> Principal | None:
        """Authenticate, resolve a persisted query, run the operation; return who asked."""
        scope = request.scope
        try:
            principal = await authenticate(
                request.headers.get("authorization"), db=db, settings=self.settings
            )
        except AuthError as error:
            await _error_response(str(error), ErrorCode.UNAUTHENTICATED, 401)(scope, receive, send)
            return None
        rewritten = await persisted.rewrite(
            scope, receive, self.persisted, authenticated=principal is not None
        )
        if isinstance(rewritten, Response):
            await rewritten(scope, receive, send)
            return principal
        scope, receive = rewritten
        context = build_context(
            record.request_id, db, principal, batching=self.settings.loader_batching
        )
        record.report = context.report
        scope.setdefault("state", {})["context"] = context
        key = request.headers.get("idempotency-key")
        if key is not None and principal is not None and request.method == "POST":
            await idempotency.run(
                self.view, scope, receive, send, db=db, principal=principal, key=key
            )
        else:
            await self.view(scope, receive, send)
        return principal


def _limits(limits: LimitSettings, redis_url: str | None) -> list[Callable[[], SchemaExtension]]:
    # shared by the requests this process serves, or by all processes through Redis
    buckets: Buckets = RedisBuckets(limits, redis_url) if redis_url else LeakyBuckets(limits)
    costs = StaticCosts()
    rules: list[type[ASTValidationRule]] = [shape_rule(limits)]
    return [
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: AddValidationRules(rules),
        # registered after the parser cache: a document it refuses is not kept
        lambda: ValidationGate(limits, buckets),
        lambda: QueryCost(limits, buckets, costs),
    ]


def _parser_cache() -> DocumentParseCache:
    return DocumentParseCache()


def _validation_cache() -> DocumentValidationCache:
    return DocumentValidationCache()


async def _unavailable(record: RequestRecord, scope: Scope, receive: Receive, send: Send) -> None:
    """Send the 503 UNAVAILABLE answer of a request the service cannot serve now."""
    record.report["codes"] = [ErrorCode.UNAVAILABLE.value]
    body = unavailable_body(record.request_id)
    await JSONResponse(body, status_code=503, headers={"Retry-After": "1"})(scope, receive, send)


def _error_response(message: str, code: ErrorCode, status: int) -> Response:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code.value}}]}
    return JSONResponse(body, status_code=status)


async def healthz(request: Request) -> Response:
    """Return 200 while the process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Return 200 when the database answers and its migrations are at head, else 503."""
    try:
        revision = await current_revision(request.app.state.engine)
    except Exception as error:  # any failure to reach the database means not ready
        log.warning("readiness check failed: %r", error)
        return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, 503)
    head = head_revision()
    if revision != head:
        return JSONResponse(
            {"status": "unavailable", "reason": f"migrations at {revision}, head is {head}"}, 503
        )
    return JSONResponse({"status": "ok", "revision": revision})


def create_app(
    settings: Settings, database_url: str, *, engine: AsyncEngine | None = None
) -> Starlette:
    """Return the ASGI app serving ``database_url``.

    The lifespan creates and disposes the engine, unless the caller passes its own
    (tests share one engine per event loop).
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if engine is not None:
            yield
            return
        app.state.engine = create_engine(database_url, settings.pool)
        try:
            yield
        finally:
            await app.state.engine.dispose()

    routes = [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]
    app = Starlette(routes=routes, lifespan=lifespan)
    loader_base.BATCH_OBSERVER = observe_batch
    if engine is not None:
        app.state.engine = engine
    mount_receipts(app, settings)
    if settings.graphiql:
        mount_graphiql(app, settings)
    endpoint = GraphQLEndpoint(app, settings)
    app.router.routes.append(Route("/graphql", endpoint, methods=["GET", "POST"]))
    return app


# set by `expensegraph serve --workers N` for the worker processes it starts
WORKER_DATABASE_URL = "EXPENSEGRAPH_WORKER_DATABASE_URL"


def app_from_env() -> Starlette:
    """Return the app of one worker process (uvicorn factory), configured from the environment."""
    settings = Settings.from_env()
    app = create_app(settings, os.environ.get(WORKER_DATABASE_URL) or settings.database_url or "")
    settle_gc()
    return app


# a request allocates thousands of short-lived objects, freed by reference counting
GC_YOUNG_THRESHOLD = 20_000


def settle_gc() -> None:
    """Keep the cyclic garbage collector off a serving process's request path.

    Called once the app is built: what start-up made (the schema, SQLAlchemy's caches, the
    modules) is frozen out of every later collection, and the youngest generation is
    collected every 20,000 allocations instead of 700 (what it saves: bench/RESULTS.md).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
