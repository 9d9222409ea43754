"""Answering Prometheus: ``/metrics`` (of every worker, if there are several) and the gauges
and tallies each worker writes for it: the gauges set at scrape time are defined here, the
request path's metrics in app/observability.py."""

import asyncio
import json
import os

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability import MULTIPROCESS, REGISTRY, TALLY, log
from db.read_pool import read_pool
from db.writes import jobs

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
    await set_job_gauges(request.app)
    # after the job query: the connection it held (and a once-a-second write of the gauges
    # made while it did, WorkerMetrics) would show in use when nothing else is
    set_gauges(request.app)
    registry = REGISTRY
    if MULTIPROCESS:
        TALLY.flush()  # this worker's: the others flush theirs every second
        # the files of every worker, read now; REGISTRY holds only this one's values
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class WorkerMetrics:
    """One of several workers: its metrics written for scrapes another worker answers.

    Every second the worker hands its tally to the metric files (app/observability.py Tally) and
    sets its gauges: a scrape answered by another worker sees them at most a second old. At
    shutdown it writes them once more and its live gauges are removed (``mark_process_dead``);
    its counters and histograms stay, so totals do not drop when a worker goes.
    """

    def __init__(self, app: Starlette, every_s: float = 1.0) -> None:
        self.app = app
        self.every_s = every_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        writing = asyncio.ensure_future(self._write_every())
        try:
            await self.app(scope, receive, self._on_shutdown(send))
        finally:
            writing.cancel()

    async def _write_every(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            self._write()

    def _write(self) -> None:
        TALLY.flush()
        set_gauges(self.app)

    def _on_shutdown(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                self._write()
                mark_process_dead(os.getpid())
            await send(message)

        return sending


def across_workers(app: Starlette) -> ASGIApp:
    """Return ``app`` as one of several workers' (:class:`WorkerMetrics`) in multiprocess mode."""
    return WorkerMetrics(app) if MULTIPROCESS else app
