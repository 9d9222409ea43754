"""Per-request structured logs under the request's id, and Prometheus metrics (``/metrics``).

One process keeps its metrics in memory. ``serve --workers N`` sets PROMETHEUS_MULTIPROC_DIR
for its workers: each writes its metrics to files there (prometheus_client's multiprocess
mode, chosen when it is imported) and a scrape answered by any worker adds up all of them.
"""

import asyncio
import json
import logging
import os
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.transport import header
from db.read_pool import read_pool
from db.writes import jobs

log = logging.getLogger("expensegraph.request")
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
# read when prometheus_client was imported, as it decided where values live
MULTIPROCESS = bool(os.environ.get(MULTIPROC_DIR))
REGISTRY = CollectorRegistry()
REQUESTS = Counter("expensegraph_requests_total", "GraphQL requests by operation and outcome.",
                   ["operation", "outcome"], registry=REGISTRY)  # fmt: skip
LATENCY = Histogram("expensegraph_request_duration_seconds", "GraphQL request latency by operation.",
                    ["operation"], registry=REGISTRY)  # fmt: skip
STATEMENTS = Histogram("expensegraph_sql_statements_per_request", "SQL statements per GraphQL request.",
                       buckets=(1, 2, 3, 5, 8, 12, 20, 50, 100), registry=REGISTRY)  # fmt: skip
LOADER_BATCHES = Histogram("expensegraph_loader_batch_size", "Keys per DataLoader batch.", ["loader"],
                           buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000), registry=REGISTRY)  # fmt: skip
LANE = Counter("expensegraph_fast_lane_total",
               "Queries by how they ran: path lane or reference; reason why not the lane.",
               ["path", "reason"], registry=REGISTRY)  # fmt: skip
