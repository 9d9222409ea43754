"""The reference app the fast lane is compared with (test_lane_differential.py, test_columns.py)."""

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from app.http import create_app
from tests.conftest import SETTINGS


@pytest.fixture(scope="module")
async def reference(engine, database_url) -> AsyncIterator[httpx.AsyncClient]:
    """Return a client of an app with neither the fast lane nor planned execution."""
    app = create_app(
        dataclasses.replace(SETTINGS, fast_lane=False, planned_execution=False),
        database_url,
        engine=engine,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as c:
        yield c
