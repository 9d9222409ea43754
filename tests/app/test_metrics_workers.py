"""/metrics of `expensegraph serve --workers 2` counts the requests of both workers.

Each worker writes what it counted every second (app/scrape.py ``WorkerMetrics``).
"""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import SETTINGS, token
from tests.serving import serving

CONNECTIONS = 8
PER_CONNECTION = 5


def _requests_total(text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "expensegraph_requests_total"
    )


def _gauge(text: str, name: str, state: str) -> float:
    return next(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and sample.labels == {"state": state}
    )


def _answered_by_worker(metrics_dir: Path) -> dict[str, float]:
    """Return each worker's own count of GraphQL requests, read from its file."""
    counts = {}
    for file in metrics_dir.glob("counter_*.db"):
        merged = MultiProcessCollector.merge([str(file)])
        counts[file.stem] = sum(
            sample.value
            for metric in merged
            for sample in metric.samples
            if sample.name == "expensegraph_requests_total"
        )
    return counts


def _written(metrics_dir: Path, sent: int) -> dict[str, float]:
    """Return each worker's count once all ``sent`` are in the files (written every second)."""
    deadline = time.monotonic() + 5
    while True:
        counts = _answered_by_worker(metrics_dir)
        if sum(counts.values()) >= sent or time.monotonic() > deadline:
            return counts
        time.sleep(0.1)


def test_metrics_add_up_every_worker(world, database_url: str, tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    env = {
        "DATABASE_URL": database_url,
        "EXPENSEGRAPH_JWT_SECRET": SETTINGS.jwt_secret,
        "EXPENSEGRAPH_DATA_DIR": str(tmp_path),
        "TMPDIR": str(tmp_path / "tmp"),  # where serve makes its metrics directory
    }
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}

    def connection(url: str) -> int:
        with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
            for _ in range(PER_CONNECTION):
                response = client.post("/graphql", json={"query": "{ viewer { credential } }"})
                assert response.json()["data"] == {"viewer": {"credential": "MEMBER"}}
        return PER_CONNECTION

    with serving(tmp_path, env, workers=2) as server:
        (metrics_dir,) = (tmp_path / "tmp").glob("expensegraph-metrics-*")
        sent = 0
        # which worker accepts a connection is the kernel's choice: send until both have
        for _ in range(20):
            with ThreadPoolExecutor(CONNECTIONS) as pool:
                sent += sum(pool.map(connection, [server.url] * CONNECTIONS))
            by_worker = _written(metrics_dir, sent)
            if sum(1 for count in by_worker.values() if count > 0) == 2:
                break
        assert len(by_worker) == 2 and all(count > 0 for count in by_worker.values()), by_worker
        assert sum(by_worker.values()) == sent

        for _ in range(10):  # new connections, so that both workers answer scrapes
            text = httpx.get(f"{server.url}/metrics", timeout=10).text
            assert _requests_total(text) == sent
            assert _gauge(text, "expensegraph_graphql_requests", "in_flight") == 0
            assert _gauge(text, "expensegraph_pool_connections", "in_use") == 0
            assert _gauge(text, "expensegraph_pool_connections", "idle") >= 2  # one per worker
    assert not metrics_dir.exists()
