"""The Starlette app: /graphql (GraphQL over HTTP), /healthz, /readyz, /metrics, and CORS.

CORS is configured next to the dispatch that skips it: a /graphql request without an
Origin header goes past the CORS middleware, with only the ``Vary: Origin`` it would add
(:func:`same_origin`).
"""

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app import tracing
from app.downloads import mount_receipts
from app.endpoint import GraphQLEndpoint
from app.graphiql import mount_graphiql, wants_graphiql
from app.health import healthz, readyz
from app.observability import REQUEST_ID_KEY, RequestIds, echoed, observe_batch, request_id_of
from app.scrape import metrics
from app.settings import Settings
from app.subscriptions import Hub, SubscriptionView
from app.transport import header
from db.connect import create_engine, plain_url
from loaders import base as loader_base
from resolvers.errors import ErrorCode


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
    mount_receipts(app, settings)  # before the endpoint, which finds the receipts in the state
    if settings.graphiql:
        mount_graphiql(app, settings)
    endpoint = GraphQLEndpoint(app, settings)
    # every method reaches the endpoint, so that even a 405 is a GraphQL error body
    app.router.routes.append(Route("/graphql", endpoint))
    app.graphql = _wrapped(middleware, endpoint)
    app.graphql_ws = SubscriptionView(
        endpoint.schema, settings, lambda: app.state.engine, Hub(plain_url(database_url))
    )
    app.graphql_same_origin = same_origin(endpoint, settings)
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
                await self.graphql_same_origin(scope, receive, send)
                return
            await self.graphql(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def same_origin(endpoint: GraphQLEndpoint, settings: Settings) -> ASGIApp:
    """Return ``endpoint`` for requests without an Origin header, past RequestIds and CORS.

    Their answers carry the X-Request-Id and ``Vary: Origin`` those would add, written with
    the answer rather than by RequestIds' send wrapper rebuilding its headers (a tenth of the
    Python calls of a request answered from memory).
    """
    page = RequestIds(endpoint, vary_origin=True)  # the GraphiQL page, as any other response

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        if settings.graphiql and wants_graphiql(scope):
            await page(scope, receive, send)
            return
        request_id = scope[REQUEST_ID_KEY] = request_id_of(scope)
        await endpoint(scope, receive, send, echoed(request_id))

    return answer


def _wrapped(middleware: list[Middleware], app: ASGIApp) -> ASGIApp:
    """Return ``app`` inside ``middleware`` (the first outermost), as Starlette builds it."""
    for cls, args, kwargs in reversed(middleware):
        app = cls(app, *args, **kwargs)
    return app


# the request headers the API reads, and the response headers a browser script may see
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "GraphQL-Preflight",
                   "X-Request-Id", "Apollo-Require-Preflight")  # fmt: skip
EXPOSED_HEADERS = ("X-Request-Id", "Retry-After", "Idempotent-Replayed")
# how long a browser may reuse a preflight answer
PREFLIGHT_MAX_AGE_S = 600


class JSONCORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware whose refused preflights are JSON error bodies."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        reason = bytes(response.body).decode()
        body = {"errors": [{"message": reason, "extensions": {"code": ErrorCode.FORBIDDEN.value}}]}
        return JSONResponse(body, status_code=response.status_code, headers=_vary(response))


def _vary(response: Response) -> dict[str, str]:
    return {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("content-type", "content-length")
    }


def cors_middleware(origins: tuple[str, ...]) -> list[Middleware]:
    """Return the CORS middleware for ``origins`` (none: every cross-origin preflight refused)."""
    return [
        Middleware(
            JSONCORSMiddleware,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=list(ALLOWED_HEADERS),
            expose_headers=list(EXPOSED_HEADERS),
            max_age=PREFLIGHT_MAX_AGE_S,
        )
    ]


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
