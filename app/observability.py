"""Per-request structured logs under the request's id, and Prometheus metrics (``/metrics``).

One process keeps its metrics in memory. ``serve --workers N`` sets PROMETHEUS_MULTIPROC_DIR
for its workers: each writes its metrics to files there (prometheus_client's multiprocess
mode, chosen when it is imported) and a scrape answered by any worker adds up all of them.
"""

import logging
import os
import re
import sys
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.transport import header

# The request path's metrics are added up in plain Python and handed to prometheus_client in
# bulk. prometheus_client locks for each count or observation, and with several workers (its
# multiprocess mode) writes each into a memory-mapped file: 0.16 ms of a detail request's
# server CPU in a worker, 0.04-0.09 ms in one process (bench/RESULTS.md). A request adds to
# two dicts; whatever reads the registry flushes first (FlushFirst, registered before the
# metrics), a scrape across workers flushes the answering worker's, and every worker flushes
# once a second and at shutdown (app/scrape.py ``WorkerMetrics``). Histograms are filled
# through prometheus_client's per-bucket values (``_upper_bounds``, ``_buckets``, ``_sum``),
# the state ``observe`` itself updates: tests/app/test_metric_tally.py fails if a version
# changes them.


class Tally:
    """Counts and observations not yet given to their metrics (label sets already chosen)."""

    def __init__(self) -> None:
        self._counts: defaultdict[Any, float] = defaultdict(float)  # counter -> amount
        self._observed: dict[Any, list[float]] = {}  # histogram -> count per bucket, then sum

    def inc(self, counter: Any, amount: float = 1.0) -> None:
        """Add ``amount`` to ``counter`` (a counter without labels, or a child)."""
        self._counts[counter] += amount

    def observe(self, histogram: Any, value: float) -> None:
        """Observe ``value`` in ``histogram`` (a histogram without labels, or a child)."""
        pending = self._observed.get(histogram)
        if pending is None:
            pending = self._observed[histogram] = [0.0] * (len(histogram._upper_bounds) + 1)
        # the first bound at or above the value, as observe picks it (the last is +Inf)
        pending[bisect_left(histogram._upper_bounds, value)] += 1
        pending[-1] += value

    def flush(self) -> None:
        """Give what was counted to the metrics, and start again from nothing."""
        counts, self._counts = self._counts, defaultdict(float)
        observed, self._observed = self._observed, {}
        for counter, amount in counts.items():
            counter.inc(amount)
        for histogram, pending in observed.items():
            for bucket, count in zip(histogram._buckets, pending):  # noqa: B905 (sum last)
                if count:
                    bucket.inc(count)
            histogram._sum.inc(pending[-1])


class FlushFirst:
    """A collector of no metric of its own: collected first, it flushes the tally."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def describe(self) -> Iterable[Any]:
        return ()

    def collect(self) -> Iterable[Any]:
        self.tally.flush()
        return ()


log = logging.getLogger("expensegraph.request")
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
# read when prometheus_client was imported, as it decided where values live
MULTIPROCESS = bool(os.environ.get(MULTIPROC_DIR))
REGISTRY = CollectorRegistry()
# the request path's counts, handed to the metrics below before anything reads them
TALLY = Tally()
REGISTRY.register(FlushFirst(TALLY))
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


def configure_logging() -> None:
    """Send the service's own log lines (one JSON object per request) to stderr.

    Called by every serving process: worker processes start fresh interpreters, so the
    handler of the process that spawned them is not theirs.
    """
    logger = logging.getLogger("expensegraph")
    if not logger.handlers:
        handler = LineHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


class LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The service's own handler (configure_logging): each message a line on stderr."""


def _sole_handler() -> LineHandler | None:
    """Return the service's handler when a request line would reach it and nothing else."""
    parent = log.parent
    if (
        log.handlers
        or log.filters
        or not log.propagate
        or parent is None
        or parent.filters
        or len(parent.handlers) != 1
        or logging.root.handlers  # a test's capture, an operator's configuration
    ):
        return None
    handler = parent.handlers[0]
    if type(handler) is not LineHandler or handler.filters or handler.level > logging.INFO:
        return None
    return handler


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


def request_id_of(scope: Scope) -> str:
    """Return the request's id: the client's X-Request-Id if plain, else a new one."""
    given = header(scope, b"x-request-id")
    return given if given and _REQUEST_ID.fullmatch(given) else new_request_id()


def echoed(request_id: str) -> tuple[tuple[bytes, bytes], ...]:
    """Return the headers ``RequestIds(app, vary_origin=True)`` adds to an answer that has no
    X-Request-Id or Vary of its own, in its order, for an app that writes them itself."""
    return ((b"x-request-id", request_id.encode()), (b"vary", b"Origin"))


class RequestIds:
    """Give every request an id (the client's X-Request-Id if plain, else a new one); echo it.

    ``vary_origin``: also add ``Vary: Origin`` to every response, what the CORS middleware
    adds to those it sees (app/http.py sends /graphql requests without an Origin past both:
    the endpoint writes the two headers into its answers, :func:`echoed`, and its GraphiQL
    page goes through this).
    """

    def __init__(self, app: ASGIApp, *, vary_origin: bool = False) -> None:
        self.app = app
        self.vary_origin = vary_origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = scope[REQUEST_ID_KEY] = request_id_of(scope)

        vary_origin = self.vary_origin

        async def echoing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                if vary_origin:
                    vary = [v for k, v in headers if k.lower() == b"vary"]
                    headers = [(k, v) for k, v in headers if k.lower() != b"vary"]
                    headers.append((b"vary", b", ".join([*vary, b"Origin"])))
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


def finish(record: RequestRecord, *, principal: Any, statements: int, round_trips: int) -> None:
    """Log the request as one JSON line and count it in the metrics."""
    duration = time.perf_counter() - record.started
    codes = record.report.get("codes") or []
    outcome = codes[0] if codes else ("ok" if record.status < 400 else f"http_{record.status}")
    operation = operation_label(record.report.get("operation"))
    TALLY.inc(child(REQUESTS, operation, outcome))
    TALLY.observe(child(LATENCY, operation), duration)
    TALLY.observe(STATEMENTS, statements)
    if "RATE_LIMITED" in codes:
        RATE_LIMITED.inc()
    if not log.isEnabledFor(logging.INFO):
        return
    # orjson: the line is written for every request, and json.dumps costs several times more
    line = orjson.dumps({
        "request_id": record.request_id,
        "credential": principal.label if principal is not None else None,
        "business_id": principal.business_id if principal is not None else None,
        "operation": record.report.get("operation"), "status": record.status, "outcome": outcome,
        "codes": codes, "duration_ms": round(duration * 1000, 2), "sql_statements": statements,
        "sql_round_trips": round_trips,
        "cost": record.report.get("cost"), "actual_cost": record.report.get("actual_cost"),
    }).decode()  # fmt: skip
    handler = _sole_handler()
    if handler is None:
        log.info(line)
        return
    # what the handler would write, without a LogRecord and its formatting: 27 -> 3 us a
    # request on this box (bench/RESULTS.md)
    handler.acquire()
    try:
        handler.stream.write(line + handler.terminator)
        handler.flush()
    except Exception:  # a closed or full stream: logging's own error handling, not a failed request
        log.info(line)
    finally:
        handler.release()


def observe_batch(loader: str, size: int) -> None:
    """Count one DataLoader batch of ``size`` keys."""
    TALLY.observe(child(LOADER_BATCHES, loader), size)
