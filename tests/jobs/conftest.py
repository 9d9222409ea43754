"""Job tests: a database of their own (a worker takes every queued job it finds), an app on
it storing files in a temp dir, and `expensegraph worker` run as a real process."""

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.http import create_app
from db.connect import create_engine
from tests.conftest import SETTINGS, fresh_database, token
from tests.graphql.receipts.conftest import PDF, unique, upload
from tests.serving import ROOT, stop
from tests.webhooks.conftest import receiver  # noqa: F401 - the fixture, for the worker test
from tests.world import Biz, _business


@dataclass
class Jobs:
    """A database with one business, an app on it, and where its receipt files go."""

    url: str
    engine: AsyncEngine
    biz: Biz
    client: httpx.AsyncClient
    data_dir: Path

    @property
    def receipts_dir(self) -> Path:
        return self.data_dir / "files"

    async def upload(self) -> int:
        """Upload a new PDF as the employee; return the receipt's row id."""
        payload = await upload(self.client, unique(PDF), as_=token(self.biz, "employee"))
        assert payload["userErrors"] == [], payload
        return await self.scalar("SELECT max(id) FROM receipts WHERE business_id = :b")

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return await conn.scalar(text(sql), {"b": self.biz.id, **params})

    async def row(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql), {"b": self.biz.id, **params})).one_or_none()

    async def receipt(self, receipt_id: int) -> Any:
        return await self.row(
            "SELECT * FROM receipts WHERE business_id = :b AND id = :r", r=receipt_id
        )

    async def clear_queue(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text("DELETE FROM pgqueuer"))


@pytest.fixture(scope="module")
async def jobs(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Jobs]:
    url = await asyncio.to_thread(fresh_database, server_url)
    engine = create_engine(url)
    async with engine.begin() as conn:
        biz = await _business(conn, "Jobs Ltd", "GBP", 5, random.Random(12))
    data_dir = tmp_path_factory.mktemp("jobs")
    settings = replace(SETTINGS, data_dir=data_dir, receipts_dir=data_dir / "files")
    app = create_app(settings, url, engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        yield Jobs(url, engine, biz, client, data_dir)
    await engine.dispose()


@dataclass
class Worker:
    process: "subprocess.Popen[bytes]"
    log: Path

    def lines(self) -> list[dict[str, Any]]:
        """Return the worker's JSON job lines."""
        found = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("event") == "job":
                    found.append(record)
        return found


@contextmanager
def worker(jobs: Jobs, tmp_path: Path, extractor: str, **env: str) -> Iterator[Worker]:
    """Run `expensegraph worker` on the jobs database; SIGTERM it after (SIGKILL if stuck)."""
    log = tmp_path / f"worker-{time.monotonic_ns()}.log"
    environment = {
        **os.environ,
        "DATABASE_URL": jobs.url,
        "EXPENSEGRAPH_DATA_DIR": str(jobs.data_dir),
        "EXPENSEGRAPH_RECEIPTS_DIR": str(jobs.receipts_dir),
        "EXPENSEGRAPH_EXTRACTOR": f"tests.jobs.fakes:{extractor}",
        **env,
    }
    command = [sys.executable, "-m", "app.cli", "worker", "--concurrency", "2"]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield Worker(process, log)
    finally:
        if process.poll() is None:
            stop(process, signal.SIGTERM, timeout=20)


async def eventually(check: Callable[[], Any], what: str, within_s: float = 30) -> Any:
    """Return ``await check()`` once it is truthy; fail after ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)
