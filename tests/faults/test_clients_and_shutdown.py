"""A real `expensegraph serve` process: clients hanging up mid-request leak nothing, and
SIGTERM lets the request in flight finish, refuses new connections and exits in time.
"""

import asyncio
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from resolvers.ids import encode_id
from tests.conftest import SETTINGS
from tests.faults.conftest import (
    OwnPostgres,
    admin_token,
    app_backends,
    new_card,
    outcome,
    row_locked,
    wait_for_lock_waiter,
)
from tests.serving import listening
from tests.world import World

ROOT = Path(__file__).resolve().parents[2]
GRACE_S = 25  # timeout_graceful_shutdown of `serve` (app/commands/serve.py)
POOL = 10 + 5  # default EXPENSEGRAPH_POOL_SIZE + EXPENSEGRAPH_POOL_OVERFLOW
HEAVY = (
    "{ expenses(first: 100) { totalCount nodes { id merchantName spentAt status"
    " amount { amount currency } homeAmount { amount currency } member { name } team { name }"
    " card { last4 } category { name glCode } receiptMissing policyViolations { code } } } }"
)
LIGHT = "{ viewer { credential } }"
FREEZE = "mutation($id: ID!) { p: freezeCard(id: $id) { card { status } userErrors { code } } }"


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"


def _spawn(own: OwnPostgres, log: Path) -> Served:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ, "DATABASE_URL": own.url, "EXPENSEGRAPH_JWT_SECRET": SETTINGS.jwt_secret,
        "EXPENSEGRAPH_DATA_DIR": str(log.parent),
        # cost and rate limits are tested elsewhere; 50 heavy queries of one admin exceed them
        "EXPENSEGRAPH_MAX_QUERY_COST": "1000000", "EXPENSEGRAPH_RATE_BUCKET_SIZE": "100000000",
        "EXPENSEGRAPH_RATE_RESTORE_PER_SECOND": "1000000",
    }  # fmt: skip
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return Served(process, port, log)


@asynccontextmanager
async def serving(own: OwnPostgres, tmp_path: Path) -> AsyncIterator[Served]:
    """Run `expensegraph serve` on the fault database until the block ends (or it exits)."""
    served = _spawn(own, tmp_path / "serve.log")
    try:
        deadline = time.monotonic() + 60
        # uvicorn binds its port after its startup
        while "Application startup complete" not in served.log.read_text() or not listening(
            served.port
        ):
            alive = served.process.poll() is None
            assert alive and time.monotonic() < deadline, served.log.read_text()[-2000:]
            await asyncio.sleep(0.1)
        yield served
    finally:
        if served.process.poll() is None:
            served.process.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(served.process.wait, 30)
            except subprocess.TimeoutExpired:
                served.process.kill()
                await asyncio.to_thread(served.process.wait, 10)


