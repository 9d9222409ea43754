"""Receipt matching scores: amount, date, merchant, currency and time zone decide between
attaching a receipt, offering candidates and ties; a seeded precision/recall scenario.
"""

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables.expense import fx_rates
from resolvers.ids import encode_id
from resolvers.matching import AUTO_MATCHED
from tests.conftest import gql
from tests.graphql.receipts.conftest import Shop
from tests.graphql.receipts.helpers_matching import DAY, NOON, Books, new_books

RECEIPT = """
query($id: ID!) {
  node(id: $id) {
    ... on Receipt {
      processing
      expense { id events { action comment actor { id } } }
      extracted { merchantName spentAt total { amount currency } confidence { merchant total date } }
      matchCandidates { expense { id } score reasons }
    }
  }
}
"""


async def test_exact_amount_same_day_same_merchant_attaches_itself(
    books: Books, shop: Shop
) -> None:
    expense = await books.expense("employee", 4250, NOON, "Blue Bottle Coffee")
    receipt = await books.receipt("employee", 4250, DAY, "BLUE BOTTLE COFFEE")
    await books.match_receipt(receipt)

    assert await books.attached(receipt) == expense
    assert await books.candidates(receipt) == []
    [event] = [e for e in await books.events(expense) if e.action == AUTO_MATCHED]
    assert event.actor_id is None
    assert "score 1.00" in event.comment
    assert "amount equal" in event.comment and "date same day" in event.comment

    data = await gql(
        shop.client,
        RECEIPT,
        {"id": encode_id("Receipt", receipt)},
        as_=shop.as_("employee", books.biz),
    )
    node = data["node"]
    assert node["expense"]["id"] == encode_id("Expense", expense)
    assert [e["action"] for e in node["expense"]["events"]] == [AUTO_MATCHED]
    assert node["expense"]["events"][0]["actor"] is None
    assert node["matchCandidates"] == []
    assert node["extracted"] == {
        "merchantName": "BLUE BOTTLE COFFEE",
        "spentAt": "2025-03-10",
        "total": {"amount": "42.50", "currency": "GBP"},
        "confidence": {"merchant": 0.9, "total": 0.95, "date": 0.8},
    }


async def test_one_day_later_and_a_similar_merchant_still_attach(books: Books) -> None:
    expense = await books.expense("employee", 1899, NOON, "Pret A Manger")
    assert (
        await books.matched("employee", 1899, DAY + timedelta(days=1), "PRET A MANGER #214")
        == expense
    )


async def test_same_amount_another_day_is_only_a_candidate(books: Books) -> None:
    expense = await books.expense("employee", 3000, NOON, "Shell")
    receipt = await books.receipt("employee", 3000, DAY + timedelta(days=2), "Shell")
    far = await books.expense("employee", 3000, NOON - timedelta(days=9), "Total Energies")
    await books.match_receipt(receipt)

    assert await books.attached(receipt) is None
    stored = await books.candidates(receipt)
    assert [c[0] for c in stored] == [expense, far]
    assert stored[0][2] == ["amount equal", "date +2 days", "merchant 1.00"]
    assert 0.4 <= stored[1][1] < stored[0][1] < 0.9


async def test_same_merchant_another_amount_is_only_a_candidate(books: Books) -> None:
    expense = await books.expense("employee", 5100, NOON, "Uber")
    receipt = await books.receipt("employee", 5000, DAY, "Uber")
    await books.match_receipt(receipt)

    assert await books.attached(receipt) is None
    assert await books.candidates(receipt) == [(expense, 0.5, ["date same day", "merchant 1.00"])]


async def test_two_equal_candidates_never_attach(books: Books) -> None:
    one = await books.expense("employee", 1200, NOON, "Costa")
    two = await books.expense("employee", 1200, NOON + timedelta(hours=3), "Costa")
    receipt = await books.receipt("employee", 1200, DAY, "Costa")
    await books.match_receipt(receipt)

    assert await books.attached(receipt) is None
    stored = await books.candidates(receipt)
    assert {c[0] for c in stored} == {one, two}
    assert stored[0][1] == stored[1][1] == 1.0


async def _rate(engine: AsyncEngine, currency: str, quote: str, day: date, rate: str) -> Decimal:
    """Store a rate (fx_rates is shared: keep one already there) and return the stored one."""
    async with engine.begin() as conn:
        await conn.execute(
            pg_insert(fx_rates)
            .values(currency=currency, quote_currency=quote, day=day, rate=Decimal(rate))
            .on_conflict_do_nothing()
        )
        statement = select(fx_rates.c.rate).where(
            fx_rates.c.currency == currency, fx_rates.c.quote_currency == quote,
            fx_rates.c.day == day,
        )  # fmt: skip
        return (await conn.execute(statement)).scalar_one()


