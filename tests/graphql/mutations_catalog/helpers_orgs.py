"""Businesses of a test module's own for the category, policy, card and organisation tests:
two businesses, the first one's API keys, credentials by name, the ``org`` fixtures, rows
inserted directly, and tags for unique names and codes.

Every test module builds its own two businesses (tests.world._business): changes made
here never reach the shared ``world`` or another module's data.
"""

import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import token
from tests.world import Biz, _business, insert_api_key

# key name -> scopes; "admin" may change the set-up, "write" may write expenses and cards
KEY_SCOPES = {
    "admin": ["admin"],
    "write": ["expenses:read", "expenses:write", "cards:read", "cards:write"],
    "read": ["expenses:read", "cards:read"],
    "cards": ["cards:read"],
}
MEMBERS = ("admin", "finance", "manager", "manager2", "employee", "employee2", "engineer")


@dataclass
class Org:
    """A business of the module's own, another one, and the first one's API keys."""

    biz: Biz
    other: Biz
    keys: dict[str, str] = field(default_factory=dict)

    def credential(self, who: str) -> str | None:
        """Return the credential of a role key, ``key:<name>``, ``other_admin`` or ``anonymous``."""
        if who == "anonymous":
            return None
        if who.startswith("key:"):
            return self.keys[who[4:]]
        if who == "other_admin":
            return token(self.other, "admin")
        return token(self.biz, who)


async def build_org(
    engine: AsyncEngine,
    name: str,
    seed: int,
    home: str = "GBP",
    *,
    rival: str = "",
    rival_home: str = "",
    keys: dict[str, list[str]] = KEY_SCOPES,
) -> Org:
    """Insert two businesses (``name`` and its ``rival``, by default ``name`` + "rival") and
    the first one's API keys (name -> scopes)."""
    rng = random.Random(seed)
    async with engine.begin() as conn:
        org = Org(
            biz=await _business(conn, f"{name} Ltd", home, 5, rng),
            other=await _business(
                conn, f"{rival or name + 'rival'} Ltd", rival_home or home, 5, rng
            ),
        )
        for key, scopes in keys.items():
            org.keys[key] = await insert_api_key(conn, org.biz, scopes)
    return org


def tag() -> str:
    """Return a fresh tag, for names and codes no other test uses."""
    return uuid.uuid4().hex[:10]


async def inserted(engine: AsyncEngine, table: Table, **values: Any) -> int:
    """Insert a row into ``table`` in a transaction of its own; return its id."""
    async with engine.begin() as conn:
        result = await conn.execute(insert(table).values(**values).returning(table.c.id))
        return int(result.scalar_one())


def org_fixture(
    name: str, seed: int, make: Callable[[AsyncEngine, str, int], Awaitable[Org]] | None = None
) -> Any:
    """Return a test module's ``org`` fixture: its own two businesses, made once by ``make``
    (default build_org)."""

    @pytest.fixture(scope="module")
    async def org(engine: AsyncEngine) -> Org:
        return await (make or build_org)(engine, name, seed)

    return org


def org_by_module(
    businesses: dict[str, tuple[str, int]],
    make: Callable[[AsyncEngine, str, int], Awaitable[Org]] | None = None,
) -> Any:
    """Return a conftest's ``org`` fixture: each test module gets two businesses of its own,
    made once by ``make`` (default build_org), named and seeded by the first key of
    ``businesses`` its name starts with (``{"test_team": ("Teamco", 41)}``: every
    test_team*.py module gets its own Teamco)."""

    @pytest.fixture(scope="module")
    async def org(request: pytest.FixtureRequest, engine: AsyncEngine) -> Org:
        module = request.module.__name__.rpartition(".")[2]
        name, seed = next(own for start, own in businesses.items() if module.startswith(start))
        return await (make or build_org)(engine, name, seed)

    return org
