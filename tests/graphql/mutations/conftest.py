"""Fixtures and helpers of the write-API tests: businesses of their own, FX rates, API keys.

The shared ``world`` is never mutated here. These tests build four businesses with
tests.world._business (GBP, JPY and BHD homes, and a foreign GBP business), insert the
FX rates they convert with on days far from any other test's, and read rows back in SQL
to check that a mutation changed exactly what it says, or (on a userError) nothing.
"""

import itertools
import random
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables.expense import expenses, fx_rates
from db.tables.org import cards
from db.tables.receipt import receipts
from resolvers.ids import decode_id, encode_id
from tests import world
from tests.conftest import gql, token
from tests.world import Biz, insert_api_key

DAY = date(2031, 3, 10)
NEXT_DAY = date(2031, 3, 11)
SPENT = "2031-03-10T12:00:00Z"
SPENT_NEXT = "2031-03-11T09:00:00Z"
# (currency, quote, day) -> rate. Chosen so that exact results end in half a minor unit.
RATES = {
    ("JPY", "GBP", DAY): Decimal("0.005"),
    ("USD", "GBP", DAY): Decimal("0.7921"),
    ("USD", "GBP", NEXT_DAY): Decimal("0.8"),
    ("BHD", "GBP", DAY): Decimal("2.1034"),
    ("USD", "JPY", DAY): Decimal("150.5"),
    ("GBP", "BHD", DAY): Decimal("0.4745"),
}
TEAM_OF = {"manager": "sales", "employee": "sales", "employee2": "sales", "manager2": "eng",
           "engineer": "eng", "admin": None, "finance": None}  # fmt: skip

EXPENSE = (
    "id status merchantName description amount { amount currency }"
    " homeAmount { amount currency } fxRate fxRateDate spentAt submittedAt decidedAt"
    " reimbursedAt exportedAt createdAt updatedAt deletedAt member { id } card { id }"
    " category { id } policyViolations { code } events { action comment actor { id } }"
)
ERRORS = "userErrors { field code message }"
ONE = f"expense {{ {EXPENSE} }} {ERRORS}"
MANY = f"expenses {{ {EXPENSE} }} {ERRORS}"
MUTATIONS = {
    "create": f"mutation($input: CreateExpenseInput!) {{ p: createExpense(input: $input) {{ {ONE} }} }}",
    "update": f"mutation($id: ID!, $input: UpdateExpenseInput!) {{ p: updateExpense(id: $id, input: $input) {{ {ONE} }} }}",
    "delete": f"mutation($id: ID!) {{ p: deleteExpense(id: $id) {{ {ONE} }} }}",
    "submit": f"mutation($id: ID!) {{ p: submitExpense(id: $id) {{ {ONE} }} }}",
    "approve": f"mutation($id: ID!, $comment: String) {{ p: approveExpense(id: $id, comment: $comment) {{ {ONE} }} }}",
    "reject": f"mutation($id: ID!, $reason: String!) {{ p: rejectExpense(id: $id, reason: $reason) {{ {ONE} }} }}",
    "reimburse": f"mutation($ids: [ID!]!) {{ p: markExpensesReimbursed(ids: $ids) {{ {MANY} }} }}",
    "export": f"mutation($ids: [ID!]!) {{ p: markExpensesExported(ids: $ids) {{ {MANY} }} }}",
}  # fmt: skip


@dataclass
class Shop:
    """One business of the write tests: its ids and its credentials."""

    biz: Biz
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.biz.id

    def token(self, who: str) -> str:
        return token(self.biz, who)

    def gid(self, kind: str, who_or_name: str) -> str:
        table = {"Member": self.biz.members, "Card": self.biz.cards, "Team": self.biz.teams,
                 "Category": self.biz.categories}[kind]  # fmt: skip
        return encode_id(kind, table[who_or_name])


@dataclass
class Shops:
    gbp: Shop
    jpy: Shop
    bhd: Shop
    other: Shop


