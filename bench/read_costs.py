"""What one level's reads cost, merged or alone, by codec: ``python -m bench.read_costs``.

For each shape of the mix it serves one request in process, keeps the reads of the level
that merged the most of them (db/merged_reads.py), then runs those reads 1,000 times on one
asyncpg connection: each alone, merged by column, merged by column but for the reads that
return one row at most, joined instead (what RequestDb sends), and merged as anonymous
records (the way before), with asyncpg's binary codecs and with the text codecs of
db/codecs.py. It prints, per run of the level, PostgreSQL's CPU (its backend's
``/proc`` counters), this process's CPU and the wall time. Also the floor of one round
trip (``SELECT 1``) and the decoding of 120 whole expense rows.
"""

import argparse
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from unittest.mock import patch

import asyncpg
import uvloop

from app.http import create_app
from bench import data
from bench.executors import call
from bench.shapes import build_shapes
from db import codecs, fastread, merged_reads
from db.connect import create_engine, plain_url

RUNS = 1000
Read = tuple[str, list[Any], int, bool]  # sql, arguments, columns, one row at most


def backend_cpu_ms(pid: int) -> float:
    """Return the CPU milliseconds PostgreSQL's backend ``pid`` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def as_records(reads: list[Read]) -> tuple[str, list[Any]]:
    """Return the reads merged as arrays of anonymous records (the way before), and with the reads that return one row at most joined
    instead (what RequestDb sends since)."""
    parts, offset = [], 0
    for k, (text, args, *_) in enumerate(reads):
        if offset:
            text = merged_reads._PLACEHOLDER.sub(merged_reads._shifted(offset), text)
        parts.append(f"ARRAY(SELECT _row FROM ({text}) AS _row) AS _r{k}")
        offset += len(args)
    return "SELECT " + ", ".join(parts), [a for _, args, *_ in reads for a in args]


async def level_of(app: Any, body: bytes, token: str) -> list[Read]:
    """Return the reads of the biggest merged level of one request."""
    levels: list[list[Read]] = []

    def record(statements: Sequence[Read]) -> tuple[str, list[Any]]:
        levels.append([(sql, list(args), width, one) for sql, args, width, one in statements])
        return merged_reads.merged(statements)

    await call(app, body, token)  # warm: plans, statements
    with patch.object(fastread, "merged", record):  # what RequestDb merges, as it merges
        await call(app, body, token)
    return max(levels, key=len, default=[])


def fetcher(conn: asyncpg.Connection, sql: str, args: list[Any]) -> Callable[[], Awaitable[Any]]:
    """Return a function running ``sql`` once on ``conn``."""
    return lambda: conn.fetch(sql, *args)


async def timed(
    conn: asyncpg.Connection, work: Callable[[], Awaitable[Any]]
) -> tuple[float, float, float]:
    """Return PostgreSQL CPU, client CPU and wall, in ms per run of ``work``."""
    for _ in range(50):
        await work()
    pid = conn.get_server_pid()
    pg, cpu, wall = backend_cpu_ms(pid), time.process_time(), time.perf_counter()
    for _ in range(RUNS):
        await work()
    return ((backend_cpu_ms(pid) - pg) / RUNS, (time.process_time() - cpu) * 1000 / RUNS,
            (time.perf_counter() - wall) * 1000 / RUNS)  # fmt: skip


@asynccontextmanager
async def connected(url: str, codec: str) -> AsyncIterator[asyncpg.Connection]:
    """Yield a connection with asyncpg's binary codecs or db/codecs.py's text ones."""
    conn = await asyncpg.connect(plain_url(url), server_settings=codecs.SERVER_SETTINGS)
    try:
        if codec == "text":
            await codecs.use_text_codecs(conn)
        yield conn
    finally:
        await conn.close()


async def measure(url: str, name: str, reads: list[Read]) -> list[str]:
    """Return the table rows of one level: alone and merged, binary and text codecs."""
    rows = []
    for codec in ("binary", "text"):
        async with connected(url, codec) as conn:

            async def alone(c: asyncpg.Connection = conn) -> None:
                for sql, args, *_ in reads:
                    await c.fetch(sql, *args)

            ways: dict[str, Callable[[], Awaitable[Any]]] = {"alone": alone}
            ways["merged (one-row reads joined)"] = fetcher(conn, *merged_reads.merged(reads))
            by_column = [(sql, args, width, False) for sql, args, width, _ in reads]
            ways["merged by column"] = fetcher(conn, *merged_reads.merged(by_column))
            if codec == "binary":  # records carry their fields in binary: not with text
                ways["merged as records"] = fetcher(conn, *as_records(reads))
            for way, work in ways.items():
                pg, cpu, wall = await timed(conn, work)
                rows.append(f"| {name} | {len(reads)} | {codec} | {way} | {pg:.3f} | {cpu:.3f} | {wall:.3f} |")  # fmt: skip
    return rows


async def floors(url: str, business_id: int) -> list[str]:
    """Return the round-trip floor and the decoding of 120 expense rows, per codec."""
    rows = []
    for codec in ("binary", "text"):
        async with connected(url, codec) as conn:
            page = "SELECT * FROM expenses WHERE business_id = $1 ORDER BY spent_at DESC LIMIT 120"
            for what, sql, args in (("SELECT 1", "SELECT 1", []),
                                    ("120 expense rows", page, [business_id])):  # fmt: skip
                pg, cpu, wall = await timed(conn, fetcher(conn, sql, args))
                rows.append(f"| {what} | {codec} | {pg:.3f} | {cpu:.3f} | {wall:.3f} |")
    return rows


async def main(run: data.InProcess) -> None:
    engine = create_engine(run.url, run.settings.pool)
    app = create_app(run.settings, run.url, engine=engine)
    levels = {}
    try:
        for shape in build_shapes(run.facts):
            if shape.name in ("list", "teams", "detail", "sync"):
                level = await level_of(app, shape.body(), run.token)
                if level:  # a shape whose levels are one read each merges nothing
                    levels[shape.name] = level
    finally:
        await engine.dispose()
    print(f"{RUNS} runs each; ms per run; load average {os.getloadavg()}")
    print("\n| shape | reads | codecs | sent | PostgreSQL CPU | client CPU | wall |")
    print("|---|--:|---|---|--:|--:|--:|")
    for name, reads in levels.items():
        print("\n".join(await measure(run.url, name, reads)))
    print("\n| what | codecs | PostgreSQL CPU | client CPU | wall |\n|---|---|--:|--:|--:|")
    print("\n".join(await floors(run.url, run.facts.business_id)))
    print(json.dumps({"loadavg_after": os.getloadavg()}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).parent / ".data")
    uvloop.run(main(data.in_process(parser.parse_args().data_dir)))
