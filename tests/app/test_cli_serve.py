"""`expensegraph serve` as a real process: two workers, their request logs, SIGTERM, and the
GraphiQL URL it prints."""

import json
import os
import signal
import time
from pathlib import Path

import httpx

from tests.app.helpers_cli import cli_env
from tests.serving import serving


def test_serve_with_two_workers_answers_from_both(world, database_url: str, tmp_path: Path) -> None:
    import httpx

    from tests.conftest import SETTINGS, token
    from tests.serving import serving

    env = {"DATABASE_URL": database_url, "EXPENSEGRAPH_JWT_SECRET": SETTINGS.jwt_secret,
           "EXPENSEGRAPH_DATA_DIR": str(tmp_path)}  # fmt: skip
    with serving(tmp_path, env, workers=2) as server:
        headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
        for _ in range(4):
            response = httpx.post(f"{server.url}/graphql", json={"query": "{ viewer { credential } }"},
                                  headers=headers, timeout=10)  # fmt: skip
            assert response.json()["data"] == {"viewer": {"credential": "MEMBER"}}
        assert server.log.read_text().count("Started server process") == 2


def test_sigterm_stops_the_embedded_database_too(tmp_path: Path) -> None:
    # uvicorn re-raises SIGTERM after its shutdown; the default action skipped atexit and
    # left the embedded PostgreSQL running (and its handle list stale for the next start)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["EXPENSEGRAPH_DATA_DIR"] = str(tmp_path / "data")
    with serving(tmp_path, env) as served:
        pidfile = tmp_path / "data" / "pgdata" / "postmaster.pid"
        postmaster = int(pidfile.read_text().split()[0])
        served.process.send_signal(signal.SIGTERM)
        code = served.process.wait(timeout=30)
    deadline = time.monotonic() + 15
    while _alive(postmaster) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert code == 128 + signal.SIGTERM, served.log.read_text()
    assert not _alive(postmaster), "the embedded PostgreSQL outlived `serve`"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _request_lines(log: str) -> list[dict]:
    lines = []
    for line in log.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if "request_id" in record:
                lines.append(record)
    return lines


def test_every_worker_logs_each_request(world, database_url: str, tmp_path: Path) -> None:
    from tests.conftest import token

    requests = 24
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    with serving(tmp_path, cli_env(database_url, tmp_path), workers=2) as server:
        for _ in range(requests):
            # a new connection each time: either worker may accept it
            response = httpx.post(f"{server.url}/graphql", json={"query": "{ viewer { credential } }"},
                                  headers=headers, timeout=10)  # fmt: skip
            assert response.status_code == 200, response.text
        # a line is written once its response is sent
        deadline = time.monotonic() + 10
        while len(_request_lines(server.log.read_text())) < requests:
            assert time.monotonic() < deadline, server.log.read_text()
            time.sleep(0.1)
    log = server.log.read_text()
    assert log.count("Started server process") == 2
    assert len(_request_lines(log)) == requests, log


def test_serve_prints_the_graphiql_url_only_when_graphiql_is_on(
    world, database_url: str, tmp_path: Path
) -> None:
    for on in (False, True):
        env = {**cli_env(database_url, tmp_path), "EXPENSEGRAPH_GRAPHIQL": str(int(on))}
        with serving(tmp_path, env) as server:
            log = server.log.read_text()
        assert (f"GraphiQL: http://127.0.0.1:{server.port}/graphql" in log) is on, log
