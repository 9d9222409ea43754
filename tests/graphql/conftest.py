"""Fixtures of whole-request tests: a real server on a free port (subscriptions)."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.http import create_app
from tests.conftest import SETTINGS
from tests.graphql.helpers_ws import Served
from tests.serving import free_port, in_task


@pytest.fixture
async def served(engine: AsyncEngine, database_url: str) -> AsyncIterator[Served]:
    app = create_app(SETTINGS, database_url, engine=engine)
    port = free_port()
    # websocket compression as `expensegraph serve` sets it (off unless configured)
    async with in_task(app, port, ws_per_message_deflate=SETTINGS.ws_compression) as server:
        yield Served(app, port, server)
