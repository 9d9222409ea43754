"""Where one shape's server CPU goes: ``python -m bench.profile [--shape list] [--requests 30]``.

Runs the shape in-process (``httpx.ASGITransport``, no network) on the benchmark's data
dir, first to measure CPU per request, then under cProfile (CPU time) to split that
time by package (own time of each function, summed per package; C functions by name). The profiler slows Python down
about threefold; the shares, not the absolute numbers, are what it tells.
"""

import argparse
import asyncio
import cProfile
import pstats
import time
from collections import Counter
from pathlib import Path

import httpx

from app.http import create_app, settle_gc
from app.settings import Settings
from bench import data
from bench.shapes import Shape, build_shapes
from db.connect import create_engine

OWN_PACKAGES = ("app", "schema", "resolvers", "loaders", "db")


def package_of(filename: str) -> str:
    """Return the package a profiled function belongs to."""
    if "site-packages/" in filename:
        name, _, rest = filename.split("site-packages/", 1)[1].partition("/")
        if name == "graphql":  # parsing, validation and execution tell different stories
            return "graphql-core " + rest.split("/", 1)[0]
        return name
    parts = Path(filename).parts
    own = next((part for part in parts if part in OWN_PACKAGES), None)
    if own is not None and "site-packages" not in filename:
        return f"expensegraph {own}/"
    if filename.startswith("<") or filename == "~":
        return "builtins"
    return "stdlib " + Path(filename).stem


async def profile(url: str, settings: Settings, token: str, shape: Shape, requests: int) -> None:
    """Print CPU ms per request and the profiled time split by package."""
    engine = create_engine(url, settings.pool)
    app = create_app(settings, url, engine=engine)
    settle_gc()  # as `expensegraph serve` does once its app is built
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for _ in range(3):
                answer = await client.post("/graphql", content=shape.body(), headers=headers)
                if answer.status_code != 200 or '"errors"' in answer.text:
                    raise SystemExit(f"{shape.name} failed: {answer.text[:400]}")
            started = time.process_time()
            for _ in range(requests):
                await client.post("/graphql", content=shape.body(), headers=headers)
            cpu_ms = (time.process_time() - started) * 1000 / requests
            profiler = cProfile.Profile(time.process_time)  # CPU, not time spent waiting
            profiler.enable()
            for _ in range(requests):
                await client.post("/graphql", content=shape.body(), headers=headers)
            profiler.disable()
    finally:
        await engine.dispose()
    print(f"{shape.name}: {cpu_ms:.1f} ms CPU per request in-process (client included)")
    by_package: Counter[str] = Counter()
    for (filename, _, function), stat in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        package = package_of(filename)
        by_package[f"{package} {function}" if package == "builtins" else package] += stat[2]
    total = sum(by_package.values())
    for package, seconds in by_package.most_common(14):
        print(f"  {seconds / total:6.1%}  {package}")


def main() -> None:
    """Profile one shape on the benchmark's data dir."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--shape", default="list")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parent / ".data")
    args = parser.parse_args()
    run = data.in_process(args.data_dir)
    shape = next(s for s in build_shapes(run.facts) if s.name == args.shape)
    asyncio.run(profile(run.url, run.settings, run.token, shape, args.requests))


if __name__ == "__main__":
    main()
