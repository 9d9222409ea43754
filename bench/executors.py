"""What each execution layer saves: ``python -m bench.executors [--shapes list,detail]``.

Calls the ASGI app directly (no HTTP client, no network: only the server's own work) on
the benchmark's data dir, for each shape in four variants: the fast lane on/off
(``EXPENSEGRAPH_FAST_LANE``; off, strawberry and graphql-core run every query) times
plain reads on asyncpg on/off (``db.fastread.ENABLED``). The variants take turns for ``--rounds`` rounds and the
lowest CPU per request of each is kept, so another process's load shifts all of them
alike. Every answer is checked to carry no error.
"""

import argparse
import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

from app.http import create_app, settle_gc
from app.settings import Settings
from bench import data
from bench.shapes import Shape, build_shapes
from db import fastread
from db.connect import create_engine

VARIANTS = (("lane", True), ("lane", False), ("reference", True), ("reference", False))


async def call(app: Any, body: bytes, token: str) -> bytes:
    """Return the body of one POST /graphql answered by ``app``."""
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays: the endpoint's hang-up watch waits
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"host", b"bench"), (b"content-type", b"application/json"),
               (b"authorization", f"Bearer {token}".encode())]  # fmt: skip
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80), "state": {},
    }  # fmt: skip
    await app(scope, receive, send)
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def measure(
    url: str, settings: Settings, token: str, shapes: list[Shape], requests: int, rounds: int
) -> dict[tuple[str, str, bool], float]:
    """Return the lowest CPU ms per request of every (shape, executor, fast reads)."""
    engine = create_engine(url, settings.pool)
    apps = {
        "lane": create_app(settings, url, engine=engine),
        "reference": create_app(
            dataclasses.replace(settings, fast_lane=False, planned_execution=False),
            url,
            engine=engine,
        ),
    }
    settle_gc()  # as `expensegraph serve` does once its app is built
    best: dict[tuple[str, str, bool], float] = {}
    try:
        for shape in shapes:
            body = shape.body()
            for _ in range(rounds):
                for executor, fast in VARIANTS:
                    fastread.ENABLED = fast
                    key = (shape.name, executor, fast)
                    best[key] = min(
                        best.get(key, 1e9), await _cpu_ms(apps[executor], body, token, requests)
                    )
            print(_line(shape.name, best), flush=True)
    finally:
        fastread.ENABLED = True
        await engine.dispose()
    return best


async def _cpu_ms(app: Any, body: bytes, token: str, requests: int) -> float:
    for _ in range(3):  # warm: caches, prepared statements
        answer = await call(app, body, token)
    if b'"errors"' in answer:
        raise SystemExit(f"the shape failed: {answer[:400]!r}")
    started = time.process_time()
    for _ in range(requests):
        await call(app, body, token)
    return (time.process_time() - started) * 1000 / requests


def _line(shape: str, best: dict[tuple[str, str, bool], float]) -> str:
    cells = [f"{best[(shape, executor, fast)]:.2f}" for executor, fast in VARIANTS]
    return f"| {shape} | " + " | ".join(cells) + " |"


def main() -> None:
    """Measure the shapes on the benchmark's data dir and print a table."""
    parser = argparse.ArgumentParser(prog="python -m bench.executors", description=__doc__)
    parser.add_argument("--shapes", default="list,teams,detail,summary,search,sync,floor")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parent / ".data")
    args = parser.parse_args()
    run = data.in_process(args.data_dir)
    names = args.shapes.split(",")
    shapes = [shape for shape in build_shapes(run.facts) if shape.name in names]
    print("server CPU ms per request, in-process (lowest of the rounds)\n")
    print("| shape | lane + asyncpg reads | lane | reference + asyncpg reads | reference |")
    print("|---|---|---|---|---|")
    asyncio.run(measure(run.url, run.settings, run.token, shapes, args.requests, args.rounds))


if __name__ == "__main__":
    main()
