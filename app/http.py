"""The Starlette app: /graphql (GraphQL over HTTP), /healthz, /readyz, /metrics."""

import asyncio
import gc
import logging
import math
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from graphql import ASTValidationRule, GraphQLError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
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
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app import idempotency, persisted
from app.admission import Admission, ClientGone, Refused, admitted
from app.auth import AuthError, authenticate
from app.cors import cors_middleware
from app.cost import StaticCosts
from app.downloads import mount_receipts, with_receipt_files
from app.errors import ErrorCodes, ensure_codes, is_unavailable, unavailable_body
from app.graphiql import graphiql_page, mount_graphiql, wants_graphiql
from app.idempotency import Answer, answer
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
from app.transport import (
    GRAPHQL_RESPONSE_JSON,
    LEGACY_JSON,
    MAX_JSON_BODY,
    GraphQLParams,
    TransportError,
    declared_length,
    error_body,
    header,
    negotiate,
    parse_get,
    parse_json,
    read_body,
)
from app.uploads import MAX_MULTIPART_BYTES, check_preflight, parse_multipart
from app.validation import DocumentParseCache, DocumentValidationCache
from db.engine import ConnectionLost, RequestDb, create_engine
from db.migrate import current_revision, head_revision
from loaders import base as loader_base
from resolvers.context import Principal, build_context
from resolvers.errors import DomainError, ErrorCode
from schema.build import build_schema
from schema.error_log import EXCEPTION_LIMIT, bounded

log = logging.getLogger("expensegraph.http")
# application/graphql-response+json: a request that fails before execution gets a 4xx/5xx
REQUEST_ERROR_STATUS = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.UNAVAILABLE: 503,
}
# application/json (legacy clients): 200 for every well-formed request, except these
LEGACY_REQUEST_ERROR_STATUS = {ErrorCode.UNAUTHENTICATED: 401, ErrorCode.UNAVAILABLE: 503}
WWW_AUTHENTICATE = 'Bearer realm="expensegraph"'
# the request id a client may choose: short and plain, as it goes into logs and headers
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
REQUEST_ID_KEY = "expensegraph.request_id"


