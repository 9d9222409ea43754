"""`expensegraph demo` end to end: a real server process on an embedded PostgreSQL.

This is what the README's first command runs; the credentials it prints must work and
the two demo businesses must not see each other.
"""

import asyncio
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.commands.demo import demo_credentials
from app.http import create_app
from db.connect import create_engine
from tests.conftest import SETTINGS, fresh_database, gql
from tests.serving import free_port, listening, stop

ROOT = Path(__file__).resolve().parents[2]
CREDENTIAL = re.compile(
    r"^(ADMIN|MANAGER|EMPLOYEE) token \(([^,]+), ([^)]+)\): (\S+)$|^API key \(.*\): (\S+)$"
)


@contextmanager
def _running_demo(
    env: dict[str, str], *args: str, workers: int = 1
) -> Iterator[tuple[str, list[str]]]:
    """Start `expensegraph demo`, wait until every worker is up; yield its URL and output."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    started = threading.Semaphore(0)

    def read() -> None:  # a thread, so a silent hang cannot block the test forever
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if "Application startup complete" in line:
                started.release()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        for _ in range(workers):
            if not started.acquire(timeout=max(0.0, deadline - time.monotonic())):
                pytest.fail("demo did not start within 120 s:\n" + "\n".join(lines))
        while not listening(port):  # one worker's uvicorn binds its port after its startup
            assert process.poll() is None and time.monotonic() < deadline, "\n".join(lines)
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", lines
    finally:
        stop(process)
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "EXPENSEGRAPH_JWT_SECRET")
    }
    env["EXPENSEGRAPH_DATA_DIR"] = str(tmp_path_factory.mktemp("demo"))
    with _running_demo(env) as running:
        yield running


def _credentials(lines: list[str]) -> list[tuple[str, str]]:
    found = []
    for line in lines:
        match = CREDENTIAL.match(line)
        if match:
            found.append(("API key", match[5]) if match[5] else (match[1], match[4]))
    return found


def test_demo_prints_credentials_in_order(demo: tuple[str, list[str]]) -> None:
    _, lines = demo
    roles = [role for role, _ in _credentials(lines)]
    assert roles[:4] == ["ADMIN", "MANAGER", "EMPLOYEE", "API key"], "\n".join(lines)
    # and how to watch events live in GraphiQL (tests/browser runs that subscription)
    assert any("subscription { events {" in line for line in lines), "\n".join(lines)


def test_demo_credentials_work_and_businesses_are_isolated(demo: tuple[str, list[str]]) -> None:
    base, lines = demo
    creds = _credentials(lines)
    query = "{ viewer { business { name } } expenses(first: 100) { totalCount nodes { id } } }"

    def ask(credential: str) -> dict:
        response = httpx.post(
            f"{base}/graphql",
            json={"query": query},
            headers={"Authorization": f"Bearer {credential}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    seen = {role: ask(credential) for role, credential in creds[:4]}
    other_role, other = creds[4]
    assert other_role == "ADMIN"
    other_data = ask(other)
    acme = {node["id"] for node in seen["ADMIN"]["expenses"]["nodes"]}
    assert seen["ADMIN"]["viewer"]["business"]["name"] != other_data["viewer"]["business"]["name"]
    assert acme.isdisjoint(node["id"] for node in other_data["expenses"]["nodes"])
    # the admin sees the most, the employee the least, the API key the whole business
    counts = {role: data["expenses"]["totalCount"] for role, data in seen.items()}
    assert counts["ADMIN"] == counts["API key"] > counts["MANAGER"] > counts["EMPLOYEE"] > 0
    assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200


def test_demo_employee_can_record_a_foreign_expense_today(demo: tuple[str, list[str]]) -> None:
    base, lines = demo
    employee = dict(_credentials(lines))["EMPLOYEE"]
    mutation = """mutation($i: CreateExpenseInput!) { createExpense(input: $i) {
        expense { status homeAmount { currency } fxRate } userErrors { code message } } }"""
    today = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    variables = {
        "i": {
            "amount": {"amount": "12.50", "currency": "USD"},
            "spentAt": today,
            "merchantName": "Demo Cafe",
        }
    }
    response = httpx.post(
        f"{base}/graphql", json={"query": mutation, "variables": variables},
        headers={"Authorization": f"Bearer {employee}"}, timeout=10,
    )  # fmt: skip
    payload = response.json()["data"]["createExpense"]
    assert payload["userErrors"] == [], payload
    assert payload["expense"]["status"] == "DRAFT"
    assert payload["expense"]["homeAmount"]["currency"] == "GBP"


def test_demo_on_a_busy_port_says_so_before_anything_else() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # an unreachable database: the port must be checked before the database is touched
        env = {**os.environ, "DATABASE_URL": "postgresql://u:p@127.0.0.1:1/x"}
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", "demo", "--port", str(port)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert f"port {port} is in use; pass --port N" in result.stderr
    assert "token" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


async def test_each_demo_start_leaves_one_live_demo_key_that_works(server_url: str) -> None:
    url = await asyncio.to_thread(fresh_database, server_url)
    printed = [await demo_credentials(SETTINGS, url) for _ in range(3)]
    keys = [
        key
        for text_ in printed
        for role, key in _credentials(text_.splitlines())
        if role == "API key"
    ]
    assert len(keys) == 3 and len(set(keys)) == 3
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            live = await conn.scalar(text(
                "SELECT count(*) FROM api_keys JOIN businesses b ON b.id = business_id "
                "WHERE b.name = 'Acme Corp' AND revoked_at IS NULL"
            ))  # fmt: skip
        assert live == 1
        app = create_app(SETTINGS, url, engine=engine)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            data = await gql(client, "{ viewer { credential business { name } } }", as_=keys[-1])
            assert data["viewer"] == {"credential": "API_KEY", "business": {"name": "Acme Corp"}}
            old = await client.post("/graphql", json={"query": "{ viewer { credential } }"},
                                    headers={"Authorization": f"Bearer {keys[0]}"})  # fmt: skip
            assert old.status_code == 401 or "errors" in old.json(), old.text
    finally:
        await engine.dispose()


def test_demo_workers_show_the_schema_as_a_single_process_demo_does(
    server_url: str, tmp_path: Path
) -> None:
    # workers build their settings from the environment; demo's development defaults
    # (GraphiQL and introspection on) must reach them
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPENSEGRAPH_")}
    env["DATABASE_URL"] = fresh_database(server_url)
    env["EXPENSEGRAPH_DATA_DIR"] = str(tmp_path)
    with _running_demo(env, workers=2) as (base, lines):
        admin = _credentials(lines)[0][1]
        for _ in range(8):  # a new connection each time: either worker may accept it
            response = httpx.post(f"{base}/graphql", json={"query": "{ __schema { queryType { name } } }"},
                                  timeout=10)  # fmt: skip
            body = response.json()
            assert body.get("data") == {"__schema": {"queryType": {"name": "Query"}}}, body
            # and the printed development tokens work on every worker
            viewer = httpx.post(f"{base}/graphql", json={"query": "{ viewer { credential } }"},
                                headers={"Authorization": f"Bearer {admin}"}, timeout=10)  # fmt: skip
            assert viewer.status_code == 200 and "errors" not in viewer.json(), viewer.text


def test_demo_allows_its_own_origin_and_no_other(demo: tuple[str, list[str]]) -> None:
    base, _ = demo
    port = base.rsplit(":", 1)[1].split("/")[0]

    def preflight(origin: str) -> httpx.Response:
        headers = {"Origin": origin, "Access-Control-Request-Method": "POST",
                   "Access-Control-Request-Headers": "authorization, content-type"}  # fmt: skip
        return httpx.options(f"{base}/graphql", headers=headers, timeout=10)

    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        answer = preflight(origin)
        assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == origin
    assert preflight("https://elsewhere.example").status_code == 400


def test_demo_receipts_file_themselves_within_seconds(demo: tuple[str, list[str]]) -> None:
    # the demo queues two PDFs and a photo; its worker reads them (the photo by Tesseract) and
    # attaches each, or offers the photo's expense as its best candidate for a person
    base, lines = demo
    assert any("receipts queued for the worker" in line for line in lines), lines
    admin = _credentials(lines)[0][1]
    query = (
        "{ receipts(first: 10) { nodes { fileName processing expense { merchantName }"
        " extracted { merchantName } matchCandidates { expense { merchantName } } } } }"
    )
    deadline, done = time.monotonic() + 60, []
    while time.monotonic() < deadline:
        response = httpx.post(f"{base}/graphql", json={"query": query},
                              headers={"Authorization": f"Bearer {admin}"}, timeout=10)  # fmt: skip
        body = response.json()
        assert body.get("data"), body
        ours = [
            n
            for n in body["data"]["receipts"]["nodes"]
            if n["fileName"].startswith("demo-receipt-")
        ]
        done = [n for n in ours if n["processing"] == "DONE"]
        if len(ours) == 3 and len(done) == 3:
            break
        time.sleep(1)
    assert len(done) == 3, ours
    for receipt in done:
        merchant = receipt["extracted"]["merchantName"]
        if receipt["fileName"].endswith(".pdf"):
            assert receipt["expense"] == {"merchantName": merchant}, receipt
        else:
            filed = receipt["expense"] or receipt["matchCandidates"][0]["expense"]
            assert filed == {"merchantName": merchant}, receipt
