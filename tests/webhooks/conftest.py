"""Webhook tests: a real HTTP receiver on 127.0.0.1, started and stopped by each test."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from db.tables.feed import webhook_endpoints
from tests.serving import free_port, in_task


@dataclass
class Received:
    """One request the receiver got: its path, headers and raw body."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the receiver answers (``statuses`` in turn, then 200) and what it got."""

    port: int = 0
    statuses: list[int] = field(default_factory=list)
    hang_s: float = 0.0
    redirect: bool = False
    got: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def hook(self, request: Request) -> Response:
        self.got.append(Received(request.url.path, dict(request.headers), await request.body()))
        if self.hang_s:
            await asyncio.sleep(self.hang_s)
        if self.redirect and request.url.path == "/hook":
            return RedirectResponse("/elsewhere", status_code=302)
        status = self.statuses.pop(0) if self.statuses else 200
        return PlainTextResponse("ok" if status < 300 else "no", status_code=status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver(port=free_port())
    routes = [Route("/hook", found.hook, methods=["POST"]),
              Route("/elsewhere", found.hook, methods=["POST", "GET"])]  # fmt: skip
    async with in_task(Starlette(routes=routes), found.port, lifespan="off"):
        yield found


async def disable_all(engine: AsyncEngine) -> None:
    """Disable every endpoint, so that later ticks of other tests leave them alone."""
    async with engine.begin() as conn:
        await conn.execute(update(webhook_endpoints).values(enabled=False))
