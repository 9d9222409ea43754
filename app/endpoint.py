"""GraphQL over HTTP at /graphql: read the request, admit, authenticate, execute, answer."""

import logging
from functools import partial
from typing import Any

from opentelemetry.trace import Span
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from app import idempotency, persisted, tracing
from app.admission import Admission, Admitted, ClientGone, Refused, hung_up
from app.answers import (
    WWW_AUTHENTICATE,
    Answer,
    Headers,
    not_saved,
    request_error,
    result_answer,
    send_answer,
    transport_answer,
    unavailable,
)
from app.auth import AuthError, LastPrincipals, authenticate, stands_until
from app.cost import StaticCosts
from app.downloads import ReceiptDownloads
from app.errors import is_unavailable
from app.graphiql import graphiql_page, wants_graphiql
from app.lane import FastLane, Known, speculated
from app.limits import Buckets, LeakyBuckets
from app.observability import REQUEST_ID_KEY, RequestRecord, finish, new_request_id
from app.redis_buckets import RedisBuckets
from app.served_schema import served_schema
from app.settings import Settings
from app.transport import (
    LEGACY_JSON,
    GraphQLParams,
    RequestHeaders,
    TransportError,
    negotiate,
    read_operation,
    request_headers,
)
from app.uploads import parse_multipart
from db.engine import RequestDb
from resolvers.context import Context, Principal, ReceiptFiles, build_context
from resolvers.errors import DomainError, ErrorCode
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
        self.schema = served_schema(settings, buckets, costs)
        self.lane = FastLane(self.schema, limits, buckets, costs) if settings.fast_lane else None
        self.principals = LastPrincipals(fresh_for_s=settings.credential_cache_s)
        # receipt storage and links (app/downloads.py), when the app serves them
        self.receipts: ReceiptDownloads | None = getattr(app.state, "receipts", None)

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, edge: Headers = ()
    ) -> None:
        """Answer one request, its answer ending with the ``edge`` headers (app/http.py)."""
        if tracing.ENABLED:  # off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (app/tracing.py)
            with tracing.request_span(scope) as span:
                await self._respond(scope, receive, send, edge, span)
            return
        await self._respond(scope, receive, send, edge, None)

    async def _respond(
        self, scope: Scope, receive: Receive, send: Send, edge: Headers, span: Span | None
    ) -> None:
        """Answer one request; describe it on ``span`` when it is traced."""
        if self.settings.graphiql and wants_graphiql(scope):
            await graphiql_page(self.settings)(scope, receive, send)
            return
        record = RequestRecord(scope.get(REQUEST_ID_KEY) or new_request_id())
        headers = request_headers(scope)
        db = RequestDb(self.app.state.engine)
        principal: Principal | None = None
        params: GraphQLParams | None = None
        media = LEGACY_JSON
        try:
            media = negotiate(headers.get(b"accept"))
            # the whole body, within its size and time limits, before any slot or connection
            params, body = await read_operation(
                scope,
                receive,
                headers,
                body_timeout_s=self.settings.body_timeout_s,
                multipart=parse_multipart,
            )
            async with Admitted(self.admission, receive) as receive:
                principal, result = await self._serve(
                    scope, headers, params, body, db, record, media
                )
                if hung_up(receive):
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
            if db.wrote:  # before the answer leaves: a credential may have changed
                self.principals.written()
            for upload in params.files if params is not None else ():
                await upload.close()  # spooled temp files: release the descriptor now
        try:
            if result is not None:
                record.status = result.status
                await send_answer(send, result, edge)
        finally:
            finish(
                record, principal=principal, statements=db.statements, round_trips=db.round_trips
            )
            if span is not None:
                tracing.describe_request(span, record, principal)

    async def _serve(
        self,
        scope: Scope,
        headers: RequestHeaders,
        params: GraphQLParams,
        body: bytes,
        db: RequestDb,
        record: RequestRecord,
        media: str,
    ) -> tuple[Principal | None, Answer]:
        """Authenticate, resolve a persisted query, run the operation; return who and what."""
        authorization = headers.get(b"authorization")
        known = self._known(headers, params)
        principal = self.principals.fresh(authorization) if known is not None else None
        if principal is not None:  # read moments ago, and nothing written here since
            known_context = self._context(scope, db, record, principal)
            return principal, await self._execute(scope, params, known_context, media, known)
        speculates = known is not None and known.speculates
        guess = self.principals.guess(authorization) if speculates else None
        context, answer = None, None
        started = self.principals.reading()
        try:
            reading = authenticate(authorization, db=db, settings=self.settings)
            if guess is None:
                principal = await reading
            else:  # the known query starts under it while the credential is read (one trip)
                assert self.lane is not None  # a guess is made for the lane's queries only
                context_of = partial(self._context, scope, db, record)
                principal, context, answer = await speculated(
                    self.lane, params, media, reading, guess, context_of
                )
        except AuthError as error:
            self.principals.forget(authorization)
            challenge = {"www-authenticate": f'{WWW_AUTHENTICATE}, error="invalid_token"'}
            raise TransportError(401, str(error), ErrorCode.UNAUTHENTICATED, challenge) from None
        expires_at = stands_until(authorization, self.settings) if principal is not None else 0.0
        self.principals.remember(authorization, principal, started, expires_at)
        if context is not None:  # the principal it ran under was the request's
            if answer is None:  # the lane fell back: the reference path, in the same context
                answer = await self._reference(scope, params, context, media)
            return principal, answer
        try:
            await self._apply_persisted(params, principal)
        except DomainError as error:
            record.report["codes"] = [error.code.value]
            return principal, request_error(error.message, error.code, media)
        context = self._context(scope, db, record, principal)

        async def execute() -> Answer:
            return await self._execute(scope, params, context, media, None)

        key = headers.get(b"idempotency-key")
        if key is None or principal is None or scope["method"] != "POST":
            return principal, await execute()
        refusal = idempotency.check_key(key)
        if refusal is not None:
            return principal, refusal
        if not idempotency.is_mutation(params):
            return principal, await execute()  # queries are idempotent anyway: key ignored
        hashed = idempotency.request_hash(params, headers.get(b"content-type") or "", body)
        return principal, await idempotency.run(
            execute, key=key, request_hash=hashed, db=db, principal=principal
        )

    def _known(self, headers: RequestHeaders, params: GraphQLParams) -> Known | None:
        """Return what the lane knows of a query it may answer alone, else None.

        Not for persisted queries (they resolve first) or a request with an idempotency key
        (checked before it runs): their credential is read first, as a write's always is.
        """
        if (
            self.lane is None
            or params.extensions
            or self.persisted.persisted_only
            or headers.get(b"idempotency-key") is not None
        ):
            return None
        return self.lane.known_of(params)

    def _context(
        self, scope: Scope, db: RequestDb, record: RequestRecord, principal: Principal | None
    ) -> Context:
        """Return the request's context under ``principal``; its report is the record's."""
        files = None
        if self.receipts is not None:  # their storage, and links to them on the request's host
            files = ReceiptFiles(self.receipts.storage, partial(self.receipts.link, scope))
        context = build_context(
            record.request_id,
            db,
            principal,
            batching=self.settings.loader_batching,
            files=files,
            webhooks_allow_private=self.settings.webhooks_allow_private,
        )
        record.report = context.report
        return context

    async def _apply_persisted(self, params: GraphQLParams, principal: Principal | None) -> None:
        """Fill in the query of a persisted-query request, or remember the one it carries."""
        if not params.extensions and not self.persisted.persisted_only:
            return  # a hash comes in the extensions; only the allow-list checks every request
        fields: dict[str, Any] = {"query": params.query, "extensions": params.extensions}
        await self.persisted.apply(fields, authenticated=principal is not None)
        params.query = fields["query"]

    async def _execute(
        self, scope: Scope, params: GraphQLParams, context: Any, media: str, known: Known | None
    ) -> Answer:
        """Run the operation and return its answer (``known``: the lane's, if looked up)."""
        if self.lane is not None:
            answer = await self.lane.answer(params, context, media, known=known)
            if answer is not None:
                return answer
        return await self._reference(scope, params, context, media)

    async def _reference(
        self, scope: Scope, params: GraphQLParams, context: Any, media: str
    ) -> Answer:
        """Run the operation on strawberry's path and return its answer."""
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