RATE_LIMITED = Counter(
    "expensegraph_rate_limited_total", "Requests refused by the rate limit.", registry=REGISTRY
)
SLOW_SUBSCRIBERS = Counter(
    "expensegraph_slow_subscribers_total",
    "Subscriptions ended with close code 4408: the subscriber did not read its messages "
    "(EXPENSEGRAPH_SUBSCRIPTION_SLOW_SECONDS, EXPENSEGRAPH_SUBSCRIPTION_BACKLOG).",
    registry=REGISTRY,
)
# across workers: the sum over the processes alive (multiprocess_mode is ignored otherwise)
POOL = Gauge(
    "expensegraph_pool_connections",
    "Database pool connections by state.",
    ["state"],
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
ADMISSION = Gauge(
    "expensegraph_graphql_requests",
    "GraphQL requests admitted and running (in_flight) or waiting for admission (queued).",
    ["state"],
    registry=REGISTRY,
    multiprocess_mode="livesum",
)

# the job queue, read from the database at scrape time (the same for every worker answering)
JOBS = Gauge(
    "expensegraph_jobs",
    "Background jobs in the queue by state: queued (waiting, or waiting to be retried), "
    "running, failed (gave up after their retries).",
    ["state"],
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)
OLDEST_QUEUED_JOB = Gauge(
    "expensegraph_jobs_oldest_queued_seconds",
    "Age of the oldest queued background job (0 when none waits).",
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)
JOB_STATES = {"queued": "queued", "picked": "running", "failed": "failed"}


def configure_logging() -> None:
    """Send the service's own log lines (one JSON object per request) to stderr.

    Called by every serving process: worker processes start fresh interpreters, so the
    handler of the process that spawned them is not theirs.
    """
    logger = logging.getLogger("expensegraph")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


# operation names are chosen by clients: keep the label set bounded
MAX_OPERATIONS = 200
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_known: set[str] = set()


_children: dict[tuple[Any, ...], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """Return ``metric.labels(*labels)``, looked up once per label set.

    ``labels`` validates and locks on every call; the request path counts several metrics
    per request, always with the same few label sets (operation names are bounded).
    """
    key = (metric, *labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


def operation_label(name: str | None) -> str:
    """Return a bounded metric label for a client's operation name."""
    if not name or not _NAME.match(name):
        return "anonymous"
    if name not in _known and len(_known) >= MAX_OPERATIONS:
        return "other"
    _known.add(name)
    return name


# the request id a client may choose: short and plain, as it goes into logs and headers
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def new_request_id() -> str:
    """Return a new request id: 128 random bits in hex (as ``uuid4().hex``, without its
    UUID object: a frame and a version check per request)."""
    return os.urandom(16).hex()


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
        request_id = given if given and _REQUEST_ID.fullmatch(given) else new_request_id()
        scope[REQUEST_ID_KEY] = request_id

        async def echoing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, echoing)


@dataclass
class RequestRecord:
    """What one request did, filled in as it runs and logged at the end."""

    request_id: str
    started: float = field(default_factory=time.perf_counter)
    status: int = 0
    report: dict[str, Any] = field(default_factory=dict)

    def capture(self, send: Send) -> Send:
        """Return ``send`` that also notes the response status."""

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.status = int(message["status"])
            await send(message)

        return sending


def finish(record: RequestRecord, *, principal: Any, statements: int, round_trips: int) -> None:
    """Log the request as one JSON line and count it in the metrics."""
    duration = time.perf_counter() - record.started
    codes = record.report.get("codes") or []
    outcome = codes[0] if codes else ("ok" if record.status < 400 else f"http_{record.status}")
    operation = operation_label(record.report.get("operation"))
    child(REQUESTS, operation, outcome).inc()
    child(LATENCY, operation).observe(duration)
    STATEMENTS.observe(statements)
    if "RATE_LIMITED" in codes:
        RATE_LIMITED.inc()
    if not log.isEnabledFor(logging.INFO):
        return
    # orjson: the line is written for every request, and json.dumps costs several times more
    log.info(orjson.dumps({
        "request_id": record.request_id,
        "credential": principal.label if principal is not None else None,
        "business_id": principal.business_id if principal is not None else None,
        "operation": record.report.get("operation"), "status": record.status, "outcome": outcome,
        "codes": codes, "duration_ms": round(duration * 1000, 2), "sql_statements": statements,
        "sql_round_trips": round_trips,
        "cost": record.report.get("cost"), "actual_cost": record.report.get("actual_cost"),
    }).decode())  # fmt: skip


def observe_batch(loader: str, size: int) -> None:
    """Count one DataLoader batch of ``size`` keys."""
    child(LOADER_BATCHES, loader).observe(size)


def set_gauges(app: Starlette) -> None:
    """Set this process's pool and admission gauges from their current state."""
    engine = getattr(app.state, "engine", None)
    if engine is not None:  # SQLAlchemy's (writes) and the read pool's (db/read_pool.py)
        pool, reads = engine.pool, read_pool(engine)
        POOL.labels("in_use").set(pool.checkedout() + (reads.lent if reads else 0))
        POOL.labels("idle").set(pool.checkedin() + (reads.idle if reads else 0))
    admission = getattr(app.state, "admission", None)
    if admission is not None:
        ADMISSION.labels("in_flight").set(admission.in_flight)
        ADMISSION.labels("queued").set(admission.queued)


async def set_job_gauges(app: Starlette) -> None:
    """Set the job gauges from one cheap query; a database that does not answer leaves them."""
    engine = getattr(app.state, "engine", None)
    if engine is None:
        return
    try:
        state = await asyncio.wait_for(jobs.queue_state(engine=engine), timeout=2)
    except Exception:  # a scrape still answers with the other metrics
        log.warning(json.dumps({"event": "job_gauges_unavailable"}), exc_info=True)
        return
    for status, label in JOB_STATES.items():
        JOBS.labels(label).set(state.counts.get(status, 0))
    OLDEST_QUEUED_JOB.set(state.oldest_queued_s)


async def metrics(request: Request) -> Response:
    """Return the metrics in the Prometheus text format: of every worker, if there are several."""
    set_gauges(request.app)
    await set_job_gauges(request.app)
    registry = REGISTRY
    if MULTIPROCESS:
        # the files of every worker, read now; REGISTRY holds only this one's values
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class WorkerMetrics:
    """One of several workers: its gauges kept current for scrapes another worker answers.

    A scrape sets only the answering worker's gauges; the others' are written after each of
    their requests, so an idle worker's gauges show it as its last request left it. At
    shutdown the worker's live gauges are removed (``mark_process_dead``); its counters and
    histograms stay, so totals do not drop when a worker goes.
    """

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._on_shutdown(send))
            return
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                set_gauges(self.app)

    @staticmethod
    def _on_shutdown(send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                mark_process_dead(os.getpid())
            await send(message)

        return sending


def across_workers(app: Starlette) -> ASGIApp:
    """Return ``app`` as one of several workers' (:class:`WorkerMetrics`) in multiprocess mode."""
    return WorkerMetrics(app) if MULTIPROCESS else app
