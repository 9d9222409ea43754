"""Shared by the card mutation tests: ``co``, a business of the test module's own (plus a
second one for cross-tenant checks) with its API keys and a fleet team of cards with limits.
"""

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables.org import cards, teams
from tests.graphql.mutations_cards.helpers_cards import Cardco
from tests.graphql.mutations_catalog.helpers_orgs import build_org

FLEET = 25  # cards of the statement-count test, all with a limit


@pytest.fixture(scope="module")
async def co(engine: AsyncEngine) -> Cardco:
    keys = {"write": ["cards:read", "cards:write"], "read": ["cards:read"], "admin": ["admin"]}
    org = await build_org(engine, "Cardco", 23, rival="Cardother", keys=keys)
    co = Cardco(biz=org.biz, other=org.other, keys=org.keys)
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(teams).values(business_id=co.biz.id, name="Fleet").returning(teams.c.id)
        )
        co.fleet_team = result.scalar_one()
        await conn.execute(
            insert(cards),
            [
                dict(business_id=co.biz.id, holder_id=co.biz.members["admin"],
                     team_id=co.fleet_team, last4=f"{n:04d}", kind="VIRTUAL", currency="GBP",
                     spend_limit_minor=10_000, limit_period=("DAY", "WEEK", "MONTH")[n % 3])
                for n in range(FLEET)
            ],
        )  # fmt: skip
    return co
