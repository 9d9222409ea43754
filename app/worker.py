"""`expensegraph worker`: runs queued jobs (app/jobs.py) with pgqueuer, one JSON line each.

A job that raises is retried with exponential backoff (1 s, 2 s, 4 s, ... by default) up
to ``max_attempts`` runs, then ends 'failed' in the queue with its traceback in
pgqueuer_log, and the entrypoint's give-up hook records the reason where people look
(a receipt's ``processing_error``). A running job's heartbeat is written every
``heartbeat_timeout / 2``; when a worker dies, another one takes its job over once the
heartbeat is ``heartbeat_timeout`` old.
"""

import asyncio
import json
import logging
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from pgqueuer import Job, Queries, QueueManager, RetryRequested
from pgqueuer.core.executors import EntrypointExecutor, EntrypointExecutorParameters
from pgqueuer.domain.models import Context
from sqlalchemy.engine import make_url

from app import jobs, webhooks
from app.webhooks import WebhookSettings
from db.connect import PoolSettings, create_engine
from db.engine import in_transaction
from db.receipt_storage import LocalStorage
from db.writes import events

log = logging.getLogger("expensegraph.jobs")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    return float(raw) if raw else default


@dataclass(frozen=True)
class WorkerSettings:
    """How many jobs run at once, how often they are tried, when a silent job is taken over."""

    concurrency: int = 4
    max_attempts: int = 5
    retry_delay_s: float = 1.0  # before the second run; doubled for each run after
    max_retry_delay_s: float = 300.0
    heartbeat_timeout_s: float = 30.0
    # the longest wait for work between NOTIFYs: a retry becomes due without one
    poll_s: float = 2.0

    @classmethod
    def from_env(cls, env: Mapping[str, str], concurrency: int) -> "WorkerSettings":
        """Return settings with the EXPENSEGRAPH_JOB_* overrides of ``env``."""
        return cls(
            concurrency=concurrency,
            max_attempts=int(_float(env, "EXPENSEGRAPH_JOB_MAX_ATTEMPTS", cls.max_attempts)),
            retry_delay_s=_float(env, "EXPENSEGRAPH_JOB_RETRY_DELAY_SECONDS", cls.retry_delay_s),
            heartbeat_timeout_s=_float(
                env, "EXPENSEGRAPH_JOB_HEARTBEAT_TIMEOUT_SECONDS", cls.heartbeat_timeout_s
            ),
            poll_s=_float(env, "EXPENSEGRAPH_JOB_POLL_SECONDS", cls.poll_s),
        )

    def retry_delay(self, attempt: int) -> timedelta:
        """Return how long to wait after run number ``attempt`` (1-based) failed."""
        return timedelta(
            seconds=min(self.retry_delay_s * 2 ** (attempt - 1), self.max_retry_delay_s)
        )


@dataclass
class JobExecutor(EntrypointExecutor):
    """Runs one entrypoint: logs each run, turns failures into retries, gives up in the end."""

    name: str = ""
    env: jobs.JobEnv | None = None
    settings: WorkerSettings = field(default_factory=WorkerSettings)
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))

    async def execute(self, job: Job, context: Context) -> None:
        assert self.env is not None
        payload = json.loads(job.payload or b"{}")
        attempt = job.attempts + 1
        async with self.slots:
            started = time.monotonic()
            try:
                await jobs.ENTRYPOINTS[self.name](self.env, payload)
            except Exception as error:
                reason = _reason(error)
                final = (
                    isinstance(error, jobs.PermanentFailure)
                    or attempt >= self.settings.max_attempts
                )
                _log(job, payload, "failed" if final else "retry", started, attempt, reason)
                if not final:
                    delay = self.settings.retry_delay(attempt)
                    raise RetryRequested(delay=delay, reason=reason) from error
                if (give_up := jobs.GIVE_UP.get(self.name)) is not None:
                    await give_up(self.env, payload, reason)
                raise  # pgqueuer keeps it as 'failed' (on_failure="hold") with the traceback
            _log(job, payload, "done", started, attempt, None)


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _log(
    job: Job,
    payload: Mapping[str, Any],
    outcome: str,
    started: float,
    attempt: int,
    error: str | None,
) -> None:
    line: dict[str, Any] = {
        "event": "job", "job_id": job.id, "entrypoint": job.entrypoint,
        "business_id": payload.get("business_id"), "outcome": outcome,
        "duration_ms": round((time.monotonic() - started) * 1000, 1), "attempt": attempt,
    }  # fmt: skip
    if error is not None:
        line["error"] = error[:300]
    log.info(json.dumps(line))


