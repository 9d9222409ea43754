"""PostgreSQL's own time for SQL statements, side by side: ``python -m bench.statement_times``.

Each file holds one statement with ``$n`` placeholders: ``$1`` a business id, and with
``--expenses``, ``$2`` an expense id of it; any later one the business id again (the
statements the fast lane merges repeat it). Each is prepared on one asyncpg connection
and run for random businesses (or live expenses), each time once unmeasured, so that
every statement finds the same pages in memory, then under ``EXPLAIN (ANALYZE, TIMING
OFF)``, the statements in a new random order each round: a statement always run first
would meet colder pages than the others, and look slower for it. Prepared statements run
their generic plan after five runs, as the server's do. It prints the median, mean and
tenth percentile of execution plus planning time: the executor's cost of each, without
the client, the protocol or the box's other load counted in (bench/RESULTS.md, twentieth
session).

``python -m bench.statement_times --url postgresql://... [--expenses] [--rounds N] a.sql b.sql``
"""

import argparse
import asyncio
import json
import random
import statistics
from pathlib import Path

import asyncpg


async def measure(
    url: str, files: list[Path], rounds: int, expenses: bool
) -> dict[Path, list[float]]:
    """Return the milliseconds of each run of each file's statement."""
    conn = await asyncpg.connect(url)
    try:
        if expenses:
            keys = await conn.fetch(
                "SELECT business_id, id FROM expenses WHERE deleted_at IS NULL"
                " ORDER BY random() LIMIT $1",
                rounds,
            )
            draws = [(row["business_id"], row["id"]) for row in keys]
        else:
            businesses = [row["id"] for row in await conn.fetch("SELECT id FROM businesses")]
            draws = [(random.choice(businesses), None) for _ in range(rounds)]
        counts = {}
        for i, path in enumerate(files):
            sql = path.read_text()
            counts[path] = len((await conn.prepare(sql)).get_parameters())
            await conn.execute(f"PREPARE s{i} AS {sql}")
        times: dict[Path, list[float]] = {path: [] for path in files}
        order = list(enumerate(files))
        for business, expense in draws:
            runs = {
                path: f"s{i}({_arguments(business, expense, counts[path])})" for i, path in order
            }
            for _, path in order:  # the pages each will read, in memory for all
                await conn.execute(f"EXECUTE {runs[path]}")
            random.shuffle(order)
            for _, path in order:
                plan = await conn.fetchval(
                    f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) EXECUTE {runs[path]}"
                )
                top = json.loads(plan)[0]
                times[path].append(top["Execution Time"] + top.get("Planning Time", 0.0))
        return times
    finally:
        await conn.close()


def _arguments(business: int, expense: int | None, count: int) -> str:
    """Return the arguments of a statement with ``count`` placeholders (see the module)."""
    first = [business] if expense is None else [business, expense]
    return ",".join(map(str, first + [business] * (count - len(first))))


def main() -> None:
    """Print the time of each statement."""
    parser = argparse.ArgumentParser(prog="python -m bench.statement_times", description=__doc__)
    parser.add_argument("--url", required=True, help="postgresql:// URL of a seeded database")
    parser.add_argument("--rounds", type=int, default=1500)
    parser.add_argument("--expenses", action="store_true", help="$2 is an expense of $1")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    times = asyncio.run(measure(args.url, args.files, args.rounds, args.expenses))
    for path, runs in times.items():
        ordered = sorted(runs)
        print(
            f"{path}: median {statistics.median(runs):.4f} ms, mean {statistics.mean(runs):.4f},"
            f" p10 {ordered[len(ordered) // 10]:.4f} ({len(runs)} runs)"
        )


if __name__ == "__main__":
    main()
