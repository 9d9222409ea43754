"""Fixtures of whole-request tests: a real server on a free port (subscriptions)."""

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from app.http import create_app
from tests.conftest import SETTINGS
from tests.graphql.helpers_ws import Served, free_port


@pytest.fixture
async def served(engine: AsyncEngine, database_url: str) -> AsyncIterator[Served]:
    app = create_app(SETTINGS, database_url, engine=engine)
    port = free_port()
    # websocket compression as `expensegraph serve` sets it (off unless configured)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            ws_per_message_deflate=SETTINGS.ws_compression)  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(300):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield Served(app, port, server)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
