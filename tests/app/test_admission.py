"""Admission control: at most N requests in flight, the rest wait FIFO, none leak a slot.

Requests are made slow honestly: a transaction of the test holds ``LOCK TABLE members``,
so each request's credential lookup waits in PostgreSQL, holding its pooled connection,
until the lock is released (well before the 2 s lock_timeout).
"""

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app.admission import Admission, AdmissionSettings, Admitted, Refused
from app.http import create_app
from app.settings import ConfigError, Settings
from db.connect import PoolSettings
from tests.conftest import SETTINGS, codes, token
from tests.serving import serving

VIEWER = {"query": "{ viewer { credential } }"}
Post = Callable[[], Coroutine[Any, Any, httpx.Response]]


def _dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


@asynccontextmanager
async def members_locked(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """Hold an exclusive lock on ``members`` (every credential lookup waits) until the block ends."""
    conn = await asyncpg.connect(_dsn(database_url), server_settings={"application_name": "probe"})
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE members IN ACCESS EXCLUSIVE MODE")
            yield conn
    finally:
        await conn.close()


async def active_backends(probe: asyncpg.Connection) -> int:
    """Return how many of the app's backends in this database are running a statement."""
    return int(
        await probe.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'expensegraph'"
            " AND datname = current_database() AND state = 'active'"
        )
    )


@asynccontextmanager
async def limited(
    engine: Any, database_url: str, world: Any, **limits: int
) -> AsyncIterator[tuple[Post, Admission]]:
    """Yield ``post`` (one viewer query as an admin) to an app with the admission ``limits``."""
    settings = dataclasses.replace(SETTINGS, admission=AdmissionSettings(**limits))
    app = create_app(settings, database_url, engine=engine)
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield lambda: client.post("/graphql", json=VIEWER, headers=headers), app.state.admission


async def until(condition: Any, within_s: float = 5.0) -> None:
    """Return once ``condition()`` is true; fail after ``within_s``."""
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def occupy(post: Post, admission: Admission) -> "asyncio.Task[httpx.Response]":
    """Return a request that holds the only slot (waiting on the lock)."""
    first = asyncio.create_task(post())
    await until(lambda: admission.in_flight == 1)
    return first


async def test_slow_requests_beyond_the_limit_wait_and_all_succeed(
    engine, database_url: str, world
) -> None:
    probe = await asyncpg.connect(_dsn(database_url))
    async with limited(engine, database_url, world, max_in_flight=3) as (post, admission):
        peak = 0
        async with members_locked(database_url):
            requests = [asyncio.create_task(post()) for _ in range(12)]
            await until(lambda: admission.queued == 9)
            for _ in range(20):  # the 3 admitted wait on the lock; nobody else reaches it
                peak = max(peak, await active_backends(probe))
                await asyncio.sleep(0.01)
            assert admission.in_flight == 3 and peak == 3
        sampling = True

        async def sample() -> None:
            nonlocal peak
            while sampling:
                peak = max(peak, await active_backends(probe))

        sampler = asyncio.create_task(sample())
        answers = await asyncio.gather(*requests)
        sampling = False
        await sampler
    await probe.close()
    assert [a.status_code for a in answers] == [200] * 12
    assert all(a.json()["data"] == {"viewer": {"credential": "MEMBER"}} for a in answers)
    assert peak == 3 and admission.in_flight == 0 and admission.queued == 0


async def test_a_full_queue_refuses_at_once_with_unavailable(
    engine, database_url: str, world
) -> None:
    async with limited(engine, database_url, world, max_in_flight=1, queue=1) as (post, admission):
        async with members_locked(database_url):
            first, second = (asyncio.create_task(post()) for _ in range(2))
            await until(lambda: admission.queued == 1)
            started = time.monotonic()
            refused = await post()
            refused_after = time.monotonic() - started
        answers = await asyncio.gather(first, second)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert codes(refused.json()) == ["UNAVAILABLE"] and refused_after < 0.5
    assert [a.status_code for a in answers] == [200, 200]


async def test_waiting_past_the_timeout_is_unavailable(engine, database_url: str, world) -> None:
    async with limited(engine, database_url, world, max_in_flight=1, timeout_s=1) as (
        post,
        admission,
    ):
        async with members_locked(database_url):
            first = await occupy(post, admission)
            started = time.monotonic()
            late = await post()
            waited = time.monotonic() - started
        assert (await first).status_code == 200
    assert late.status_code == 503 and codes(late.json()) == ["UNAVAILABLE"]
    assert 0.9 < waited < 1.8 and admission.queued == 0 and admission.in_flight == 0


async def test_a_cancelled_waiter_leaves_the_queue(engine, database_url: str, world) -> None:
    async with limited(engine, database_url, world, max_in_flight=1, queue=1) as (post, admission):
        async with members_locked(database_url):
            first = await occupy(post, admission)
            gone = asyncio.create_task(post())
            await until(lambda: admission.queued == 1)
            gone.cancel()  # the in-process transport runs the app in the client's task
            await until(lambda: admission.queued == 0)
            after = asyncio.create_task(post())
            await until(lambda: admission.queued == 1)  # its place is free again
        answers = await asyncio.gather(first, after)
    assert gone.cancelled() and [a.status_code for a in answers] == [200, 200]
    assert admission.in_flight == 0 and admission.queued == 0