def _request(port: int, payload: Mapping[str, object], token: str) -> bytes:
    body = orjson.dumps(payload)
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _hang_up(port: int, request: bytes, patience_s: float, reset: bool) -> bool:
    """Send ``request``, wait up to ``patience_s`` for an answer, then hang up.

    Return True when the client left before the first byte of the answer (mid-request).
    ``reset`` closes with a TCP RST (SO_LINGER 0), as a killed client would.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    try:
        answered = bool(await asyncio.wait_for(reader.read(1), patience_s))
    except TimeoutError:
        answered = False
    if reset:
        writer.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )
    writer.close()
    try:
        await writer.wait_closed()
    except ConnectionError:
        pass
    return not answered


async def test_clients_hanging_up_mid_request_leak_no_connection(
    own_pg: OwnPostgres, own_world: World, big_tenant_token: str, tmp_path: Path
) -> None:
    """45 heavy reads and 5 writes waiting for a locked card; all 50 clients hang up."""
    card = await new_card(own_pg, own_world.a)
    write = {"query": FREEZE, "variables": {"id": encode_id("Card", card)}}
    rng = random.Random(5)
    async with serving(own_pg, tmp_path) as served:
        read = _request(served.port, {"query": HEAVY}, big_tenant_token)
        freeze = _request(served.port, write, admin_token(own_world.a))
        async with row_locked(own_pg, "cards", card) as lock:
            # writers leave while they wait for the lock (lock_timeout is 2 s), readers at
            # random points: before the body is read, while waiting for the pool, mid-query
            writers = [
                asyncio.create_task(_hang_up(served.port, freeze, 1.0, n % 2 == 0))
                for n in range(5)
            ]
            await wait_for_lock_waiter(own_pg, count=5)
            readers = [
                _hang_up(served.port, read, rng.uniform(0.01, 0.15), n % 2 == 0) for n in range(45)
            ]
            left_early = await asyncio.wait_for(asyncio.gather(*writers, *readers), 10)
            orphans = [b for b in await app_backends(own_pg) if b["wait"] == "Lock"]
            await lock.release()
        released = time.monotonic()
        backends = await app_backends(own_pg)
        while time.monotonic() - released < 8.0:  # idle_in_transaction_session_timeout is 10 s
            backends = await app_backends(own_pg)
            if all(b["state"] == "idle" for b in backends):
                break
            await asyncio.sleep(0.1)
        settled = time.monotonic() - released
        async with httpx.AsyncClient(timeout=10) as client:
            headers = {"Authorization": f"Bearer {admin_token(own_world.a)}"}
            answers = await asyncio.gather(
                *(client.post(served.url, json={"query": LIGHT}, headers=headers) for _ in range(POOL + 1))
            )  # fmt: skip
        alive = served.process.poll() is None
    busy = [b for b in backends if b["state"] != "idle"]
    log = served.log.read_text()
    facts = (
        f"{sum(left_early)} of 50 clients left mid-request, {len(orphans)} writes of gone "
        f"clients waited for the lock; backends {settled:.2f}s after it was released: "
        f"{len(backends)}, not idle: {busy}"
    )
    # most must leave mid-request for the test to mean anything (the server got faster)
    assert sum(left_early) >= 35, f"too few clients left before their answer: {facts}"
    assert busy == [], f"leaked busy backends: {facts}"
    assert len(backends) <= POOL, f"more backends than the pool holds: {facts}"
    assert orphans, f"no write was in flight when its client left: {facts}"
    lines = [orjson.loads(line) for line in log.splitlines() if line.startswith('{"request_id"')]
    # the writers' (the only requests of this business before the lock was released): each
    # client gone while its write waited is logged 499 once the write ended, nothing sent
    writes = [line["status"] for line in lines if line["business_id"] == own_world.a.id][:5]
    assert writes.count(499) >= len(orphans), f"the writes were logged {writes}: {facts}"
    assert alive and "Traceback" not in log, log[log.find("Traceback") - 1500 :][:5000]
    assert [outcome(a) for a in answers] == ["ok"] * (POOL + 1), (
        f"server does not answer a full pool afterwards: {[outcome(a) for a in answers]}; {facts}"
    )


async def test_sigterm_finishes_the_request_in_flight_and_refuses_new_connections(
    own_pg: OwnPostgres, own_world: World, tmp_path: Path
) -> None:
    """A write waits ~1 s for a locked card while SIGTERM arrives: it still gets its 200."""
    card = await new_card(own_pg, own_world.a)
    variables = {"id": encode_id("Card", card)}
    headers = {"Authorization": f"Bearer {admin_token(own_world.a)}"}
    async with (
        serving(own_pg, tmp_path) as served,
        httpx.AsyncClient(timeout=GRACE_S + 5) as client,
    ):
        async with row_locked(own_pg, "cards", card) as lock:
            in_flight = asyncio.create_task(
                client.post(served.url, json={"query": FREEZE, "variables": variables}, headers=headers)
            )  # fmt: skip
            await wait_for_lock_waiter(own_pg)
            served.process.send_signal(signal.SIGTERM)
            sigterm = time.monotonic()
            refused_after = None
            while refused_after is None and time.monotonic() - sigterm < 3.0:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", served.port)
                except ConnectionRefusedError:
                    refused_after = time.monotonic() - sigterm
                else:
                    writer.close()
                    await writer.wait_closed()
                    await asyncio.sleep(0.05)
            still_waiting = not in_flight.done()
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - sigterm)))
            await lock.release()
        response = await asyncio.wait_for(in_flight, GRACE_S + 5)
        answered_after = time.monotonic() - sigterm
        try:
            code = await asyncio.to_thread(served.process.wait, GRACE_S + 5)
        except subprocess.TimeoutExpired:
            code = None
        exited_after = time.monotonic() - sigterm
    log = served.log.read_text()[-1500:]
    facts = (
        f"refused new connections {refused_after}s after SIGTERM; in-flight answered after "
        f"{answered_after:.2f}s with {response.status_code} {outcome(response)}; exit code "
        f"{code} after {exited_after:.2f}s"
    )
    assert still_waiting, f"the request finished before the lock was released: {facts}"
    assert refused_after is not None, f"new connections still accepted: {facts}\n{log}"
    assert response.status_code == 200 and outcome(response) == "ok", (
        f"{facts}: {response.text[:300]}"
    )
    assert response.json()["data"]["p"]["card"]["status"] == "FROZEN", facts
    # uvicorn ends a graceful shutdown by re-raising the signal it caught: -15 is a clean exit
    assert code in (0, 128 + signal.SIGTERM) and exited_after < GRACE_S, f"{facts}\n{log}"
    assert "Application shutdown complete" in log, f"the lifespan did not dispose the pool: {log}"