@pytest.fixture(scope="session")
async def shops(engine: AsyncEngine) -> Shops:
    rng = random.Random(11)
    async with engine.begin() as conn:
        rows = [dict(currency=c, quote_currency=q, day=d, rate=r) for (c, q, d), r in RATES.items()]
        await conn.execute(pg_insert(fx_rates).on_conflict_do_nothing(), rows)
        stored = await conn.execute(
            text("SELECT currency, quote_currency, day, rate FROM fx_rates")
        )
        found = {(c, q, d): r for c, q, d, r in stored}
        assert all(found[k] == v for k, v in RATES.items()), "another test owns these FX days"
        built = {}
        with pytest.MonkeyPatch.context() as patch:  # world.py only knows GBP and USD homes
            for currency, home in itertools.product(("GBP", "USD", "JPY", "BHD"), ("JPY", "BHD")):
                patch.setitem(world.RATES_TO, (currency, home), Decimal("1.5"))
            for label, name, home in (("gbp", "Mutgbp Ltd", "GBP"), ("jpy", "Mutjpy KK", "JPY"),
                                      ("bhd", "Mutbhd WLL", "BHD"), ("other", "Mutother Ltd", "GBP")):  # fmt: skip
                built[label] = Shop(await world._business(conn, name, home, 5, rng))
        gbp = built["gbp"]
        for name, scopes in (("write", ["expenses:read", "expenses:write"]),
                             ("write_only", ["expenses:write"]), ("read", ["expenses:read"])):  # fmt: skip
            gbp.keys[name] = await insert_api_key(conn, gbp.biz, scopes)
        built["other"].keys["write"] = await insert_api_key(
            conn, built["other"].biz, ["expenses:read", "expenses:write"]
        )
        frozen = await conn.execute(
            insert(cards).values(
                business_id=gbp.id, holder_id=gbp.biz.members["employee"],
                team_id=gbp.biz.teams["sales"], last4="0000", kind="VIRTUAL",
                status="FROZEN", currency="GBP",
            ).returning(cards.c.id)
        )  # fmt: skip
        gbp.biz.cards["frozen"] = frozen.scalar_one()
    return Shops(**built)


async def call(client: httpx.AsyncClient, op: str, as_: str, **variables: Any) -> dict[str, Any]:
    """Run one of MUTATIONS and return its payload (failing on any top-level error)."""
    return (await gql(client, MUTATIONS[op], variables, as_=as_))["p"]


def row_id(global_id: str) -> int:
    return decode_id(global_id)[1]


def egid(id_: int) -> str:
    """Return the global id of an expense row."""
    return encode_id("Expense", id_)


def error_codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    """Return (field, code) of every userError, and check the payload carries no data."""
    data = payload.get("expense", payload.get("expenses"))
    assert data in (None, []), payload
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


def created(biz: Shop, who: str = "employee", *, amount: str = "12.34", currency: str = "",
            spent: str = SPENT, **extra: Any) -> dict[str, Any]:  # fmt: skip
    """Return a CreateExpenseInput."""
    return {"amount": {"amount": amount, "currency": currency or biz.biz.home},
            "spentAt": spent, "merchantName": f"Shop of {who}", **extra}  # fmt: skip


async def add_expense(
    engine: AsyncEngine, shop: Shop, who: str, *, status: str = "SUBMITTED",
    card: bool = False, amount_minor: int = 1234, category: str | None = None,
) -> int:  # fmt: skip
    """Insert an expense of ``who`` in ``status`` straight into the table; return its row id."""
    biz = shop.biz
    team = TEAM_OF[who]
    values = dict(
        business_id=biz.id, member_id=biz.members[who],
        team_id=biz.teams[team] if team else None,
        card_id=biz.cards[who] if card else None,
        category_id=biz.categories[category] if category else None,
        merchant_name="Seeded", amount_minor=amount_minor, currency=biz.home,
        home_amount_minor=amount_minor, home_currency=biz.home, fx_rate=1,
        spent_at=datetime.fromisoformat(SPENT), status=status,
        submitted_at=None if status == "DRAFT" else datetime.fromisoformat(SPENT),
    )  # fmt: skip
    async with engine.begin() as conn:
        result = await conn.execute(insert(expenses).values(**values).returning(expenses.c.id))
        return int(result.scalar_one())


async def snapshot(engine: AsyncEngine, expense_id: int) -> tuple[dict[str, Any], list[Any]]:
    """Return the expense row and its events (action, actor_id, comment), as stored."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(text("SELECT * FROM expenses WHERE id = :i"), {"i": expense_id})
        ).one()
        events = await conn.execute(
            text(
                "SELECT action, actor_id, comment FROM expense_events"
                " WHERE expense_id = :i ORDER BY at, id"
            ),
            {"i": expense_id},
        )
        return dict(row._mapping), [tuple(e) for e in events]


async def ledger(engine: AsyncEngine, shop: Shop) -> int:
    """Return how many expenses and events the business has (a refusal adds none)."""
    sql = (
        "SELECT (SELECT count(*) FROM expenses WHERE business_id = :b)"
        " + (SELECT count(*) FROM expense_events WHERE business_id = :b)"
    )
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql), {"b": shop.id})).scalar_one())


async def attach_receipt(
    engine: AsyncEngine, shop: Shop, expense_id: int, who: str = "employee"
) -> None:
    """Insert a receipt on the expense (uploads are not part of these tests)."""
    async with engine.begin() as conn:
        await conn.execute(
            insert(receipts).values(
                business_id=shop.id, expense_id=expense_id, uploaded_by=shop.biz.members[who],
                file_name=f"receipt-{expense_id}.pdf", content_type="application/pdf",
                size_bytes=10, sha256=f"{expense_id:064x}", storage_key=f"mut/{expense_id}",
            )
        )  # fmt: skip
