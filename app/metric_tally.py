"""The request path's metrics, added up in plain Python and handed to prometheus_client in bulk.

Every request counts itself, its latency, its statements, its loader batches and the lane it
took. prometheus_client locks for each of those, and with several workers (its multiprocess
mode) writes each into a memory-mapped file: 0.16 ms of a detail request's server CPU in a
worker, 0.04-0.09 ms in one process (bench/RESULTS.md). Here a request adds to two dicts;
:meth:`Tally.flush` gives the totals to the metrics. Whatever reads the registry flushes
first (:class:`FlushFirst`, registered before the metrics), a scrape across workers flushes
the answering worker's, and every worker flushes once a second and at shutdown
(app/scrape.py ``WorkerMetrics``).

Histograms are filled through prometheus_client's per-bucket values (``_upper_bounds``,
``_buckets``, ``_sum`` of a histogram or its child), the state ``observe`` itself updates:
tests/app/test_metric_tally.py fails if a version changes them.
"""

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from typing import Any


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
