"""A small, fixed data set of two businesses that the read tests share.

Built with plain inserts (not the seeder) so every test knows exactly what exists.
Business A has ties in ``spent_at`` on purpose, so paging must break them by id.
"""

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.money import minor_units
from db.tables.api import api_keys
from db.tables.expense import expense_events, expenses
from db.tables.org import businesses, cards, categories, members, policies, teams
from db.tables.receipt import receipts

RATES_TO = {  # currency -> rate into each home currency used here
    ("GBP", "GBP"): Decimal(1), ("JPY", "GBP"): Decimal("0.0052"),
    ("BHD", "GBP"): Decimal("2.1034"), ("USD", "GBP"): Decimal("0.7921"),
    ("USD", "USD"): Decimal(1), ("GBP", "USD"): Decimal("1.2625"),
    ("JPY", "USD"): Decimal("0.0066"), ("BHD", "USD"): Decimal("2.6525"),
}  # fmt: skip
ANCHOR = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
STATUSES = ("DRAFT", "SUBMITTED", "APPROVED", "REJECTED", "REIMBURSED")


@dataclass
class Biz:
    """Ids of one business's rows, by role name."""

    id: int
    home: str
    members: dict[str, int] = field(default_factory=dict)
    teams: dict[str, int] = field(default_factory=dict)
    cards: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    expense_ids: list[int] = field(default_factory=list)
    receipt_ids: list[int] = field(default_factory=list)


def home_amount(amount_minor: int, currency: str, home: str) -> tuple[int, Decimal]:
    """Return the home-currency minor amount and the rate, exactly as the seeder does."""
    rate = RATES_TO[(currency, home)]
    major = Decimal(amount_minor).scaleb(-minor_units(currency)) * rate
    home_minor = int(major.scaleb(minor_units(home)).quantize(Decimal(1), ROUND_HALF_EVEN))
    return home_minor, rate


async def _insert(conn: AsyncConnection, table: Any, **values: Any) -> int:
    return int(
        (await conn.execute(insert(table).values(**values).returning(table.c.id))).scalar_one()
    )


async def _business(
    conn: AsyncConnection, name: str, home: str, size: int, rng: random.Random
) -> Biz:
    biz = Biz(id=await _insert(conn, businesses, name=name, home_currency=home), home=home)
    b = biz.id
    slug = name.lower().split()[0]
    for team in ("sales", "eng"):
        biz.teams[team] = await _insert(conn, teams, business_id=b, name=team.title())
    roster = [
        ("admin", "ADMIN", None), ("finance", "FINANCE", None),
        ("manager", "MANAGER", "sales"), ("manager2", "MANAGER", "eng"),
        ("employee", "EMPLOYEE", "sales"), ("employee2", "EMPLOYEE", "sales"),
        ("engineer", "EMPLOYEE", "eng"),
    ]  # fmt: skip
    for key, role, home_team in roster:
        biz.members[key] = await _insert(
            conn, members, business_id=b, name=f"{key.title()} {name}", role=role,
            email=f"{key}@{slug}.test", team_id=biz.teams[home_team] if home_team else None,
        )  # fmt: skip
    for team, manager in (("sales", "manager"), ("eng", "manager2")):
        await conn.execute(
            teams.update()
            .where(teams.c.business_id == b, teams.c.id == biz.teams[team])
            .values(manager_id=biz.members[manager])
        )
    for key in ("manager", "employee", "employee2", "engineer"):
        team = "eng" if key == "engineer" else "sales"
        biz.cards[key] = await _insert(
            conn, cards, business_id=b, holder_id=biz.members[key], team_id=biz.teams[team],
            last4=f"{rng.randrange(10000):04d}", kind=rng.choice(["PHYSICAL", "VIRTUAL"]),
            currency=home, spend_limit_minor=100_000 if key == "employee" else None,
            limit_period="MONTH" if key == "employee" else None,
        )  # fmt: skip
    for cat, gl in (("Travel", "6100"), ("Meals", "6200"), ("Software", "6300")):
        biz.categories[cat] = await _insert(conn, categories, business_id=b, name=cat, gl_code=gl)
    await conn.execute(
        insert(policies).values(
            business_id=b, name="Receipts over 50", receipt_required_above_minor=5000,
            max_amount_minor=50_000,
        )
    )  # fmt: skip
    await _expenses(conn, biz, size, rng)
    return biz


