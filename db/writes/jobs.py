"""The job queue's SQL: enqueue in the caller's write transaction, and the queue's state.

The queue is pgqueuer's (tables from alembic/versions/0005_job_queue.py). Its enqueue
statement comes from its own query builder and runs on the request's connection through
:meth:`RequestDb.rows`, so a job exists exactly when the write that caused it commits.
"""

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from pgqueuer.adapters.persistence.qb import QueryQueueBuilder
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import RequestDb

# entrypoint names (app/jobs.py runs them)
EXTRACT_RECEIPT = "extract_receipt"
MATCH_EXPENSE = "match_expense"
# the states a job row can be in while it is in the queue table: a finished job leaves it
# (pgqueuer logs it in pgqueuer_log), one that failed for good stays as 'failed'
QUEUE_STATES = ("queued", "picked", "failed")
# pgqueuer's positional parameters, written `$1::int[]`
_POSITIONAL = re.compile(r"\$(\d+)::([a-z]+(?:\[\])?)")


class Unenqueueable(RuntimeError):
    """enqueue was called outside a write transaction: the job could outlive a rollback."""


@cache
def _enqueue_statement() -> TextClause:
    """Return pgqueuer's enqueue statement with named parameters (SQLAlchemy's text)."""
    sql = QueryQueueBuilder().build_enqueue_query("skip")
    # CAST, not `:p1::int[]`: text() would read that as the parameter ':p'
    named, found = _POSITIONAL.subn(lambda m: f"CAST(:p{m[1]} AS {m[2]})", sql)
    if found != 6 or "$" in named.replace("$$", ""):  # a new pgqueuer changed its statement
        raise RuntimeError("pgqueuer's enqueue statement is not the one db/writes/jobs.py expects")
    return text(named)


def dedupe_key(entrypoint: str, payload: dict[str, Any]) -> str:
    """Return the key that makes a second identical job, enqueued while one waits, a no-op."""
    return f"{entrypoint}:{json.dumps(payload, sort_keys=True, separators=(',', ':'))}"


async def enqueue(*, db: RequestDb, entrypoint: str, payload: dict[str, Any]) -> None:
    """Queue a job in the current write transaction: it exists only if that commits.

    The same job still waiting (same entrypoint and payload) is not queued twice: jobs
    read the current rows when they run, so one run does the work of both.
    """
    if not db.writing:
        raise Unenqueueable("enqueue runs inside a write transaction (RequestDb.savepoint)")
    body = json.dumps(payload, sort_keys=True).encode()
    await db.rows(
        _enqueue_statement(),
        {
            "p1": [0], "p2": [entrypoint], "p3": [body], "p4": [timedelta(0)],
            "p5": [dedupe_key(entrypoint, payload)], "p6": [None],
        },
    )  # fmt: skip


@dataclass(frozen=True)
class QueueState:
    """How many jobs are in each state, and how long the oldest queued one has waited."""

    counts: dict[str, int]
    oldest_queued_s: float


_STATE = text(
    "SELECT status::text AS status, count(*) AS n,"
    " COALESCE(EXTRACT(EPOCH FROM now() - min(created)), 0)::float8 AS oldest_s"
    " FROM pgqueuer WHERE status = ANY(CAST(:states AS pgqueuer_status[])) GROUP BY status"
)


async def queue_state(*, engine: AsyncEngine) -> QueueState:
    """Return the queue's job counts by state (one statement, on a pooled connection)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_STATE, {"states": list(QUEUE_STATES)})).all()
    counts = dict.fromkeys(QUEUE_STATES, 0) | {row.status: int(row.n) for row in rows}
    oldest = next((float(row.oldest_s) for row in rows if row.status == "queued"), 0.0)
    return QueueState(counts=counts, oldest_queued_s=oldest)
