"""Server CPU of peerbench's documents in process, and A/B of a switch in one run:
``python -m bench.ab --shape q3 [--requests 12000] [--toggle module:ATTR] [--workers-metrics]``,
or ``--walk``: the modules of this repository one request runs code from, or ``--sql``: the
statements it sends (bench/statement_times.py times them), or ``--profile``:
cProfile of ``--requests`` requests on this process's CPU time (``AB_SORT=cumtime``,
``AB_ROWS=N``, ``AB_DUMP=file`` in the environment change its listing or keep its stats).

Requests go straight to the ASGI app (bench/executors.py ``call``: no client library, no
sockets), so the CPU this process spends is the server's; PostgreSQL's is read from
``/proc`` for the benchmark's server and its backends.
With ``--toggle``, a module attribute (a switch a change under test adds for the purpose)
is set False and True for alternate chunks of ``--chunk`` requests: both sides see the
same machine at nearly the same time, which on a shared 2-core box varies more between two
runs than most changes do. ``--workers-metrics`` measures as one of several workers does
(prometheus_client's multiprocess mode, app/scrape.py ``WorkerMetrics``).

The documents are peerbench's (bench/peerbench/bare/), and ``sync`` bench/shapes.py's
incremental sync (100 expenses changed since a date given as a variable); the data dir is
the benchmark's (``--data-dir``, seeded as bench/run.py seeds it); q1, q2 and sync ask for
``--business``'s data, q3 for ``--expense``, as an ADMIN of its business (peerbench's check
entries).
"""

import argparse
import asyncio
import atexit
import importlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]
DOCUMENTS = REPOSITORY / "bench" / "peerbench" / "bare"
# peerbench's documents, and an integration's incremental sync (bench/shapes.py), the one
# whose filter comes in a variable
SHAPES = {
    "q1": "q1.graphql",
    "q2": "q2.graphql",
    "q3": "q3.graphql",
    "typename": None,
    "sync": None,
}


