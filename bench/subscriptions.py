"""Subscriptions under load: ``python -m bench.subscriptions [--subscribers 1000] [--rate 50]``.

Starts ``expensegraph serve --workers 1`` on the benchmark's data dir, then
``--client-processes`` processes of websocket clients (graphql-transport-ws; this module
run with ``--clients N``) that open ``--subscribers`` connections between them, all as the
biggest tenant's ADMIN subscribed to ``events(types: ["bench.tick"])``. This process only
commits: ``--rate`` events per second for ``--duration`` seconds straight into the feed (one
INSERT and COMMIT each, as a change would), so the clients' parsing does not slow the
commits. It measures, per delivered message, the time from that event's COMMIT returning
to the message arriving (one clock: the processes share the machine), the server's memory
before and after the subscribers connected, its CPU per delivered message, and how many
connections the server closed (4408: too slow). Bounded in time; stops what it started by pid.
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
from db.connect import plain_url

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


def cpu_times(
    server: "subprocess.Popen[bytes]", clients: list[asyncio.subprocess.Process]
) -> list[float]:
    """Return the CPU seconds of the server, each client process and this one."""
    return [cpu_s(server.pid), *(cpu_s(p.pid) for p in clients), cpu_s(os.getpid())]


# ---- a client process: ``--clients N --url U --token T``; "ready" once all subscribed,
# then on a line "done" on stdin, one JSON line: arrival times by event id, closes by code


async def subscriber(url: str, token: str, got: dict[str, list[float]],
                     settled: "Settled", closed: Counter[int]) -> None:  # fmt: skip
    """Subscribe, then note when each message arrives."""
    try:
        async with websockets.connect(
            url, subprotocols=[Subprotocol("graphql-transport-ws")], max_queue=None,
            compression=None,
        ) as ws:  # fmt: skip
            await ws.send(json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            ))  # fmt: skip
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}}))
            settled.one()
            async for raw in ws:
                now = time.time()
                message = json.loads(raw)
                if message.get("type") == "next":
                    got.setdefault(message["payload"]["data"]["events"]["id"], []).append(now)
    except websockets.ConnectionClosed as error:  # the server closed it (4408: too slow)
        closed[error.rcvd.code if error.rcvd is not None else 1006] += 1
        settled.one()


class Settled:
    """Set once ``n`` subscribers have subscribed (or been closed)."""

    def __init__(self, n: int) -> None:
        self.left, self.all = n, asyncio.Event()

    def one(self) -> None:
        self.left -= 1
        if self.left == 0:
            self.all.set()


async def clients(n: int, url: str, token: str) -> None:
    got: dict[str, list[float]] = {}
    settled, closed = Settled(n), Counter[int]()
    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(subscriber(url, token, got, settled, closed)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)
    await settled.all.wait()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "done"
    for task in tasks:
        task.cancel()
    print(json.dumps({"got": got, "closed": closed}), flush=True)


# ---- the benchmark


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
    procs: list[asyncio.subprocess.Process] = []
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
        url = f"ws://127.0.0.1:{port}/graphql"
        shares = [args.subscribers // args.client_processes] * args.client_processes
        shares[0] += args.subscribers - sum(shares)
        for share in shares:
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.subscriptions", "--clients", str(share),
                "--url", url, "--token", facts.token,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                limit=2**30,
            ))  # fmt: skip
        for proc in procs:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 120)
            assert line.strip() == b"ready", line
        await asyncio.sleep(2.0)
        after = rss_mib(server.pid)
        conn = await asyncpg.connect(plain_url(facts.url))
        cpu_before = cpu_times(server, procs)
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
        cpu = [b - a for a, b in zip(cpu_before, cpu_times(server, procs), strict=True)]
        got: dict[str, list[float]] = {}
        closed: Counter[int] = Counter()
        for proc in procs:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(b"done\n")
            await proc.stdin.drain()
            answer = json.loads(await asyncio.wait_for(proc.stdout.readline(), 120))
            for event, times in answer["got"].items():
                got.setdefault(event, []).extend(times)
            closed.update({int(k): v for k, v in answer["closed"].items()})
        await conn.execute("DELETE FROM events WHERE type = 'bench.tick'")
        await conn.close()
        report(args, committed, got, closed, before, after, cpu)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def report(args: argparse.Namespace, committed: dict[str, float], got: dict[str, list[float]],
           closed: Counter[int], before: float, after: float, cpu: list[float]) -> None:  # fmt: skip
    latencies = [(t - committed[event]) * 1000 for event, times in got.items()
                 if event in committed for t in times]  # fmt: skip
    expected = len(committed) * args.subscribers
    print(f"subscribers {args.subscribers} in {args.client_processes} client processes, "
          f"{len(committed)} events at {args.rate}/s asked for {args.duration} s")  # fmt: skip
    print(
        f"messages delivered {len(latencies)} of {expected} ({len(latencies) / max(expected, 1):.1%})"
    )
    if latencies:
        q = statistics.quantiles(latencies, n=100)
        print(f"commit to delivery: p50 {statistics.median(latencies):.1f} ms, "
              f"p99 {q[98]:.1f} ms, max {max(latencies):.1f} ms")  # fmt: skip
    print(f"server RSS {before:.1f} MiB before, {after:.1f} MiB with the subscribers: "
          f"{(after - before) * 1024 / args.subscribers:.1f} KiB per subscriber")  # fmt: skip
    print(f"connections closed by the server, by code: {dict(closed) or 'none'}")
    server, *client, own = cpu
    print(f"CPU while events came (+3 s): server {server:.1f} s "
          f"({server * 1e6 / max(len(latencies), 1):.0f} µs per delivered message), "
          f"clients {' + '.join(f'{c:.1f}' for c in client)} s, committer {own:.1f} s")  # fmt: skip
    print(f"load average {os.getloadavg()}")


def _event_id(id_: int) -> str:
    from resolvers.ids import urlsafe_b64

    return urlsafe_b64(f"Event:{id_}".encode())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.subscriptions", description=__doc__)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parent / ".data")
    parser.add_argument("--clients", type=int, help=argparse.SUPPRESS)  # a client process
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.clients is not None:
        asyncio.run(clients(args.clients, args.url, args.token))
        return
    facts = data.in_process(args.data_dir)  # before the loop: it runs one of its own
    asyncio.run(asyncio.wait_for(run(args, facts), 600))
    sys.exit(0)


if __name__ == "__main__":
    main()
