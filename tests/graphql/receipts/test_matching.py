"""Receipt matching: match_receipt/match_expense on extracted receipts, candidates, refusals."""

import asyncio
import itertools
import os
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import RequestDb
from db.tables.expense import expense_events, expenses, fx_rates
from db.tables.org import businesses
from db.tables.receipt import receipt_match_candidates, receipt_match_refusals, receipts
from resolvers.ids import decode_id, encode_id
from resolvers.matching import AUTO_MATCHED, match_expense, match_receipt
from tests.conftest import gql
from tests.graphql.receipts.conftest import PDF, Shop, unique, upload
from tests.world import Biz, _business

TEAMS = {"employee": "sales", "employee2": "sales", "manager": "sales", "engineer": "eng"}
_names = itertools.count()


@dataclass
class Books:
    """A fresh business of one test, and the engine to write and read it."""

    biz: Biz
    engine: AsyncEngine

    async def expense(
        self,
        member: str,
        amount_minor: int,
        spent_at: datetime,
        merchant: str,
        currency: str | None = None,
    ) -> int:
        """Insert a DRAFT expense and return its id."""
        team = TEAMS.get(member)
        values = {
            "business_id": self.biz.id, "member_id": self.biz.members[member],
            "team_id": self.biz.teams[team] if team else None, "merchant_name": merchant,
            "amount_minor": amount_minor, "currency": currency or self.biz.home,
            "home_amount_minor": amount_minor, "home_currency": self.biz.home,
            "fx_rate": Decimal(1), "spent_at": spent_at,
        }  # fmt: skip
        async with self.engine.begin() as conn:
            statement = insert(expenses).values(**values).returning(expenses.c.id)
            return int((await conn.execute(statement)).scalar_one())

    async def receipt(
        self,
        uploader: str,
        total_minor: int | None,
        on: date | None,
        merchant: str | None,
        currency: str | None = None,
        processing: str = "DONE",
        confidence: dict[str, float] | None = None,
    ) -> int:
        """Insert an unmatched receipt with what extraction found and return its id."""
        values = {
            "business_id": self.biz.id, "uploaded_by": self.biz.members[uploader],
            "file_name": "receipt.pdf", "content_type": "application/pdf", "size_bytes": 10,
            "sha256": os.urandom(32).hex(), "storage_key": "none", "processing": processing,
            "extracted_merchant": merchant, "extracted_spent_on": on,
            "extracted_total_minor": total_minor,
            "extracted_currency": (currency or self.biz.home) if total_minor else None,
            "extracted_confidence": confidence or {"merchant": 0.9, "total": 0.95, "date": 0.8},
        }  # fmt: skip
        async with self.engine.begin() as conn:
            statement = insert(receipts).values(**values).returning(receipts.c.id)
            return int((await conn.execute(statement)).scalar_one())

    async def match_receipt(self, receipt_id: int) -> None:
        await _run(self.engine, match_receipt, business_id=self.biz.id, receipt_id=receipt_id)

    async def match_expense(self, expense_id: int) -> None:
        await _run(self.engine, match_expense, business_id=self.biz.id, expense_id=expense_id)

    async def matched(
        self, uploader: str, total_minor: int, on: date, merchant: str, **extracted: Any
    ) -> int | None:
        """Insert a receipt (as receipt() does), match it, and return the expense it got."""
        receipt_id = await self.receipt(uploader, total_minor, on, merchant, **extracted)
        await self.match_receipt(receipt_id)
        return await self.attached(receipt_id)

    async def attached(self, receipt_id: int) -> int | None:
        async with self.engine.connect() as conn:
            statement = select(receipts.c.expense_id).where(
                receipts.c.business_id == self.biz.id, receipts.c.id == receipt_id
            )
            return (await conn.execute(statement)).scalar_one()

    async def candidates(self, receipt_id: int) -> list[tuple[int, float, list[str]]]:
        c = receipt_match_candidates.c
        statement = (
            select(c.expense_id, c.score, c.reasons)
            .where(c.business_id == self.biz.id, c.receipt_id == receipt_id)
            .order_by(c.score.desc(), c.expense_id)
        )
        async with self.engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(statement)).all()]

    async def events(self, expense_id: int) -> list[Any]:
        e = expense_events.c
        statement = select(expense_events).where(
            e.business_id == self.biz.id, e.expense_id == expense_id
        )
        async with self.engine.connect() as conn:
            return list((await conn.execute(statement.order_by(e.id))).all())


