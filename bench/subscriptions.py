"""Subscriptions under load: ``python -m bench.subscriptions [--subscribers 1000] [--rate 50]``.

Starts ``expensegraph serve --workers 1`` on the benchmark's data dir, opens
``--subscribers`` websocket clients (graphql-transport-ws) in this process, all as the
biggest tenant's ADMIN subscribed to ``events(types: ["bench.tick"])``, then commits
``--rate`` events per second for ``--duration`` seconds straight into the feed (one INSERT
and COMMIT each, as a change would) and measures, per delivered message, the time from
that event's COMMIT returning to the message arriving, and the server's memory before
and after the subscribers connected, and how many connections the server closed (4408:
too slow). Bounded in time; stops the server by its pid.
"""

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import asyncpg
import websockets
from websockets.typing import Subprotocol

from bench import data
from bench.server import free_port
from db.engine import plain_url

QUERY = 'subscription { events(types: ["bench.tick"]) { id } }'


def cpu_s(pid: int) -> float:
    """Return the user and system CPU seconds a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Return the resident memory of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def subscriber(
    url: str,
    token: str,
    got: dict[str, list[float]],
    ready: asyncio.Event,
    state: tuple[list[int], int, Counter[int]],
) -> None:
    """Subscribe, then note when each message arrives; ``state``: subscribed, of, closes."""
    count, n, closed = state
    try:
        async with websockets.connect(
            url, subprotocols=[Subprotocol("graphql-transport-ws")], max_queue=None
        ) as ws:
            await ws.send(json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            ))  # fmt: skip
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}}))
            count[0] += 1
            if count[0] == n:
                ready.set()
            async for raw in ws:
                now = time.time()
                message = json.loads(raw)
                if message.get("type") == "next":
                    got.setdefault(message["payload"]["data"]["events"]["id"], []).append(now)
    except websockets.ConnectionClosed as error:  # the server closed it (4408: too slow)
        closed[error.rcvd.code if error.rcvd is not None else 1006] += 1


async def run(args: argparse.Namespace, facts: data.InProcess) -> None:
    port = free_port()
    # one admin token for every client: its subscription limit lifted (per user in real life)
    env = {
        **data.child_env(args.data_dir, **data.app_env()),
        "EXPENSEGRAPH_SUBSCRIPTIONS_PER_CREDENTIAL": str(args.subscribers + 10),
    }
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before any load
        [data.cli_path(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    tasks: list[asyncio.Task[None]] = []
    try:
        for _ in range(300):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        before = rss_mib(server.pid)
        got: dict[str, list[float]] = {}
        ready, count, closed = asyncio.Event(), [0], Counter[int]()
        url = f"ws://127.0.0.1:{port}/graphql"
        for i in range(args.subscribers):
            tasks.append(
                asyncio.create_task(
                    subscriber(url, facts.token, got, ready, (count, args.subscribers, closed))
                )
            )
            if i % 50 == 49:
                await asyncio.sleep(0.05)
        await asyncio.wait_for(ready.wait(), 120)
        await asyncio.sleep(2.0)
        after = rss_mib(server.pid)
        conn = await asyncpg.connect(plain_url(facts.url))
        server_cpu, own_cpu = cpu_s(server.pid), cpu_s(os.getpid())
        committed: dict[str, float] = {}
        interval, end = 1 / args.rate, time.monotonic() + args.duration
        next_at = time.monotonic()
        while time.monotonic() < end:
            async with conn.transaction():
                id_ = await conn.fetchval(
                    "INSERT INTO events (business_id, type, object_type, object_id)"
                    " VALUES ($1, 'bench.tick', 'Expense', 1) RETURNING id", facts.facts.business_id,
                )  # fmt: skip
            committed[_event_id(id_)] = time.time()
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await asyncio.sleep(3.0)  # the last ones arrive
        server_cpu, own_cpu = cpu_s(server.pid) - server_cpu, cpu_s(os.getpid()) - own_cpu
        await conn.execute("DELETE FROM events WHERE type = 'bench.tick'")
        await conn.close()
        latencies = [
            (t - committed[event]) * 1000
            for event, times in got.items()
            if event in committed
            for t in times
        ]
        expected = len(committed) * args.subscribers
        print(
            f"subscribers {args.subscribers}, {len(committed)} events at {args.rate}/s for {args.duration} s"
        )
        print(
            f"messages delivered {len(latencies)} of {expected} ({len(latencies) / max(expected, 1):.1%})"
        )
        if latencies:
            q = statistics.quantiles(latencies, n=100)
            print(
                f"commit to delivery: p50 {statistics.median(latencies):.1f} ms, p99 {q[98]:.1f} ms, max {max(latencies):.1f} ms"
            )
        print(f"server RSS {before:.1f} MiB before, {after:.1f} MiB with the subscribers: "
              f"{(after - before) * 1024 / args.subscribers:.1f} KiB per subscriber")  # fmt: skip
        print(f"connections closed by the server, by code: {dict(closed) or 'none'}")
        print(f"CPU while events came (+3 s): server {server_cpu:.1f} s "
              f"({server_cpu * 1e6 / max(len(latencies), 1):.0f} µs per delivered message), "
              f"clients and committer {own_cpu:.1f} s")  # fmt: skip
        print(f"load average {os.getloadavg()}")
    finally:
        for task in tasks:
            task.cancel()
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def _event_id(id_: int) -> str:
    from resolvers.ids import urlsafe_b64

    return urlsafe_b64(f"Event:{id_}".encode())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.subscriptions", description=__doc__)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parent / ".data")
    args = parser.parse_args()
    facts = data.in_process(args.data_dir)  # before the loop: it runs one of its own
    asyncio.run(asyncio.wait_for(run(args, facts), 600))
    sys.exit(0)


if __name__ == "__main__":
    main()
