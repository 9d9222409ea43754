"""Fixtures of the security tests: the out-of-range tests' own business for their writes."""

import random

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests import world as world_module
from tests.world import Biz


@pytest.fixture(scope="session")
async def shop(engine: AsyncEngine) -> Biz:
    """Return a business of the out-of-range tests' own: their refusals must leave it unchanged."""
    async with engine.begin() as conn:
        return await world_module._business(conn, "Outofrange Ltd", "GBP", 3, random.Random(8))