def pg_cpu_s(postmaster: int) -> float:
    """Return the CPU seconds the PostgreSQL server ``postmaster`` and its backends have used
    (not those of other servers on this machine: test suites start their own)."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(pid) == postmaster or int(fields[1]) == postmaster:  # fields[1]: the parent
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def measure(args: argparse.Namespace, run: Any) -> None:
    """Serve the shape's request ``args.requests`` times; print CPU per request."""
    import asyncpg
    import orjson

    from app.auth import issue_token
    from app.http import create_app, settle_gc
    from bench.executors import call
    from bench.shapes import INCREMENTAL_SYNC, SYNC_SINCE
    from db.connect import create_engine, plain_url
    from resolvers.ids import encode_id

    conn = await asyncpg.connect(plain_url(run.url))
    try:
        business = args.business
        if args.shape == "q3":
            business = await conn.fetchval(
                "SELECT business_id FROM expenses WHERE id = $1", args.expense
            )
        data_directory = await conn.fetchval("SHOW data_directory")
        admin = await conn.fetchval(
            "SELECT id FROM members WHERE business_id = $1 AND role = 'ADMIN' ORDER BY id LIMIT 1",
            business,
        )
    finally:
        await conn.close()
    postmaster = int((Path(data_directory) / "postmaster.pid").read_text().split()[0])
    if admin is None:
        raise SystemExit(f"no ADMIN in business {business}: seed the data dir first (bench.run)")
    name = SHAPES[args.shape]
    query = "{ __typename }" if name is None else (DOCUMENTS / name).read_text()
    variables: dict[str, Any] = {}
    if args.shape == "q3":
        variables = {"id": encode_id("Expense", args.expense)}
    elif args.shape == "sync":
        query, variables = INCREMENTAL_SYNC, {"since": SYNC_SINCE.isoformat()}
    body = orjson.dumps({"query": query, "variables": variables})
    token = issue_token(run.settings, business_id=business, member_id=admin)
    engine = create_engine(run.url, run.settings.pool)
    app: Any = create_app(run.settings, run.url, engine=engine)
    if args.workers_metrics:
        from app.scrape import across_workers

        app = across_workers(app)
    startup: asyncio.Queue[Any] = asyncio.Queue()
    started: asyncio.Queue[Any] = asyncio.Queue()
    await startup.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, startup.get, started.put)
    )
    await started.get()
    settle_gc()
    try:
        for _ in range(5):  # learnt by the lane, plans and statements prepared
            answer = await call(app, body, token)
        if b'"data"' not in answer or b'"errors"' in answer:
            raise SystemExit(f"{args.shape} failed: {answer[:300]!r}")
        if args.walk:
            await walk(app, body, token)
            return
        if args.sql:
            await sent_sql(app, body, token)
            return
        if args.profile:
            await profiled(app, body, token, args.requests)
            return
        switch = None
        if args.toggle:
            module_name, attribute = args.toggle.split(":")
            switch = (importlib.import_module(module_name), attribute)
        cpu: dict[bool, list[float]] = {False: [], True: []}
        pg: dict[bool, float] = {False: 0.0, True: 0.0}
        for chunk in range(max(args.requests // args.chunk, 2)):
            side = bool(chunk % 2) if switch else True
            if switch:
                setattr(*switch, side)
            # /proc read outside the timed window: ~6 ms, 0.06 ms a request of a chunk
            pg_began = pg_cpu_s(postmaster)
            began = time.process_time()
            for _ in range(args.chunk):
                await call(app, body, token)
            cpu[side].append((time.process_time() - began) * 1000 / args.chunk)
            pg[side] += pg_cpu_s(postmaster) - pg_began
        for side in (False, True) if switch else (True,):
            label = f"{args.toggle.split(':')[1]}={side}" if switch else args.shape
            values = cpu[side]
            print(
                f"{label}: server CPU ms a request: median {statistics.median(values):.3f}, "
                f"mean {statistics.mean(values):.3f}, min {min(values):.3f} "
                f"({len(values)} chunks of {args.chunk}); PostgreSQL "
                f"{pg[side] * 1000 / (len(values) * args.chunk):.3f}"
            )
    finally:
        await startup.put({"type": "lifespan.shutdown"})
        await started.get()
        await lifespan
        await engine.dispose()
    print(f"load average after: {os.getloadavg()}")


async def walk(app: Any, body: bytes, token: str) -> None:
    """Print the modules of this repository one request runs code from (issue 15's walk)."""
    import cProfile

    from bench.executors import call

    profile = cProfile.Profile()
    profile.enable()
    await call(app, body, token)
    profile.disable()
    root = f"{REPOSITORY}{os.sep}"
    # an entry's code is a code object, or a string for a builtin
    files = {e.code.co_filename for e in profile.getstats() if not isinstance(e.code, str)}
    modules = sorted(
        name.removeprefix(root)
        for name in files
        if name.startswith(root) and not name.startswith((f"{root}bench", f"{root}.venv"))
    )
    print(f"{len(modules)} modules: {' '.join(modules)}")


async def sent_sql(app: Any, body: bytes, token: str) -> None:
    """Print the statements one request sends, as PostgreSQL gets them (merged ones too)."""
    import asyncpg

    from bench.executors import call

    sent: list[str] = []
    fetch = asyncpg.Connection.fetch

    async def recorded(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(query)
        return await fetch(self, query, *args, **kwargs)

    asyncpg.Connection.fetch = recorded  # type: ignore[method-assign]
    try:
        await call(app, body, token)
    finally:
        asyncpg.Connection.fetch = fetch  # type: ignore[method-assign]
    print("\n;\n".join(sent))


async def profiled(app: Any, body: bytes, token: str, requests: int) -> None:
    """Print where ``requests`` requests spend this process's CPU, by own time (cProfile)."""
    import cProfile
    import pstats

    from bench.executors import call

    # CPU time, not wall: on a shared box a write to PostgreSQL can wait for its backend
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(requests):
        await call(app, body, token)
    profile.disable()
    if os.environ.get("AB_DUMP"):
        profile.dump_stats(os.environ["AB_DUMP"])
    pstats.Stats(profile).sort_stats(os.environ.get("AB_SORT", "tottime")).print_stats(
        int(os.environ.get("AB_ROWS", "45"))
    )


def main() -> None:
    """Measure one shape on the benchmark's data dir."""
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="q3")
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--toggle", default="", help="module:ATTR switched per chunk")
    parser.add_argument("--workers-metrics", action="store_true")
    parser.add_argument("--walk", action="store_true", help="list the modules a request runs")
    parser.add_argument("--profile", action="store_true", help="cProfile --requests requests")
    parser.add_argument("--sql", action="store_true", help="print the statements one sends")
    parser.add_argument("--business", type=int, default=17)
    parser.add_argument("--expense", type=int, default=123457)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parent / ".data")
    args = parser.parse_args()
    if args.workers_metrics:  # read when prometheus_client is imported: before the app
        metrics_dir = tempfile.mkdtemp(prefix="bench-ab-metrics-")
        atexit.register(shutil.rmtree, metrics_dir, ignore_errors=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    import uvloop

    from bench import data

    # --sql prints SQL alone on stdout
    print(f"load average before: {os.getloadavg()}", file=sys.stderr if args.sql else sys.stdout)
    run = data.in_process(args.data_dir)
    uvloop.run(measure(args, run))


if __name__ == "__main__":
    main()