async def _run(engine: AsyncEngine, function: Any, **kwargs: Any) -> None:
    """Run a matcher function as the worker does: its own RequestDb, committed."""
    db = RequestDb(engine)
    try:
        await function(db=db, **kwargs)
        await db.commit()
    finally:
        await db.close()


async def new_books(engine: AsyncEngine, timezone: str = "UTC") -> Books:
    """Return a fresh business, its one expense far from the tests' dates (its own members, teams and cards)."""
    async with engine.begin() as conn:
        biz = await _business(
            conn, f"Match{next(_names)} {os.urandom(3).hex()}", "GBP", 1, random.Random(7)
        )
        await conn.execute(
            update(businesses).where(businesses.c.id == biz.id).values(timezone=timezone)
        )
        # the world's unmatched uploads would crowd the inbox tests: each test brings its own
        await conn.execute(delete(receipts).where(receipts.c.business_id == biz.id))
    return Books(biz, engine)


@pytest.fixture
async def books(engine: AsyncEngine) -> Books:
    return await new_books(engine)


DAY = date(2025, 3, 10)
NOON = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)

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


async def test_a_detached_pair_is_never_attached_again(books: Books, shop: Shop) -> None:
    expense = await books.expense("employee", 990, NOON, "Waterstones")
    receipt = await books.receipt("employee", 990, DAY, "Waterstones")
    await books.match_receipt(receipt)
    assert await books.attached(receipt) == expense

    data = await gql(
        shop.client,
        "mutation($id: ID!) { detachReceipt(receiptId: $id) { userErrors { code } } }",
        {"id": encode_id("Receipt", receipt)},
        as_=shop.as_("employee", books.biz),
    )
    assert data["detachReceipt"]["userErrors"] == []
    async with books.engine.connect() as conn:
        refused = (await conn.execute(select(receipt_match_refusals.c.expense_id).where(
            receipt_match_refusals.c.business_id == books.biz.id,
            receipt_match_refusals.c.receipt_id == receipt,
        ))).scalars().all()  # fmt: skip
    assert refused == [expense]

    await books.match_receipt(receipt)
    await books.match_expense(expense)
    assert await books.attached(receipt) is None
    assert await books.candidates(receipt) == []  # a person said no: not offered again either


async def test_candidates_are_only_expenses_the_uploader_sees(
    books: Books, engine: AsyncEngine
) -> None:
    # a teammate's and another business's expenses fit perfectly, but the employee cannot see them
    teammate = await books.expense("employee2", 700, NOON, "Itsu")
    other = await new_books(engine)
    await other.expense("employee", 700, NOON, "Itsu")
    receipt = await books.receipt("employee", 700, DAY, "Itsu")
    await books.match_receipt(receipt)
    assert await books.attached(receipt) is None
    assert await books.candidates(receipt) == []

    # the team's manager sees it: their upload attaches itself
    assert await books.matched("manager", 700, DAY, "Itsu") == teammate

    # another team's manager does not; finance sees the whole business
    engineer = await books.expense("engineer", 1300, NOON, "Leon")
    assert await books.matched("manager2", 1300, DAY, "Leon") == engineer  # their own team's
    employee2 = await books.expense("employee2", 1400, NOON, "Leon")
    by_other_manager = await books.receipt("manager2", 1400, DAY, "Leon")
    await books.match_receipt(by_other_manager)
    assert await books.attached(by_other_manager) is None
    assert await books.candidates(by_other_manager) == []
    assert await books.matched("finance", 1400, DAY, "Leon") == employee2


