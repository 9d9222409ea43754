"""One worker's receipt throughput, and upload latency with the worker idle and busy.

    python -m bench.receipt_throughput --n 40

On a fresh embedded database (bench/.data/receipts): a business, `expensegraph serve` and a
member's token. Phase 1: `--n` photo receipts uploaded one after another with no worker
running (upload latency, worker idle). Phase 2: `expensegraph worker` starts on that
backlog and `--n` more are uploaded while it works (upload latency, worker busy). Then it
waits until every receipt is DONE or FAILED and reports receipts per minute and the time
from upload to DONE (p50, p99) of the receipts uploaded while the worker ran.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import time
from pathlib import Path

import asyncpg
import httpx

from bench.data import child_env, cli_path, open_database
from extraction.samples import corpus

DATA_DIR = Path(__file__).resolve().parent / ".data" / "receipts"
UPLOAD = (
    "mutation($file: Upload!) { uploadReceipt(file: $file) { receipt { id } userErrors { code } } }"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([cli_path(), *args], env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return done.stdout


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _upload(client: httpx.AsyncClient, token: str, data: bytes, kind: str) -> float:
    operations = json.dumps({"query": UPLOAD, "variables": {"file": None}})
    started = time.perf_counter()
    response = await client.post(
        "/graphql",
        data={"operations": operations, "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (f"receipt.{kind}", data, f"image/{kind}")},
        headers={"Authorization": f"Bearer {token}", "GraphQL-Preflight": "1"},
    )
    elapsed = time.perf_counter() - started
    body = response.json()
    assert response.status_code == 200 and body["data"]["uploadReceipt"]["receipt"], body
    return elapsed


async def _uploads(base: str, token: str, files: list[tuple[str, bytes]]) -> list[float]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        return [await _upload(client, token, data, kind) for kind, data in files]


async def _finished(url: str, expected: int) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg:", "postgresql:", 1))
    try:
        while True:
            rows = await conn.fetch(
                "SELECT id, processing, uploaded_at, processed_at FROM receipts ORDER BY id"
            )
            if len(rows) >= expected and all(r["processing"] in ("DONE", "FAILED") for r in rows):
                return list(rows)
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="receipts per phase (default 40)")
    args = parser.parse_args()
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    DATA_DIR.mkdir(parents=True)
    url = open_database(DATA_DIR)
    secret = "bench-" + "s" * 40
    env = child_env(DATA_DIR, DATABASE_URL=url, EXPENSEGRAPH_JWT_SECRET=secret,
                    EXPENSEGRAPH_RATE_BUCKET_SIZE="1000000000",
                    EXPENSEGRAPH_RATE_RESTORE_PER_SECOND="1000000")  # fmt: skip
    _run("migrate", env=env)
    ids = dict(
        line.split(": ", 1)
        for line in _run("business", "create", "--name", "Bench Ltd", "--home-currency", "GBP",
                         "--timezone", "Europe/London", "--admin-email", "bench@bench.example",
                         env=env).splitlines()
        if ": " in line
    )  # fmt: skip
    token = _run("token", "--member", "bench@bench.example", "--business", ids["business"],
                 env=env).strip().splitlines()[-1]  # fmt: skip
    photos = [(kind, data) for _, kind, data in corpus(2 * args.n, seed=7, image_share=1.0)]
    port = _free_port()
    server = subprocess.Popen([cli_path(), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    worker = None
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("serve did not start")
            time.sleep(0.2)
        idle = asyncio.run(_uploads(base, token, photos[: args.n]))
        worker_started = time.time()
        worker = subprocess.Popen([cli_path(), "worker"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        busy = asyncio.run(_uploads(base, token, photos[args.n :]))
        rows = asyncio.run(_finished(url, 2 * args.n))
    finally:
        for process in (worker, server):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
    done = [r for r in rows if r["processing"] == "DONE"]
    during = [r for r in done if r["uploaded_at"].timestamp() >= worker_started]
    waits = [(r["processed_at"] - r["uploaded_at"]).total_seconds() for r in during]
    span = max(r["processed_at"] for r in done).timestamp() - worker_started
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(f"receipts: {len(rows)} photos, {len(done)} DONE, {len(rows) - len(done)} FAILED")
    print(f"one worker: {60 * len(done) / span:.1f} receipts per minute ({span:.1f} s)")
    print(
        f"upload to DONE while busy: p50 {_quantile(waits, 0.5):.1f} s, p99 {_quantile(waits, 0.99):.1f} s"
    )
    for name, values in (("idle", idle), ("busy", busy)):
        ms = [1000 * v for v in values]
        print(f"upload latency, worker {name}: p50 {statistics.median(ms):.0f} ms, "
              f"p99 {_quantile(ms, 0.99):.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
