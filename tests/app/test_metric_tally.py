"""app/observability.py Tally: what the request path tallies reaches the metrics as if observed one by one.

The tally writes prometheus_client's per-bucket state directly: these tests fail when a
version of prometheus_client keeps a histogram's state another way.
"""

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from app.observability import FlushFirst, Tally

BUCKETS = (1, 2, 5, 10)
VALUES = [0, 1, 1.5, 2, 2.0000001, 5, 9.99, 10, 11, 250, -3]


def samples(registry: CollectorRegistry, name: str) -> dict[tuple[str, Any], float]:
    """Return every sample of metric ``name`` by (sample name, label values)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for metric in registry.collect()
        if metric.name == name
        for sample in metric.samples
        if not sample.name.endswith("_created")
    }


def test_histograms_and_counters_come_out_as_if_observed_one_by_one() -> None:
    direct, tallied = CollectorRegistry(), CollectorRegistry()
    tally = Tally()
    tallied.register(FlushFirst(tally))
    made = {
        registry: (
            Histogram("h", "h", ["op"], buckets=BUCKETS, registry=registry),
            Histogram("plain", "plain", buckets=BUCKETS, registry=registry),
            Counter("c", "c", ["op"], registry=registry),
        )
        for registry in (direct, tallied)
    }
    for op in ("a", "b"):
        for value in VALUES:
            labelled, plain, counter = made[direct]
            labelled.labels(op).observe(value)
            plain.observe(value * 2)
            counter.labels(op).inc(value if value > 0 else 1)
            labelled, plain, counter = made[tallied]
            tally.observe(labelled.labels(op), value)
            tally.observe(plain, value * 2)
            tally.inc(counter.labels(op), value if value > 0 else 1)
    for name in ("h", "plain", "c"):  # collecting the registry flushed the tally first
        assert samples(tallied, name) == samples(direct, name), name
    assert samples(direct, "h")[("h_count", (("op", "a"),))] == len(VALUES)


def test_a_flush_starts_again_from_nothing() -> None:
    registry = CollectorRegistry()
    tally = Tally()
    registry.register(FlushFirst(tally))
    counter = Counter("n", "n", registry=registry)
    tally.inc(counter)
    assert registry.get_sample_value("n_total") == 1
    assert registry.get_sample_value("n_total") == 1  # not added twice
    tally.inc(counter, 2)
    tally.flush()
    assert counter._value.get() == 3  # what a scrape across workers reads from the files
