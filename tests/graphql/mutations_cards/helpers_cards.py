"""What the card mutation tests share: the card mutations, the module's business with its
fleet team, cards inserted directly and read back, and the card's userErrors.

Each card test module runs on a business of its own (tests.world._business, the ``co``
fixture) plus a second one for cross-tenant checks; every test that changes a card inserts
a fresh card first, so the tests do not depend on each other's order. Denied calls also
check the row is unchanged.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables.org import cards
from resolvers.ids import encode_id
from tests.graphql.mutations_catalog.helpers_calls import ERRORS
from tests.graphql.mutations_catalog.helpers_orgs import Org, inserted
from tests.world import Biz

CARD = "id status currency spendLimit { amount currency } limitPeriod spentThisPeriod { amount currency }"
FREEZE = f"mutation($id: ID!) {{ p: freezeCard(id: $id) {{ card {{ {CARD} }} {ERRORS} }} }}"
UNFREEZE = f"mutation($id: ID!) {{ p: unfreezeCard(id: $id) {{ card {{ {CARD} }} {ERRORS} }} }}"
SET_LIMIT = (
    "mutation($id: ID!, $limit: MoneyInput, $period: LimitPeriod) {"
    f" p: setCardSpendLimit(id: $id, limit: $limit, period: $period) {{ card {{ {CARD} }} {ERRORS} }} }}"
)


@dataclass
class Cardco(Org):
    """The module's business, another one, their API keys, and the fleet team."""

    fleet_team: int = 0


async def new_card(
    engine: AsyncEngine, biz: Biz, *, holder: str = "employee", team: str | None = "sales",
    status: str = "ACTIVE", currency: str = "GBP", limit: int | None = None,
    period: str | None = None,
) -> int:  # fmt: skip
    """Insert a card and return its row id."""
    return await inserted(
        engine, cards, business_id=biz.id, holder_id=biz.members[holder],
        team_id=biz.teams[team] if team else None, last4="4242", kind="PHYSICAL",
        status=status, currency=currency, spend_limit_minor=limit, limit_period=period,
    )  # fmt: skip


async def stored(engine: AsyncEngine, card_id: int) -> tuple[str, int | None, str | None]:
    """Return (status, spend_limit_minor, limit_period) of a card as stored."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT status, spend_limit_minor, limit_period FROM cards WHERE id = :i"),
                {"i": card_id},
            )
        ).one()
    return row.status, row.spend_limit_minor, row.limit_period


def cgid(card_id: int) -> str:
    return encode_id("Card", card_id)


def errors(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    """Return (field, code) of every userError, checking that no card came back."""
    assert payload["card"] is None, payload
    return [(e["field"], e["code"]) for e in payload["userErrors"]]