class RequestIds:
    """Give every request an id (the client's X-Request-Id if plain, else a new one); echo it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = header(scope, b"x-request-id")
        request_id = given if given and _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope[REQUEST_ID_KEY] = request_id

        async def echoing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, echoing)


class GraphQLEndpoint:
    """GraphQL over HTTP: read and parse the request, then admit, authenticate and execute."""

    def __init__(self, app: Starlette, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.persisted = persisted.from_settings(settings)
        self.admission = app.state.admission = Admission(settings.admission, settings.pool)
        self.schema = build_schema(
            [
                # classes or factories, never shared instances (SECURITY-NOTES 1)
                ErrorCodes,
                _parser_cache,
                _validation_cache,
                *_limits(settings.limits, settings.redis_url),
                *([] if settings.introspection else [DisableIntrospection]),
            ],
            compiled=settings.compiled_execution,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
            result = _transport_answer(error, media)
        except Refused as error:
            log.warning("request refused request_id=%s: %s", record.request_id, error)
            result = _unavailable(record)
        except ClientGone:
            record.status = 499  # nginx's "client closed request": logged, nothing to send
            result = None
        except Exception as error:
            # the credential lookup, persisted queries and idempotency run outside GraphQL
            if not is_unavailable(error):
                raise
            detail = bounded(repr(error), EXCEPTION_LIMIT)
            log.warning("database unavailable request_id=%s: %s", record.request_id, detail)
            result = _unavailable(record)
        finally:
            await db.close()
            for upload in params.files if params is not None else ():
                await upload.close()  # spooled temp files: release the descriptor now
        try:
            if result is not None:
                await _send(record.capture(send), result)
        finally:
            finish(record, principal=principal, statements=db.statements)

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
            return principal, _request_error(error.message, error.code, media)
        context = build_context(
            record.request_id, db, principal, batching=self.settings.loader_batching
        )
        context = with_receipt_files(context, Request(scope))
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
                return _not_saved(error, result, context, media)
        return _result_answer(result, context, media)


def _not_saved(error: Exception, result: ExecutionResult, context: Any, media: str) -> Answer:
    """Return the answer to a request whose writes could not be committed."""
    unavailable = ErrorCode.UNAVAILABLE.value
    if any((e.extensions or {}).get("code") == unavailable for e in result.errors or []):
        # the connection broke during execution; the commit only found out
        error = ConnectionLost("the connection was lost before the commit")
    failed = GraphQLError("commit failed", path=["commit"], original_error=error)
    errors = ensure_codes([failed], context.request_id)  # UNAVAILABLE, or INTERNAL and logged
    code = _code((errors[0].extensions or {}).get("code"))
    context.report["codes"] = [code.value]
    message = "Nothing was saved. " + errors[0].message
    status = 503 if code is ErrorCode.UNAVAILABLE else 500
    headers = {"content-type": media, "retry-after": "1"} if status == 503 else {}
    return answer(status, error_body(message, code, requestId=context.request_id), headers)


def _result_answer(result: ExecutionResult, context: Any, media: str) -> Answer:
    """Return the answer to an executed operation, its status as the media type wants."""
    errors: list[GraphQLError] = ensure_codes(result.errors or [], context.request_id)
    codes = [(e.extensions or {}).get("code") for e in errors]
    if codes:
        context.report["codes"] = codes
    # no data and no error at a path: the request failed before execution
    request_error = bool(errors) and result.data is None and all(e.path is None for e in errors)
    body: dict[str, Any] = {}
    if not (request_error and media == GRAPHQL_RESPONSE_JSON):
        body["data"] = result.data
    if errors:
        body["errors"] = [e.formatted for e in errors]
    if result.extensions:
        body["extensions"] = result.extensions
    status = _status(_code(codes[0]), media) if request_error else 200
    return answer(status, body, _headers(media, status, errors))


def _code(value: object) -> ErrorCode:
    try:
        return ErrorCode(str(value))
    except ValueError:
        return ErrorCode.BAD_USER_INPUT


def _status(code: ErrorCode, media: str) -> int:
    if media == GRAPHQL_RESPONSE_JSON:
        return REQUEST_ERROR_STATUS.get(code, 400)
    return LEGACY_REQUEST_ERROR_STATUS.get(code, 200)


def _headers(media: str, status: int, errors: list[GraphQLError]) -> dict[str, str]:
    headers = {"content-type": media, "cache-control": "no-store"}
    if status == 401:
        headers["www-authenticate"] = WWW_AUTHENTICATE
    waits = [
        (e.extensions or {}).get("retryAfterSeconds")
        for e in errors
        if (e.extensions or {}).get("code") == ErrorCode.RATE_LIMITED.value
    ]
    if waits:
        headers["retry-after"] = str(max(1, math.ceil(max(w or 1 for w in waits))))
    elif any((e.extensions or {}).get("code") == ErrorCode.UNAVAILABLE.value for e in errors):
        headers["retry-after"] = "1"
    return headers


def _request_error(message: str, code: ErrorCode, media: str) -> Answer:
    """Return the answer to a request refused before execution with a GraphQL error."""
    body = error_body(message, code)
    if media != GRAPHQL_RESPONSE_JSON:
        body = {"data": None, **body}
    status = _status(code, media)
    return answer(status, body, _headers(media, status, []))


def _transport_answer(error: TransportError, media: str) -> Answer:
    body = error_body(error.message, error.code)
    headers = {"content-type": media, "cache-control": "no-store", **error.headers}
    if error.status == 401:
        headers.setdefault("www-authenticate", WWW_AUTHENTICATE)
    return answer(error.status, body, headers)


def _unavailable(record: RequestRecord) -> Answer:
    """Return the 503 UNAVAILABLE answer of a request the service cannot serve now."""
    record.report["codes"] = [ErrorCode.UNAVAILABLE.value]
    return answer(503, unavailable_body(record.request_id), {"retry-after": "1"})


async def _hang_up(receive: Receive) -> None:
    """Return once the client has hung up (what arrives before that is already read)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _send(send: Send, result: Answer) -> None:
    result.headers.setdefault("content-type", LEGACY_JSON)
    result.headers.setdefault("cache-control", "no-store")
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in result.headers.items()]
    headers.append((b"content-length", str(len(result.body)).encode()))
    await send({"type": "http.response.start", "status": result.status, "headers": headers})
    await send({"type": "http.response.body", "body": result.body})


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
    middleware = [Middleware(RequestIds), *cors_middleware(settings.cors_origins)]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    loader_base.BATCH_OBSERVER = observe_batch
    if engine is not None:
        app.state.engine = engine
    mount_receipts(app, settings)
    if settings.graphiql:
        mount_graphiql(app, settings)
    endpoint = GraphQLEndpoint(app, settings)
    # every method reaches the endpoint, so that even a 405 is a GraphQL error body
    app.router.routes.append(Route("/graphql", endpoint))
    return app


# set by `expensegraph serve --workers N` for the worker processes it starts
WORKER_DATABASE_URL = "EXPENSEGRAPH_WORKER_DATABASE_URL"


def app_from_env() -> Starlette:
    """Return the app of one worker process (uvicorn factory), configured from the environment."""
    from app.observability import configure_logging

    configure_logging()  # a worker is a fresh interpreter: the parent's log handler is not here
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