async def test_a_deleted_expense_or_one_with_a_receipt_is_no_candidate(books: Books) -> None:
    deleted = await books.expense("employee", 610, NOON, "Boots")
    async with books.engine.begin() as conn:
        await conn.execute(
            update(expenses)
            .where(expenses.c.business_id == books.biz.id, expenses.c.id == deleted)
            .values(deleted_at=NOON)
        )
    taken = await books.expense("employee", 610, NOON, "Boots")
    assert await books.matched("employee", 610, DAY, "Boots") == taken
    second = await books.receipt("employee", 610, DAY, "Boots")
    await books.match_receipt(second)
    assert await books.attached(second) is None
    assert await books.candidates(second) == []


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


async def test_match_expense_attaches_a_waiting_receipt(books: Books) -> None:
    receipt = await books.receipt("employee", 8800, DAY, "Trainline")
    await books.match_receipt(receipt)
    assert await books.attached(receipt) is None

    expense = await books.expense("employee", 8800, NOON, "Trainline")
    await books.match_expense(expense)
    assert await books.attached(receipt) == expense


async def test_match_expense_refreshes_candidates_when_an_expense_changes(books: Books) -> None:
    expense = await books.expense("employee", 1500, NOON, "Deliveroo")
    receipt = await books.receipt("employee", 1000, DAY, "Deliveroo")
    await books.match_receipt(receipt)
    assert [c[0] for c in await books.candidates(receipt)] == [expense]

    async with books.engine.begin() as conn:  # the amount corrected: now it fits exactly
        await conn.execute(
            update(expenses)
            .where(expenses.c.business_id == books.biz.id, expenses.c.id == expense)
            .values(amount_minor=1000, home_amount_minor=1000)
        )
    await books.match_expense(expense)
    assert await books.attached(receipt) == expense
    assert await books.candidates(receipt) == []


async def test_receipts_not_done_or_without_a_total_are_left_alone(books: Books) -> None:
    await books.expense("employee", 4400, NOON, "Tesco")
    queued = await books.receipt("employee", 4400, DAY, "Tesco", processing="QUEUED")
    no_total = await books.receipt("employee", None, DAY, "Tesco")
    for receipt in (queued, no_total):
        await books.match_receipt(receipt)
        assert await books.attached(receipt) is None
        assert await books.candidates(receipt) == []


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


async def test_an_uploaded_receipt_matches_once_extracted(books: Books, shop: Shop) -> None:
    expense = await books.expense("employee", 1575, NOON, "Ryman Stationery")
    payload = await upload(
        shop.client, unique(PDF), as_=shop.as_("employee", books.biz), name="ryman.pdf"
    )
    _, receipt = decode_id(payload["receipt"]["id"])
    async with books.engine.begin() as conn:  # what the extraction worker writes
        await conn.execute(
            update(receipts)
            .where(receipts.c.business_id == books.biz.id, receipts.c.id == receipt)
            .values(
                processing="DONE", extracted_merchant="RYMAN STATIONERY", extracted_spent_on=DAY,
                extracted_total_minor=1575, extracted_currency="GBP",
                extracted_confidence={"merchant": 0.7, "spent_on": 0.9, "total_minor": 0.99},
            )
        )  # fmt: skip
    await books.match_receipt(receipt)
    assert await books.attached(receipt) == expense


async def test_two_receipts_racing_for_one_expense_attach_once(books: Books) -> None:
    expense = await books.expense("employee", 4321, NOON, "Eurostar")
    first = await books.receipt("employee", 4321, DAY, "Eurostar")
    second = await books.receipt("employee", 4321, DAY, "Eurostar")
    await asyncio.gather(books.match_receipt(first), books.match_receipt(second))
    attached = [await books.attached(first), await books.attached(second)]
    assert sorted(attached, key=lambda e: e is None) == [expense, None]
    events = [e for e in await books.events(expense) if e.action == AUTO_MATCHED]
    assert len(events) == 1
