"""loaders/cards.py: each card's spend in its current limit period, one grouped statement.

Expenses of this month are added in the test's transaction (rolled back at its end): one
in the card currency, one in another currency (its home amount counts), and three that
must not count (rejected, deleted, last month).
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from db.engine import RequestDb
from db.tables.expense import expenses
from db.visibility import Visibility
from loaders.registry import make_loaders
from tests.conftest import StatementCounter
from tests.loaders.conftest import Committed
from tests.loaders.rows_read import UNKNOWN, change, rows_in
from tests.world import World


def spent(rows: list[Any], card: Any, start: datetime, end: datetime) -> int:
    """Return what ``card`` spent in [start, end), in minor units of its currency."""
    total = 0
    for e in rows:
        if e.card_id != card.id or e.deleted_at or e.status == "REJECTED":
            continue
        if start <= e.spent_at < end:
            if e.currency == card.currency:
                total += e.amount_minor
            elif e.home_currency == card.currency:
                total += e.home_amount_minor
    return total


async def test_spend_per_card_in_one_statement(
    db: RequestDb, committed: Committed, world: World, statements: StatementCounter
) -> None:
    a, b = world.a, world.b
    card_id = a.cards["employee"]  # the one with a limit period: a month
    (card,) = [c for c in committed["cards"] if c.id == card_id]
    assert card.limit_period == "MONTH"
    template = dict(next(e for e in committed["expenses"] if e.id == a.expense_ids[0])._mapping)
    del template["id"]
    start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    this_month = start + timedelta(seconds=1)
    added = [
        dict(currency=card.currency, amount_minor=1000, home_amount_minor=1000),
        dict(currency="JPY", amount_minor=50_000, home_amount_minor=260),  # counts 260
        dict(currency=card.currency, amount_minor=7000, status="REJECTED"),
        dict(currency=card.currency, amount_minor=9000, deleted_at=this_month),
        dict(currency=card.currency, amount_minor=11_000, spent_at=start - timedelta(seconds=1)),
    ]
    rows = [
        {**template, "card_id": card_id, "status": "APPROVED", "deleted_at": None}
        | {"spent_at": this_month, **values}
        for values in added
    ]
    await change(db, insert(expenses).values(rows).returning(expenses.c.id))
    now = await rows_in(db, expenses)
    keys = [card_id, a.cards["employee2"], b.cards["employee"], UNKNOWN, card_id]
    statements.reset()
    found = await make_loaders(db, Visibility(business_id=a.id)).card_spend.load_all(keys)
    assert statements.count == 1
    expected = spent(now, card, start, end)
    assert expected >= 1260  # what was added and counts
    # no limit period, another business's card, no such card: None
    assert found == [expected, None, None, None, expected]
