"""Rate-limit buckets in a real Redis, shared by two app instances (two workers)."""

import asyncio
import dataclasses
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.http import create_app
from app.limits import LimitSettings
from tests.conftest import SETTINGS, codes, gql_raw, token
from tests.serving import free_port

PAGE = "{ expenses(first: 50) { nodes { id } } }"  # costs 51, serves 51 objects to finance


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed here (.ci/run installs it with apt-get)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True
            ).stdout.strip()
            != "PONG"
        ):
            assert time.monotonic() < deadline and server.poll() is None, (
                "redis-server did not start"
            )
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
async def two_workers(
    engine, database_url, redis_url
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    limits = LimitSettings(bucket_size=100, restore_rate=20)
    settings = dataclasses.replace(SETTINGS, limits=limits, redis_url=redis_url)
    first, second = (create_app(settings, database_url, engine=engine) for _ in range(2))
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://one") as one,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://two") as two,
    ):
        yield one, two


async def test_a_bucket_spent_on_one_worker_is_spent_on_the_other(two_workers, world) -> None:
    one, two = two_workers
    spender, bystander = token(world.a, "finance"), token(world.a, "admin")
    first = (await gql_raw(one, PAGE, as_=spender)).json()
    assert "errors" not in first
    assert first["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] <= 50
    limited = (await gql_raw(two, PAGE, as_=spender)).json()
    assert codes(limited) == ["RATE_LIMITED"]
    assert "errors" not in (await gql_raw(two, PAGE, as_=bystander)).json()
    wait = limited["errors"][0]["extensions"]["retryAfterSeconds"]
    await asyncio.sleep(wait + 0.3)
    assert "errors" not in (await gql_raw(one, PAGE, as_=spender)).json()


def test_redis_is_the_shared_store(redis_url: str) -> None:
    keys = subprocess.run(["redis-cli", "-u", redis_url, "--scan", "--pattern", "expensegraph:bucket:*"],
                          capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert any(key.startswith("expensegraph:bucket:member:") for key in keys)
