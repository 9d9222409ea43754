"""Benchmark the API on a seeded database: ``python -m bench.run [--quick]`` (see RESULTS.md).

Seeds (or reuses) an embedded PostgreSQL data dir, serves the API as a subprocess, loads it
with wrk for each request shape and concurrency, and measures SQL statements per request
and PostgreSQL's execution time in-process, with loader batching on and then off.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.auth import issue_token
from app.settings import Settings
from bench import data, report
from bench.cpu import CpuMeter, postmaster_pid
from bench.inprocess import profile_shapes
from bench.load import LoadResult, ensure_wrk, run_wrk, warm_up
from bench.report import ModeResult
from bench.server import Server
from bench.shapes import Shape, build_shapes, list_page

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"  # git-ignored: logs, captured SQL, request bodies


def _parser() -> argparse.ArgumentParser:
    """Return the command line's parser."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="concurrency 1 and 8, 5 s each")
    parser.add_argument("--data-dir", type=Path, default=BENCH_DIR / ".data")
    parser.add_argument("--duration", type=int, help="seconds per wrk run (default 10, quick 5)")
    parser.add_argument("--concurrency", help="comma-separated (default 1,8,32, quick 1,8)")
    parser.add_argument(
        "--shapes",
        help="comma-separated subset of list,teams,detail,summary,search,sync,floor,q1,q2,q3",
    )
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument(
        "--keep-rate-limit",
        action="store_true",
        help="keep the per-credential rate limit (by default lifted for the benchmark)",
    )
    parser.add_argument(
        "--batching-only", action="store_true", help="skip the run without batching"
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=BENCH_DIR / "RESULTS.md",
        help="file whose generated block a full run replaces",
    )
    parser.add_argument(
        "--write-results",
        action=argparse.BooleanOptionalAction,
        help="update --results (default: only for a full default run)",
    )
    parser.add_argument("--businesses", type=int, default=200)
    parser.add_argument("--expenses", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command line's options, defaults resolved."""
    args = _parser().parse_args(argv)
    args.duration = args.duration or (5 if args.quick else 10)
    args.concurrency = [
        int(c) for c in (args.concurrency or ("1,8" if args.quick else "1,8,32")).split(",")
    ]
    default_run = not (
        args.quick
        or args.shapes
        or args.batching_only
        or args.keep_rate_limit
        or args.workers != 1
        or args.concurrency != [1, 8, 32]
    )
    if args.write_results is None:
        args.write_results = default_run and args.duration == 10
    return args


def prepare_data(args: argparse.Namespace) -> data.Facts:
    """Start the embedded server, seed it if it holds too few expenses, return its facts."""
    args.data_dir.mkdir(parents=True, exist_ok=True)
    print(f"Data dir: {args.data_dir}", flush=True)
    url = data.open_database(args.data_dir)
    count = asyncio.run(data.count_expenses(url))
    if count < args.expenses:
        print(f"The data dir holds {count:,} expenses; seeding {args.expenses:,}.", flush=True)
        data.seed(args.data_dir, businesses=args.businesses, expenses=args.expenses, seed=args.seed)
    asyncio.run(data.vacuum_if_never_vacuumed(url))
    return asyncio.run(data.facts(url))


def run_mode(
    args: argparse.Namespace, facts: data.Facts, token: str, shapes: list[Shape], batching: bool
) -> ModeResult:
    """Measure every shape with loader batching on or off: SQL in-process, then load."""
    mode = ModeResult(batching=batching)
    env = data.app_env(batching=batching, keep_rate_limit=args.keep_rate_limit)
    tag = "batched" if batching else "unbatched"
    settings = Settings.from_env(data.child_env(args.data_dir, **env))
    print(f"\n== {mode.title}: SQL per request (in-process) ...", flush=True)
    profiled = [list_page(5), *shapes] if any(s.name == "list" for s in shapes) else shapes
    mode.sql = asyncio.run(
        profile_shapes(settings, facts.database_url, token, profiled, OUT_DIR / "sql" / tag)
    )
    postmaster = postmaster_pid(args.data_dir.resolve() / "pgdata")
    with Server(args.data_dir, OUT_DIR / f"server-{tag}.log", env, args.workers) as server:
        print(f"Server pid {server.pid} on {server.url}", flush=True)
        meter = CpuMeter(server.pid, postmaster)
        wrk_log = OUT_DIR / f"wrk-{tag}.log"
        wrk_log.write_text("")
        for shape in shapes:
            failure = warm_up(server.url, shape.body(), token)
            if failure:
                print(f"  {shape.name}: warm-up answered an error: {failure[:300]}", flush=True)
            mode.load[shape.name] = load_shape(args, server, shape, token, meter, wrk_log)
    print(f"\n{report.page_size_line(mode)}\n\n{report.table(mode)}\n", flush=True)
    return mode


def load_shape(
    args: argparse.Namespace,
    server: Server,
    shape: Shape,
    token: str,
    meter: CpuMeter,
    wrk_log: Path,
) -> list[LoadResult]:
    """Run wrk on one shape at each concurrency; a failed run is reported and skipped."""
    results = []
    for concurrency in args.concurrency:
        try:
            result = run_wrk(
                ensure_wrk(),
                server.url,
                OUT_DIR / "bodies" / f"{shape.name}.json",
                token,
                concurrency=concurrency,
                duration_s=args.duration,
                meter=meter,
                log_path=wrk_log,
            )
        except (subprocess.SubprocessError, RuntimeError) as error:
            print(f"  {shape.name} c={concurrency}: wrk failed: {error}", flush=True)
            continue
        results.append(result)
        print(
            f"  {shape.name:8} c={concurrency:<3} {result.requests_per_s:8.1f} req/s  "
            f"p50 {result.p50_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms  errors {result.errors}",
            flush=True,
        )
    return results


def code_line(at_start: str, at_end: str) -> str:
    """Return the code version, or both when the code changed during the run."""
    if at_start.split(" (")[0] == at_end.split(" (")[0]:
        return at_end
    return (
        f"CHANGED DURING THE RUN (others are editing): {at_start} at the start, {at_end} at the end"
    )


@dataclass(frozen=True)
class Start:
    """What the run's header reports as it was when the run began."""

    at: datetime
    clock: float  # time.monotonic()
    load: tuple[float, float, float]
    code: str

    @classmethod
    def now(cls) -> "Start":
        """Return the machine's and the code's state now."""
        at, clock, load = datetime.now(UTC), time.monotonic(), os.getloadavg()
        return cls(at, clock, load, report.code_version(BENCH_DIR.parent))


def header(args: argparse.Namespace, facts: data.Facts, start: Start) -> list[str]:
    """Return the lines that say when, how and on what this run was made."""
    command = f"{Path(sys.executable)} -m bench.run {' '.join(sys.argv[1:])}".strip()
    return [
        f"Date: {start.at:%Y-%m-%d %H:%M} UTC (start); wall time "
        f"{time.monotonic() - start.clock:.0f} s",
        f"Command (from the repo root): `{command}`",
        f"Machine: {report.machine(facts.postgres_version, start.load)}",
        f"Code: {code_line(start.code, report.code_version(BENCH_DIR.parent))}",
        f"Data: `{args.data_dir}`, {facts.total_expenses:,} expenses (seed {args.seed}); biggest "
        f"tenant id {facts.business_id} with {facts.business_expenses:,} expenses, as its ADMIN; "
        f'search term "{facts.merchant_term}"',
        f"Load: wrk, {args.duration} s per run, concurrency {', '.join(map(str, args.concurrency))}, "
        "up to 2 wrk threads on the same 2 cores as the server and PostgreSQL",
        f"Server: `expensegraph serve`, {args.workers} worker process(es), "
        + (
            "rate limit as configured"
            if args.keep_rate_limit
            else "rate-limit bucket lifted (EXPENSEGRAPH_RATE_BUCKET_SIZE and "
            f"_RESTORE_PER_SECOND = {data.UNLIMITED:.0e}); query costs are still computed"
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print (and maybe write) its results."""
    args = parse_args(argv)
    start = Start.now()
    ensure_wrk()
    facts = prepare_data(args)
    settings = Settings.from_env(data.child_env(args.data_dir))
    token = issue_token(settings, business_id=facts.business_id, member_id=facts.admin_member_id)
    shapes = build_shapes(facts)
    if args.shapes:
        shapes = [s for s in shapes if s.name in args.shapes.split(",")]
    for shape in shapes:
        body = OUT_DIR / "bodies" / f"{shape.name}.json"
        body.parent.mkdir(parents=True, exist_ok=True)
        body.write_bytes(shape.body())
    modes = [run_mode(args, facts, token, shapes, batching=True)]
    if not args.batching_only:
        modes.append(run_mode(args, facts, token, shapes, batching=False))
    generated = report.compose(header(args, facts, start), modes)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (OUT_DIR / f"results-{stamp}.md").write_text(generated)
    print(generated)
    if args.write_results:
        report.write_results(args.results, generated)
        print(f"Wrote {args.results}")


if __name__ == "__main__":
    main()
