"""What the fixed stack costs before any of our code: ``python -m bench.stack_floor``.

The issue's CPU targets (list page ≤ 1 ms, detail ≤ 0.3 ms of server CPU per request)
are compared here with servers that do far less than expensegraph, run exactly as
``expensegraph serve`` runs (uvicorn, uvloop, httptools, one worker), loaded by the same
wrk script and measured by the same CPU meter as ``bench.run``:

- ``asgi``: a bare ASGI callable that reads the body, parses the JSON and answers a
  constant ``{"data":{"__typename":"Query"}}``: uvicorn's own cost per request;
- ``strawberry``: strawberry's ASGI view on a one-field schema answering
  ``{ __typename }``: the stack's GraphQL floor, with no auth and no database;
- ``asgi+N``: the bare callable sending N primary-key SELECTs of one expense over
  asyncpg (no SQLAlchemy, no GraphQL, statements prepared and cached by asyncpg) and
  answering the last row: the cost of N round trips. N = 7 and 9 are the statements a
  list page and a detail request need with one statement per loader level
  (DESIGN.md §5), the member lookup included.

The same module is the ASGI app of each variant (``bench.stack_floor:app``, chosen by
``STACK_FLOOR_VARIANT``) and the driver (``main``).
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import strawberry
from strawberry.asgi import GraphQL

from bench import data
from bench.cpu import CpuMeter, postmaster_pid
from bench.load import LoadResult, ensure_wrk, run_wrk, warm_up
from bench.server import free_port

VARIANTS = ("asgi", "strawberry", "asgi+1", "asgi+7", "asgi+9")
CONSTANT_ANSWER = b'{"data":{"__typename":"Query"}}'
PK_LOOKUP = (
    "SELECT id, member_id, merchant_name, amount_minor, currency, spent_at"
    " FROM expenses WHERE business_id = $1 AND id = $2"
)
READY_TIMEOUT_S = 30


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _bare_app(statements: int) -> Any:
    """Return the bare ASGI callable that sends ``statements`` SELECTs per request."""
    pools: list[asyncpg.Pool] = []
    creating = asyncio.Lock()
    target = (int(os.environ.get("STACK_FLOOR_BUSINESS", "0")),
              int(os.environ.get("STACK_FLOOR_EXPENSE", "0")))  # fmt: skip

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        orjson.loads(await _body(receive) or b"{}")
        answer = CONSTANT_ANSWER
        if statements:
            async with creating:  # concurrent first requests make one pool
                if not pools:
                    dsn = os.environ["STACK_FLOOR_DSN"]
                    pools.append(await asyncpg.create_pool(dsn, min_size=1, max_size=4))
            async with pools[0].acquire() as connection:
                for _ in range(statements):
                    row = await connection.fetchrow(PK_LOOKUP, *target)
            answer = orjson.dumps({"data": dict(row) if row else None})
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    return app


@strawberry.type
class _Query:
    @strawberry.field
    def ping(self) -> str:
        return "pong"


def _variant_app() -> Any:
    variant = os.environ.get("STACK_FLOOR_VARIANT", "asgi")
    if variant == "strawberry":
        return GraphQL(strawberry.Schema(query=_Query), graphql_ide=None)
    return _bare_app(int(variant.partition("+")[2] or 0))


app = _variant_app()


def _serve(variant: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "bench.stack_floor:app", "--host", "127.0.0.1",
               "--port", str(port), "--loop", "uvloop", "--http", "httptools",
               "--no-access-log", "--log-level", "warning"]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            env={**os.environ, **env, "STACK_FLOOR_VARIANT": variant},
            cwd=Path(__file__).resolve().parent.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def measure(
    variant: str, env: dict[str, str], postmaster: int | None, concurrency: list[int], seconds: int
) -> list[LoadResult]:
    """Return one wrk run per concurrency against a fresh server of ``variant``."""
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    server = _serve(variant, port, env, out / "stack-floor-server.log")
    try:
        with tempfile.NamedTemporaryFile(suffix=".json") as body:
            body.write(b'{"query":"{ __typename }"}')
            body.flush()
            _wait_ready(server, url, Path(body.name).read_bytes())
            meter = CpuMeter(server.pid, postmaster)
            return [
                run_wrk(ensure_wrk(), url, Path(body.name), "unused", concurrency=c,
                        duration_s=seconds, meter=meter, log_path=out / "stack-floor-wrk.log")
                for c in concurrency
            ]  # fmt: skip
    finally:
        server.terminate()
        server.wait(30)


def _wait_ready(server: subprocess.Popen[bytes], url: str, body: bytes) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the {url} server exited; see bench/out/stack-floor-server.log")
        try:
            error = warm_up(url, body, "unused", times=20)
        except OSError:
            time.sleep(0.2)
            continue
        if error:
            raise RuntimeError(f"the stack floor server failed: {error}")
        return
    raise RuntimeError(f"{url} was not ready after {READY_TIMEOUT_S} s")


def main() -> None:
    """Measure every variant and print a table of server CPU per request."""
    parser = argparse.ArgumentParser(prog="python -m bench.stack_floor", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parent / ".data")
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--concurrency", default="1,8")
    args = parser.parse_args()
    url = data.open_database(args.data_dir)
    facts = asyncio.run(data.facts(url))
    env = {
        "STACK_FLOOR_DSN": url.replace("postgresql+asyncpg://", "postgresql://", 1),
        "STACK_FLOOR_BUSINESS": str(facts.business_id),
        "STACK_FLOOR_EXPENSE": str(facts.detail_expense_id),
    }
    postmaster = postmaster_pid(args.data_dir.resolve() / "pgdata")
    concurrency = [int(c) for c in args.concurrency.split(",")]
    print("| variant | conc | req/s | p50 ms | errors | server CPU ms/req | PG CPU ms/req |")
    print("|---|---|---|---|---|---|---|")
    for variant in VARIANTS:
        for r in measure(variant, env, postmaster, concurrency, args.duration):
            print(f"| {variant} | {r.concurrency} | {r.requests_per_s:.0f} | {r.p50_ms:.2f} | "
                  f"{r.errors + r.socket_errors} | {r.server_cpu_ms_per_request:.3f} | "
                  f"{r.postgres_cpu_ms_per_request:.3f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