def plain_dsn(url: str) -> str:
    """Return ``url`` as asyncpg.connect takes it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def run_worker(url: str, receipts_dir: Path, settings: WorkerSettings) -> None:
    """Run jobs until SIGTERM or SIGINT; a job in flight then finishes first."""
    engine = create_engine(url, PoolSettings(size=settings.concurrency + 1, max_overflow=0))
    connection = await asyncpg.connect(plain_dsn(url))
    env = jobs.JobEnv(
        engine=engine, storage=LocalStorage(receipts_dir), extractor=jobs.load_extractor()
    )
    manager = QueueManager(Queries.from_asyncpg_connection(connection))
    slots = asyncio.Semaphore(settings.concurrency)
    for name in jobs.ENTRYPOINTS:

        def executor(params: EntrypointExecutorParameters, name: str = name) -> JobExecutor:
            return JobExecutor(params, name=name, env=env, settings=settings, slots=slots)

        # the function pgqueuer calls is JobExecutor.execute; this one only registers the name
        manager.entrypoint(name, on_failure="hold", executor_factory=executor)(_unused)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, manager.shutdown.set)
    log.info(json.dumps({"event": "worker_started", "pid": os.getpid(), **vars(settings)}))
    # pgqueuer claims at most max_concurrent_tasks (at least twice its batch size); the
    # semaphore makes --concurrency exact when that is fewer
    batch = max(1, settings.concurrency // 2)
    ticks = asyncio.create_task(webhook_ticks(engine, manager.shutdown, WebhookSettings.from_env()))
    try:
        await manager.run(
            batch_size=batch,
            max_concurrent_tasks=max(settings.concurrency, 2 * batch),
            heartbeat_timeout=timedelta(seconds=settings.heartbeat_timeout_s),
            dequeue_timeout=timedelta(seconds=settings.poll_s),
        )
    finally:
        manager.shutdown.set()
        await ticks
        await connection.close()
        await engine.dispose()
        log.info(json.dumps({"event": "worker_stopped", "pid": os.getpid()}))


# how often the worker sends webhooks: new events become deliveries, due ones are attempted
WEBHOOK_TICK_S = 1.0
PRUNE_EVERY_S = 3600.0


def keep_days(env: Mapping[str, str] = os.environ) -> int:
    """Return how many days events are kept: EXPENSEGRAPH_EVENTS_KEEP_DAYS, at least 30."""
    return max(
        int(_float(env, "EXPENSEGRAPH_EVENTS_KEEP_DAYS", events.KEEP_DAYS)), events.KEEP_DAYS
    )


async def prune_feed(engine: Any, days: int) -> int:
    """Delete the events older than ``days`` days, in batches; return how many."""
    older_than = datetime.now(UTC) - timedelta(days=days)
    total = 0
    while True:
        deleted = await in_transaction(
            engine, lambda db: events.prune(db=db, older_than=older_than)
        )
        total += deleted
        if deleted < 10_000:
            break
    if total:
        log.info(json.dumps({"event": "events_pruned", "count": total, "days": days}))
    return total


async def webhook_ticks(
    engine: Any, shutdown: asyncio.Event, settings: WebhookSettings, every_s: float = WEBHOOK_TICK_S
) -> None:
    """Run :func:`app.webhooks.tick` every ``every_s`` until ``shutdown`` is set, and prune
    the change feed of events older than its keeping time once an hour."""
    pruned_at = 0.0
    while not shutdown.is_set():
        try:
            result = await webhooks.tick(engine, settings)
            if result.dispatched or result.delivered or result.failed_attempts:
                log.info(json.dumps({"event": "webhooks", **vars(result)}))
            if time.monotonic() - pruned_at >= PRUNE_EVERY_S:
                pruned_at = time.monotonic()
                await prune_feed(engine, keep_days())
        except Exception as error:  # the database may be down: try again next tick
            log.warning(json.dumps({"event": "webhooks_failed", "error": _reason(error)[:300]}))
        try:
            await asyncio.wait_for(shutdown.wait(), every_s)
        except TimeoutError:
            pass


async def _unused(job: Job) -> None:
    raise AssertionError("JobExecutor runs the entrypoints")
