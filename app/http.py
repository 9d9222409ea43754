"""The Starlette app: /graphql (GraphQL over HTTP), /healthz, /readyz, /metrics."""

import asyncio
import gc
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from graphql import ASTValidationRule
from opentelemetry.trace import Span
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from app import idempotency, persisted, tracing
from app.admission import Admission, ClientGone, Refused, admitted
from app.answers import (
    WWW_AUTHENTICATE,
    Answer,
    not_saved,
    request_error,
    result_answer,
    send_answer,
    transport_answer,
    unavailable,
)
from app.auth import AuthError, authenticate
from app.cors import cors_middleware
from app.cost import StaticCosts
from app.downloads import mount_receipts, receipt_files
from app.errors import ErrorCodes, is_unavailable
from app.gate import ValidationGate
from app.graphiql import graphiql_page, mount_graphiql, wants_graphiql
from app.health import healthz, readyz
from app.lane import FastLane
from app.limits import (
    Buckets,
    LeakyBuckets,
    LimitSettings,
    QueryCost,
    shape_rule,
)
from app.observability import RequestRecord, finish, metrics, observe_batch
from app.redis_buckets import RedisBuckets
from app.request_ids import REQUEST_ID_KEY, RequestIds
from app.settings import Settings
from app.subscriptions import Hub, SubscriptionView
from app.transport import (
    LEGACY_JSON,
    MAX_JSON_BODY,
    GraphQLParams,
    TransportError,
    declared_length,
    header,
    negotiate,
    parse_get,
    parse_json,
    read_body,
)
from app.uploads import MAX_MULTIPART_BYTES, check_preflight, parse_multipart
from app.validation import DocumentParseCache, DocumentValidationCache
from db.engine import RequestDb, create_engine, plain_url
from execution.context import PlannedExecutionContext
from loaders import base as loader_base
from resolvers.context import Principal, build_context
from resolvers.errors import DomainError, ErrorCode
from schema.build import build_schema
from schema.error_log import EXCEPTION_LIMIT, bounded

log = logging.getLogger("expensegraph.http")


