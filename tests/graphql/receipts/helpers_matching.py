"""Shared helpers of the receipt matching and inbox tests: a fresh business per test (Books)
that inserts expenses and extracted receipts, runs the matchers as the worker does, and
reads back what they attached, offered and recorded.
"""

import itertools
import os
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import RequestDb
from db.tables.expense import expense_events, expenses
from db.tables.org import businesses
from db.tables.receipt import receipt_match_candidates, receipts
from resolvers.matching import match_expense, match_receipt
from tests.world import Biz, _business

DAY = date(2025, 3, 10)
NOON = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
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