async def test_another_currency_matches_within_the_tolerance(books: Books) -> None:
    rate = await _rate(books.engine, "EUR", "GBP", DAY - timedelta(days=1), "0.8400000000")
    # 50.00 EUR at the rate, paid as GBP one percent off
    gbp = int((Decimal(5000) * rate * Decimal("1.01")).to_integral_value())
    expense = await books.expense("employee", gbp, NOON, "Hotel Adlon")
    receipt = await books.receipt("employee", 5000, DAY, "Hotel Adlon", currency="EUR")
    await books.match_receipt(receipt)
    assert await books.attached(receipt) == expense
    [event] = [e for e in await books.events(expense) if e.action == AUTO_MATCHED]
    assert "amount within 1.0% at fx" in event.comment

    # ten percent off is no amount match: only date and merchant, a candidate at most
    off = int((Decimal(7000) * rate * Decimal("1.10")).to_integral_value())
    far = await books.expense("employee", off, NOON, "Hotel Bristol")
    other = await books.receipt("employee", 7000, DAY, "Hotel Bristol", currency="EUR")
    await books.match_receipt(other)
    assert await books.attached(other) is None
    assert await books.candidates(other) == [(far, 0.5, ["date same day", "merchant 1.00"])]


async def test_local_dates_follow_the_business_time_zone(engine: AsyncEngine) -> None:
    books = await new_books(engine, "Pacific/Auckland")
    # 20:00 UTC on the 9th is the morning of the 10th in Auckland
    expense = await books.expense("employee", 2222, NOON - timedelta(hours=16), "Countdown")
    assert await books.matched("employee", 2222, DAY, "Countdown") == expense
    [event] = [e for e in await books.events(expense) if e.action == AUTO_MATCHED]
    assert "date same day" in event.comment


MERCHANTS = [
    "Pret A Manger", "Blue Bottle Coffee", "Uber", "British Airways", "Hilton London",
    "Trainline", "Waterstones", "Deliveroo", "Shell", "Premier Inn", "Itsu", "Apple Store",
]  # fmt: skip


def _as_printed(merchant: str, rng: random.Random) -> str:
    """Return the merchant as a till prints it: upper case, a branch number, a suffix."""
    return rng.choice(
        [merchant.upper(), f"{merchant} #{rng.randrange(10, 999)}", f"{merchant} Ltd", merchant]
    )


async def test_scenario_precision_and_recall(engine: AsyncEngine) -> None:
    """50 receipts among look-alike expenses: auto-matching must be right when it acts."""
    books = await new_books(engine)
    rate = await _rate(books.engine, "EUR", "GBP", DAY - timedelta(days=1), "0.8400000000")
    rng = random.Random(12)
    truth: dict[int, int | None] = {}  # receipt -> the one expense it belongs to (None: ambiguous)
    amounts = rng.sample(range(500, 40_000), 200)
    for i in range(50):
        kind, day = i % 5, DAY + timedelta(days=6 * i)
        at = NOON + timedelta(days=6 * i, hours=rng.randrange(-3, 8))
        merchant, amount = rng.choice(MERCHANTS), amounts.pop()
        other = rng.choice([m for m in MERCHANTS if m != merchant])
        printed = _as_printed(merchant, rng)
        if kind == 0:  # the plain case
            expense: int | None = await books.expense("employee", amount, at, merchant)
            receipt = await books.receipt("employee", amount, day, printed)
        elif kind == 1:  # dated a day later; the same amount another day elsewhere
            expense = await books.expense("employee", amount, at, merchant)
            await books.expense("employee", amount, at + timedelta(days=5), other)
            receipt = await books.receipt("employee", amount, day + timedelta(days=1), printed)
        elif kind == 2:  # the same merchant the same day for another amount
            expense = await books.expense("employee", amount, at, merchant)
            await books.expense("employee", amounts.pop(), at + timedelta(hours=2), merchant)
            receipt = await books.receipt("employee", amount, day, printed)
        elif kind == 3:  # two equal expenses: nobody can tell which
            await books.expense("employee", amount, at, merchant)
            await books.expense("employee", amount, at + timedelta(hours=1), merchant)
            expense = None
            receipt = await books.receipt("employee", amount, day, printed)
        else:  # paid in EUR, booked in GBP half a percent off; same merchant 2 days later
            eur = amount
            gbp = int((Decimal(eur) * rate * Decimal("1.005")).to_integral_value())
            expense = await books.expense("employee", gbp, at, merchant)
            await books.expense("employee", gbp + 777, at + timedelta(days=2), merchant)
            receipt = await books.receipt("employee", eur, day, printed, currency="EUR")
        truth[receipt] = expense

    order = list(truth)
    rng.shuffle(order)
    for receipt in order:
        await books.match_receipt(receipt)

    attached = {receipt: await books.attached(receipt) for receipt in truth}
    acted = [r for r, e in attached.items() if e is not None]
    right = [r for r in acted if attached[r] == truth[r]]
    matchable = [r for r, e in truth.items() if e is not None]
    precision = len(right) / len(acted) if acted else 1.0
    recall = len(right) / len(matchable)
    print(
        f"\nreceipt matching scenario: {len(truth)} receipts, {len(matchable)} with one true "
        f"expense; auto-attached {len(acted)}, right {len(right)}; "
        f"precision {precision:.1%}, recall {recall:.1%}"
    )
    assert precision >= 0.99
    assert recall >= 0.80
    for receipt, expense in truth.items():  # what was left is offered to a person
        if attached[receipt] is None and expense is not None:
            assert expense in [c[0] for c in await books.candidates(receipt)]