class GraphQLEndpoint:
    """GraphQL over HTTP: read and parse the request, then admit, authenticate and execute."""

    def __init__(self, app: Starlette, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.persisted = persisted.from_settings(settings)
        self.admission = app.state.admission = Admission(settings.admission, settings.pool)
        limits = settings.limits
        # shared by the requests this process serves, or by all processes through Redis
        buckets: Buckets = (
            RedisBuckets(limits, settings.redis_url) if settings.redis_url else LeakyBuckets(limits)
        )
        costs = StaticCosts()
        self.schema = build_schema(
            [
                # classes or factories, never shared instances (SECURITY-NOTES 1)
                ErrorCodes,
                _parser_cache,
                _validation_cache,
                *_limits(limits, buckets, costs),
                *([] if settings.introspection else [DisableIntrospection]),
            ],
            execution_context_class=(
                PlannedExecutionContext if settings.planned_execution else None
            ),
        )
        self.lane = FastLane(self.schema, limits, buckets, costs) if settings.fast_lane else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if tracing.ENABLED:  # off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (app/tracing.py)
            with tracing.request_span(scope) as span:
                await self._respond(scope, receive, send, span)
            return
        await self._respond(scope, receive, send, None)

    async def _respond(self, scope: Scope, receive: Receive, send: Send, span: Span | None) -> None:
        """Answer one request; describe it on ``span`` when it is traced."""
        if self.settings.graphiql and wants_graphiql(scope):
            await graphiql_page(self.settings)(scope, receive, send)
            return
        record = RequestRecord(scope.get(REQUEST_ID_KEY) or uuid.uuid4().hex)
        db = RequestDb(self.app.state.engine)
        principal: Principal | None = None
        params: GraphQLParams | None = None
        media = LEGACY_JSON
        try:
            media = negotiate(header(scope, b"accept"))
            # the whole body, within its size and time limits, before any slot or connection
            params, content_type, body = await self._read(scope, receive)
            async with admitted(self.admission, receive) as receive:
                watch = asyncio.ensure_future(_hang_up(receive))
                try:
                    principal, result = await self._serve(
                        scope, params, content_type, body, db, record, media
                    )
                finally:
                    watch.cancel()
                if watch.done() and not watch.cancelled():
                    raise ClientGone()  # it left while its request ran: nobody to answer
        except TransportError as error:
            record.report["codes"] = [error.code.value]
            result = transport_answer(error, media)
        except Refused as error:
            log.warning("request refused request_id=%s: %s", record.request_id, error)
            record.report["codes"] = [ErrorCode.UNAVAILABLE.value]
            result = unavailable(record.request_id)
        except ClientGone:
            record.status = 499  # nginx's "client closed request": logged, nothing to send
            result = None
        except Exception as error:
            # the credential lookup, persisted queries and idempotency run outside GraphQL
            if not is_unavailable(error):
                raise
            detail = bounded(repr(error), EXCEPTION_LIMIT)
            log.warning("database unavailable request_id=%s: %s", record.request_id, detail)
            record.report["codes"] = [ErrorCode.UNAVAILABLE.value]
            result = unavailable(record.request_id)
        finally:
            await db.close()
            for upload in params.files if params is not None else ():
                await upload.close()  # spooled temp files: release the descriptor now
        try:
            if result is not None:
                await send_answer(record.capture(send), result)
        finally:
            finish(record, principal=principal, statements=db.statements)
            if span is not None:
                tracing.describe_request(span, record, principal)

    async def _read(self, scope: Scope, receive: Receive) -> tuple[GraphQLParams, str, bytes]:
        """Return the request's operation, its content type and its raw body."""
        method = scope["method"]
        if method == "GET":
            return parse_get(scope.get("query_string", b"")), "", b""
        if method != "POST":
            message = "GraphQL is served over GET (queries) and POST."
            raise TransportError(405, message, headers={"allow": "GET, POST"})
        content_type = header(scope, b"content-type") or ""
        media = content_type.partition(";")[0].strip().lower()
        if media == "application/json":
            limit = MAX_JSON_BODY
        elif media == "multipart/form-data":
            check_preflight(scope)
            limit = MAX_MULTIPART_BYTES
        else:
            message = "Send the operation as application/json (multipart/form-data for uploads)."
            raise TransportError(415, message)
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            raise TransportError(413, f"The request body is larger than {limit} bytes.")
        body = await read_body(receive, limit=limit, timeout_s=self.settings.body_timeout_s)
        if media == "application/json":
            return parse_json(body), content_type, body
        return await parse_multipart(scope, body), content_type, body

    async def _serve(
        self,
        scope: Scope,
        params: GraphQLParams,
        content_type: str,
        body: bytes,
        db: RequestDb,
        record: RequestRecord,
        media: str,
    ) -> tuple[Principal | None, Answer]:
        """Authenticate, resolve a persisted query, run the operation; return who and what."""
        try:
            principal = await authenticate(
                header(scope, b"authorization"), db=db, settings=self.settings
            )
        except AuthError as error:
            headers = {"www-authenticate": f'{WWW_AUTHENTICATE}, error="invalid_token"'}
            raise TransportError(401, str(error), ErrorCode.UNAUTHENTICATED, headers) from None
        try:
            await self._apply_persisted(params, principal)
        except DomainError as error:
            record.report["codes"] = [error.code.value]
            return principal, request_error(error.message, error.code, media)
        context = build_context(
            record.request_id,
            db,
            principal,
            batching=self.settings.loader_batching,
            files=receipt_files(Request(scope)),
            webhooks_allow_private=self.settings.webhooks_allow_private,
        )
        record.report = context.report

        async def execute() -> Answer:
            return await self._execute(scope, params, context, media)

        key = header(scope, b"idempotency-key")
        if key is None or principal is None or scope["method"] != "POST":
            return principal, await execute()
        refusal = idempotency.check_key(key)
        if refusal is not None:
            return principal, refusal
        if not idempotency.is_mutation(params):
            return principal, await execute()  # queries are idempotent anyway: key ignored
        hashed = idempotency.request_hash(params, content_type, body)
        return principal, await idempotency.run(
            execute, key=key, request_hash=hashed, db=db, principal=principal
        )

    async def _apply_persisted(self, params: GraphQLParams, principal: Principal | None) -> None:
        """Fill in the query of a persisted-query request, or remember the one it carries."""
        fields: dict[str, Any] = {"query": params.query, "extensions": params.extensions}
        await self.persisted.apply(fields, authenticated=principal is not None)
        params.query = fields["query"]

    async def _execute(
        self, scope: Scope, params: GraphQLParams, context: Any, media: str
    ) -> Answer:
        """Run the operation and return its answer."""
        if self.lane is not None:
            answer = await self.lane.answer(params, context, media)
            if answer is not None:
                return answer
        get = scope["method"] == "GET"
        allowed = {OperationType.QUERY} if get else {OperationType.QUERY, OperationType.MUTATION}
        try:
            result = await self.schema.execute(
                params.query,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=params.extensions,
            )
        except MissingQueryError:
            raise TransportError(400, "No GraphQL query found in the request.") from None
        except InvalidOperationTypeError as error:
            if get and error.operation_type is OperationType.MUTATION:
                message = "Mutations are not allowed over GET; send them with POST."
                raise TransportError(405, message, headers={"allow": "POST"}) from None
            raise TransportError(400, error.as_http_error_reason(scope["method"])) from None
        except CannotGetOperationTypeError as error:
            raise TransportError(400, error.as_http_error_reason()) from None
        db: RequestDb = context.db
        if db.writing and not db.hold_commit:  # the idempotency layer commits its own
            try:
                await db.commit()  # before the answer leaves: a client never sees unsaved data
            except Exception as error:
                return not_saved(error, result, context, media)
        elif self.lane is not None and not result.errors and params.query is not None:
            self.lane.learn(params.query, params.operation_name)
        return result_answer(result, context, media)


async def _hang_up(receive: Receive) -> None:
    """Return once the client has hung up (what arrives before that is already read)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def _limits(
    limits: LimitSettings, buckets: Buckets, costs: StaticCosts
) -> list[Callable[[], SchemaExtension]]:
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


def create_app(
    settings: Settings, database_url: str, *, engine: AsyncEngine | None = None
) -> Starlette:
    """Return the ASGI app serving ``database_url``.

    The lifespan creates and disposes the engine, unless the caller passes its own
    (tests share one engine per event loop).
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if engine is None:
            app.state.engine = create_engine(database_url, settings.pool)
        try:
            yield
        finally:
            if isinstance(app, App) and isinstance(app.graphql_ws, SubscriptionView):
                await app.graphql_ws.hub.close()  # its LISTEN connection
            if engine is None:
                await app.state.engine.dispose()

    routes = [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]
    middleware = [Middleware(RequestIds), *cors_middleware(settings.cors_origins)]
    app = App(routes=routes, middleware=middleware, lifespan=lifespan)
    loader_base.BATCH_OBSERVER = observe_batch
    if engine is not None:
        app.state.engine = engine
    mount_receipts(app, settings)
    if settings.graphiql:
        mount_graphiql(app, settings)
    endpoint = GraphQLEndpoint(app, settings)
    # every method reaches the endpoint, so that even a 405 is a GraphQL error body
    app.router.routes.append(Route("/graphql", endpoint))
    app.graphql = _wrapped(middleware, endpoint)
    app.graphql_ws = SubscriptionView(
        endpoint.schema, settings, lambda: app.state.engine, Hub(plain_url(database_url))
    )
    app.graphql_same_origin = _wrapped(middleware[:1], endpoint)  # RequestIds only
    return app


class App(Starlette):
    """Starlette, with /graphql taken straight to its endpoint through the same middleware.

    Every other path goes through Starlette's stack (its error and exception middleware
    and the router). /graphql handles its own errors (app/answers.py), so for the requests
    that make up nearly all the traffic it skips that stack and the route matching: about
    a tenth of a small query's CPU (bench/RESULTS.md).
    """

    graphql: ASGIApp | None = None
    graphql_ws: ASGIApp | None = None  # subscriptions (app/subscriptions.py)
    # the same without CORS, for requests with no Origin header (CORS only adds Vary then)
    graphql_same_origin: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == "/graphql" and self.graphql_ws:
            scope["app"] = self
            await self.graphql_ws(scope, receive, send)
            return
        if self.graphql is not None and scope["type"] == "http" and scope["path"] == "/graphql":
            scope["app"] = self
            if self.graphql_same_origin is not None and header(scope, b"origin") is None:
                await self.graphql_same_origin(scope, receive, _varying(send))
                return
            await self.graphql(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _wrapped(middleware: list[Middleware], app: ASGIApp) -> ASGIApp:
    """Return ``app`` inside ``middleware`` (the first outermost), as Starlette builds it."""
    for cls, args, kwargs in reversed(middleware):
        app = cls(app, *args, **kwargs)
    return app


def _varying(send: Send) -> Send:
    """Return ``send`` adding ``Vary: Origin``, what the CORS middleware adds without one."""

    async def varying(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            vary = [v for k, v in headers if k.lower() == b"vary"]
            headers = [(k, v) for k, v in headers if k.lower() != b"vary"]
            headers.append((b"vary", b", ".join([*vary, b"Origin"])))
            message = {**message, "headers": headers}
        await send(message)

    return varying


# set by `expensegraph serve --workers N` for the worker processes it starts
WORKER_DATABASE_URL = "EXPENSEGRAPH_WORKER_DATABASE_URL"


def app_from_env() -> Starlette:
    """Return the app of one worker process (uvicorn factory), configured from the environment."""
    from app.observability import configure_logging

    configure_logging()  # a worker is a fresh interpreter: the parent's log handler is not here
    tracing.configure_tracing()  # and neither is the parent's tracer provider
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