async def test_a_slot_handed_to_a_cancelled_waiter_passes_to_the_next() -> None:
    admission = Admission(AdmissionSettings(max_in_flight=1), PoolSettings())
    await admission.enter()
    order: list[str] = []

    async def wait(name: str) -> None:
        await admission.enter()
        order.append(name)

    second, third = asyncio.create_task(wait("second")), asyncio.create_task(wait("third"))
    await until(lambda: admission.queued == 2)
    admission.leave()  # hands the slot to the second, which is cancelled before it runs
    second.cancel()
    await third
    assert order == ["third"] and admission.in_flight == 1 and admission.queued == 0
    admission.leave()
    assert admission.in_flight == 0


async def test_queue_of_zero_refuses_beyond_the_limit() -> None:
    admission = Admission(AdmissionSettings(max_in_flight=2, queue=0), PoolSettings())
    await admission.enter()
    await admission.enter()
    try:
        await admission.enter()
    except Refused:
        pass
    else:
        raise AssertionError("a third request was admitted past a limit of 2 with no queue")
    assert Admission(AdmissionSettings(), PoolSettings(size=4, max_overflow=2)).max_in_flight == 6


def test_settings_default_to_the_pool_and_refuse_nonsense() -> None:
    defaults = Settings.from_env({"EXPENSEGRAPH_JWT_SECRET": "s" * 40}).admission
    assert defaults == AdmissionSettings(max_in_flight=None, queue=100, timeout_s=10)
    for name, value in (("EXPENSEGRAPH_MAX_IN_FLIGHT", "0"), ("EXPENSEGRAPH_ADMISSION_QUEUE", "-1"),
                        ("EXPENSEGRAPH_ADMISSION_TIMEOUT_SECONDS", "soon")):  # fmt: skip
        try:
            Settings.from_env({"EXPENSEGRAPH_JWT_SECRET": "s" * 40, name: value})
        except ConfigError as error:
            assert name in str(error)
        else:
            raise AssertionError(f"{name}={value} was accepted")


def _raw_request(port: int, bearer: str) -> bytes:
    body = b'{"query": "{ viewer { credential } }"}'
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {bearer}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _gauge(metrics: str, state: str) -> float:
    prefix = f'expensegraph_graphql_requests{{state="{state}"}} '
    return float(next(line for line in metrics.splitlines() if line.startswith(prefix)).split()[1])


async def test_a_client_hanging_up_in_the_queue_leaves_it(
    world, database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url, "EXPENSEGRAPH_JWT_SECRET": SETTINGS.jwt_secret,
           "EXPENSEGRAPH_DATA_DIR": str(tmp_path), "EXPENSEGRAPH_MAX_IN_FLIGHT": "1"}  # fmt: skip
    bearer = token(world.a, "admin")
    with serving(tmp_path, env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:

            async def reach(in_flight: int, queued: int) -> None:
                deadline = time.monotonic() + 1.5  # the lock_timeout (2 s) must not end it
                while True:
                    text = (await client.get("/metrics")).text
                    now = (_gauge(text, "in_flight"), _gauge(text, "queued"))
                    if now == (in_flight, queued):
                        return
                    assert time.monotonic() < deadline, now
                    await asyncio.sleep(0.02)

            async with members_locked(database_url):
                headers = {"Authorization": f"Bearer {bearer}"}
                first = asyncio.create_task(client.post("/graphql", json=VIEWER, headers=headers))
                await reach(1, 0)
                _, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.write(_raw_request(server.port, bearer))
                await writer.drain()
                await reach(1, 1)
                writer.close()
                await writer.wait_closed()
                await reach(1, 0)  # it left while the first still holds the slot
            assert (await first).status_code == 200
            await reach(0, 0)
    lines = [
        json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")
    ]
    assert 499 in [line.get("status") for line in lines]


async def gone() -> dict[str, Any]:
    """A receive of a client that has hung up."""
    return {"type": "http.disconnect"}


async def test_hung_up_asks_one_receive_and_leaves_no_wait_behind() -> None:
    """A receive answering at once tells; one that would wait is dropped, its waiter gone."""
    from app.admission import hung_up

    async def more() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    arrived = asyncio.Event()

    async def waits() -> dict[str, Any]:  # as uvicorn's receive while the client stays
        await arrived.wait()
        return {"type": "http.disconnect"}

    assert hung_up(gone) is True
    assert hung_up(more) is False
    assert hung_up(waits) is False
    assert not arrived._waiters  # the wait ended, not leaked
    arrived.set()
    assert hung_up(waits) is True  # the same receive, once the disconnect has arrived


async def test_admitted_holds_a_slot_for_its_block_and_gives_it_back_on_error() -> None:
    admission = Admission(AdmissionSettings(max_in_flight=1, queue=0), PoolSettings())
    async with Admitted(admission, gone) as given:
        assert given is gone  # admitted at once: nothing was read, nothing to replay
        assert admission.in_flight == 1
    assert admission.in_flight == 0
    with pytest.raises(ValueError):
        async with Admitted(admission, gone):
            raise ValueError("the request failed")
    assert admission.in_flight == 0
    await admission.enter()  # the one slot taken: with no queue, the next is refused
    with pytest.raises(Refused):
        async with Admitted(admission, gone):
            raise AssertionError("admitted past a limit of 1 with no queue")
    admission.leave()
    assert admission.in_flight == 0