async def _expenses(conn: AsyncConnection, biz: Biz, size: int, rng: random.Random) -> None:
    spenders = ["employee", "employee2", "engineer", "manager", "admin"]
    rows = []
    for i in range(size):
        who = spenders[i % len(spenders)]
        currency = rng.choice(
            [biz.home, biz.home, "JPY", "BHD", "USD" if biz.home != "USD" else "GBP"]
        )
        amount = rng.randrange(1, 200_000)
        home_minor, rate = home_amount(amount, currency, biz.home)
        # every third expense shares its spent_at with the previous one: ties on purpose
        spent_at = ANCHOR - timedelta(hours=(i - i % 3) * 7)
        status = STATUSES[i % 5]
        card = biz.cards.get(who) if i % 4 else None
        if status == "REIMBURSED":
            card = None
        member_team = {"engineer": "eng", "admin": None}.get(who, "sales")
        rows.append(
            dict(
                business_id=biz.id, member_id=biz.members[who],
                team_id=biz.teams[member_team] if member_team else None,
                card_id=card, category_id=list(biz.categories.values())[i % 3],
                merchant_name=rng.choice(["Uber", "British Airways", "Pret A Manger", "GitHub", "Hilton"]),
                description=f"expense {i}", amount_minor=amount, currency=currency,
                home_amount_minor=home_minor, home_currency=biz.home, fx_rate=rate,
                fx_rate_day=date(2026, 6, 1) if currency != biz.home else None,
                spent_at=spent_at, status=status,
                submitted_at=spent_at + timedelta(hours=1) if status != "DRAFT" else None,
                created_at=spent_at, updated_at=spent_at + timedelta(hours=2 + i % 7),
                deleted_at=spent_at + timedelta(hours=3) if status == "DRAFT" and i % 10 == 0 else None,
            )
        )  # fmt: skip
    result = await conn.execute(insert(expenses).returning(expenses.c.id), rows)
    biz.expense_ids = [row[0] for row in result]
    for n, expense_id in enumerate(biz.expense_ids):
        if n % 3 == 0:
            continue  # a third have no receipt
        biz.receipt_ids.append(await _receipt(conn, biz, expense_id, n))
        await conn.execute(
            insert(expense_events).values(
                business_id=biz.id, expense_id=expense_id, actor_id=biz.members["employee"],
                action="CREATED", at=ANCHOR,
            )
        )  # fmt: skip
    for n in range(3):  # unmatched uploads
        biz.receipt_ids.append(await _receipt(conn, biz, None, 1000 + n))


async def _receipt(conn: AsyncConnection, biz: Biz, expense_id: int | None, n: int) -> int:
    sha = f"{biz.id:08x}{n:056x}"
    return await _insert(
        conn, receipts, business_id=biz.id, expense_id=expense_id,
        uploaded_by=biz.members["employee"], file_name=f"receipt-{n}.pdf",
        content_type="application/pdf", size_bytes=1000 + n, sha256=sha,
        storage_key=f"test/{biz.id}/{sha}", uploaded_at=ANCHOR + timedelta(minutes=n),
    )  # fmt: skip


async def insert_api_key(conn: AsyncConnection, biz: Biz, scopes: list[str]) -> str:
    """Store an API key of ``biz`` with ``scopes``; return its full secret."""
    from app.auth import hash_secret, new_api_key

    prefix, key = new_api_key()
    await conn.execute(
        insert(api_keys).values(
            business_id=biz.id, name="+".join(scopes), prefix=prefix,
            secret_hash=hash_secret(key), scopes=scopes,
        )
    )  # fmt: skip
    return key


@dataclass
class World:
    """The two businesses and their API keys (full secrets)."""

    a: Biz
    b: Biz
    keys: dict[str, str]


async def build_world(conn: AsyncConnection, key_maker: Any) -> World:
    """Insert the test data set and return its ids."""
    rng = random.Random(7)
    a = await _business(conn, "Alpha Ltd", "GBP", 90, rng)
    b = await _business(conn, "Beta Inc", "USD", 25, rng)
    keys = {}
    for name, biz, scopes in (
        ("a_read", a, ["expenses:read", "receipts:read", "cards:read", "teams:read"]),
        ("a_expenses_only", a, ["expenses:read"]),
        ("a_revoked", a, ["admin"]),
        ("b_read", b, ["admin"]),
    ):
        prefix, key, secret_hash = key_maker()
        keys[name] = key
        await conn.execute(
            insert(api_keys).values(
                business_id=biz.id, name=name, prefix=prefix, secret_hash=secret_hash,
                scopes=scopes, revoked_at=ANCHOR if name == "a_revoked" else None,
            )
        )  # fmt: skip
    return World(a=a, b=b, keys=keys)
