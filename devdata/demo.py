"""Two small demo businesses, Acme Corp and Globex Ltd, to show tenant isolation.

Idempotent: a business that already exists (by name) is reused as it is. Members have
fixed emails so the CLI can print ready-made tokens; everything else comes from the
seed generator (:mod:`devdata.seed`) with a fixed seed, over the 90 days before the anchor.
The demo's API key is replaced at every start, so one demo key is live at a time.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from random import Random
from typing import Any, NamedTuple, Protocol, cast

from sqlalchemy import func, select, text

from db.engine import RequestDb
from db.permissions import Permission
from db.roles import Role
from db.rows import ApiKeyRow
from db.writes import api_keys as api_key_writes
from devdata import load
from devdata.catalogues import CATEGORIES
from devdata.expenses import Chunk, ExpenseFactory
from devdata.fx import FxTable, seed_fx_rates
from devdata.org import ANCHOR, BusinessSpec, Ids, OrgBuilder, OrgRows
from devdata.roster import make_roster
from devdata.seed import copy_chunk, load_org

DEMO_SEED = 2026
DEMO_DAYS = 90
DEMO_EXPENSES = 60
# The first expenses of each business are in these currencies, so all of them show up.
DEMO_CURRENCIES = ("JPY", "BHD", "USD", "EUR", "GBP", "CHF", "SEK", "JPY", "BHD")


@dataclass(frozen=True)
class DemoPerson:
    """A demo member with a fixed email."""

    email: str
    name: str
    role: str
    team: str | None


@dataclass(frozen=True)
class DemoSpec:
    """A demo business as written down here."""

    name: str
    home_currency: str
    timezone: str
    teams: tuple[str, ...]
    people: tuple[DemoPerson, ...]


ACME = DemoSpec("Acme Corp", "GBP", "Europe/London", ("Sales", "Engineering"), (
    DemoPerson("admin@acme.example", "Alice Archer", Role.ADMIN, None),
    DemoPerson("finance@acme.example", "Fiona Finch", Role.FINANCE, None),
    DemoPerson("manager@acme.example", "Mark Manning", Role.MANAGER, "Sales"),
    DemoPerson("employee@acme.example", "Emma Evans", Role.EMPLOYEE, "Sales"),
    DemoPerson("sam@acme.example", "Sam Sellers", Role.EMPLOYEE, "Sales"),
    DemoPerson("grace@acme.example", "Grace Hopper", Role.MANAGER, "Engineering"),
    DemoPerson("linus@acme.example", "Linus Torvalds", Role.EMPLOYEE, "Engineering"),
    DemoPerson("ada@acme.example", "Ada Lovelace", Role.EMPLOYEE, "Engineering"),
))  # fmt: skip
GLOBEX = DemoSpec("Globex Ltd", "USD", "America/New_York", ("Operations", "Research"), (
    DemoPerson("admin@globex.example", "Hank Scorpio", Role.ADMIN, None),
    DemoPerson("finance@globex.example", "Frank Grimes", Role.FINANCE, None),
    DemoPerson("manager@globex.example", "Mindy Simmons", Role.MANAGER, "Operations"),
    DemoPerson("employee@globex.example", "Homer Simpson", Role.EMPLOYEE, "Operations"),
    DemoPerson("lenny@globex.example", "Lenny Leonard", Role.EMPLOYEE, "Operations"),
    DemoPerson("carl@globex.example", "Carl Carlson", Role.MANAGER, "Research"),
    DemoPerson("frink@globex.example", "John Frink", Role.EMPLOYEE, "Research"),
))  # fmt: skip
# the API key the CLI prints: one live key of this name in Acme, replaced at every start
DEMO_KEY_NAME = "demo integration"
DEMO_KEY_PERMISSIONS = (
    Permission.EXPENSES_READ,
    Permission.RECEIPTS_READ,
    Permission.CARDS_READ,
    Permission.TEAMS_READ,
)
# roles the CLI prints a token for; the first person listed with the role is used
LOGIN_ROLES = (Role.ADMIN, Role.FINANCE, Role.MANAGER, Role.EMPLOYEE)


class DemoLogin(NamedTuple):
    """A member to print a token for."""

    member_id: int
    email: str


@dataclass(frozen=True)
class DemoBusiness:
    """One demo business and, per role, the member to log in as."""

    business_id: int
    name: str
    home_currency: str
    members: Mapping[Role, DemoLogin]  # each of LOGIN_ROLES

    @property
    def emails(self) -> dict[Role, str]:
        """Return role -> email."""
        return {role: login.email for role, login in self.members.items()}


@dataclass(frozen=True)
class DemoData:
    """Acme and Globex, and whether this call created either of them."""

    businesses: tuple[DemoBusiness, DemoBusiness]
    created: bool

    @property
    def acme(self) -> DemoBusiness:
        """Return Acme Corp (home currency GBP)."""
        return self.businesses[0]

    @property
    def globex(self) -> DemoBusiness:
        """Return Globex Ltd (home currency USD)."""
        return self.businesses[1]

    @property
    def business_ids(self) -> tuple[int, int]:
        """Return the ids of Acme and Globex."""
        return self.acme.business_id, self.globex.business_id


async def seed_demo(*, url: str) -> DemoData:
    """Return the demo businesses, creating those that do not exist yet."""
    conn = await load.connect(url)
    try:
        async with conn.transaction():
            # two demo runs at once would both see no Acme and both create one
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('expensegraph.demo'))")
            found: dict[str, DemoBusiness] = {}
            missing: list[DemoSpec] = []
            for spec in (ACME, GLOBEX):
                business = await _existing(conn, spec)
                if business is None:
                    missing.append(spec)
                else:
                    found[spec.name] = business
            if missing:
                found |= await _create(conn, missing)
            # rates up to next week, so expenses recorded in the demo today can be converted
            await seed_fx_rates(
                conn,
                start=ANCHOR.date(),
                end=max(date.today(), ANCHOR.date()) + timedelta(days=7),
                seed=DEMO_SEED,
            )
    finally:
        await conn.close()
    return DemoData(businesses=(found[ACME.name], found[GLOBEX.name]), created=bool(missing))


async def replace_demo_key(
    *, db: RequestDb, business_id: int, prefix: str, secret_hash: bytes
) -> ApiKeyRow:
    """Revoke the business's live demo keys, store a new one and return its row.

    Only a key's hash is stored, so the last start's key cannot be printed again: it is
    replaced. Run inside ``RequestDb.savepoint()``; nothing here commits."""
    # without it, two demo starts at once could each revoke the old key and both insert one
    await db.rows(select(func.pg_advisory_xact_lock(func.hashtext("expensegraph.demo_key"))))
    await api_key_writes.revoke_live_api_keys_named(
        db=db, business_id=business_id, name=DEMO_KEY_NAME
    )
    return await api_key_writes.insert_api_key(
        db=db, business_id=business_id, name=DEMO_KEY_NAME, prefix=prefix,
        secret_hash=secret_hash, scopes=list(DEMO_KEY_PERMISSIONS), created_by=None,
    )  # fmt: skip


async def _existing(conn: Any, spec: DemoSpec) -> DemoBusiness | None:
    business_id = await conn.fetchval("SELECT min(id) FROM businesses WHERE name = $1", spec.name)
    if business_id is None:
        return None
    rows = await conn.fetch(
        "SELECT id, email FROM members WHERE business_id = $1 AND email = ANY($2::text[])",
        business_id,
        [p.email for p in spec.people],
    )
    ids = {row["email"]: row["id"] for row in rows}
    missing = [p.email for p in spec.people if p.email not in ids]
    if missing:
        raise RuntimeError(f"demo business {spec.name!r} lacks members {missing}")
    return _business(spec, business_id, ids)


def _business(spec: DemoSpec, business_id: int, ids: Mapping[str, int]) -> DemoBusiness:
    members: dict[Role, DemoLogin] = {}
    for role in LOGIN_ROLES:
        person = next(p for p in spec.people if p.role == role)
        members[role] = DemoLogin(ids[person.email], person.email)
    return DemoBusiness(business_id, spec.name, spec.home_currency, members)


async def _create(conn: Any, specs: list[DemoSpec]) -> dict[str, DemoBusiness]:
    await load.lock_tables(conn)
    end = ANCHOR.date() - timedelta(days=1)
    fx = await seed_fx_rates(
        conn, start=end - timedelta(days=DEMO_DAYS - 1), end=end, seed=DEMO_SEED
    )
    ids = Ids(await load.next_ids(conn))
    org, chunk = OrgRows(), Chunk()
    created: dict[str, DemoBusiness] = {}
    for spec in specs:
        rng = Random(f"demo:{DEMO_SEED}:{spec.name}")
        created[spec.name], factory = _build(org, ids, spec, fx, rng)
        factory.make(DEMO_EXPENSES, chunk, currencies=DEMO_CURRENCIES)
    await load_org(conn, org)
    await copy_chunk(conn, chunk)
    await load.move_sequences(conn)
    return created


def _build(
    org: OrgRows, ids: Ids, spec: DemoSpec, fx: FxTable, rng: Random
) -> tuple[DemoBusiness, ExpenseFactory]:
    business = BusinessSpec(spec.name, spec.home_currency, spec.timezone, DEMO_EXPENSES)
    builder = OrgBuilder(org, ids, rng, business)
    teams = dict(zip(spec.teams, builder.teams(spec.teams), strict=True))
    members = [
        builder.member(
            team_id=teams.get(p.team or ""),
            name=p.name,
            email=p.email,
            role=p.role,
            joined=builder.created,
        )
        for p in spec.people
    ]
    roster = make_roster(builder, members, [c.name for c in CATEGORIES])
    window_start = ANCHOR - timedelta(days=DEMO_DAYS)
    factory = ExpenseFactory(
        roster=roster,
        fx=fx,
        ids=ids,
        rng=rng,
        window_start=window_start,
        window_days=DEMO_DAYS,
        foreign_share=0.25,
    )
    ids_by_email = {p.email: m.id for p, m in zip(spec.people, members, strict=True)}
    return _business(spec, builder.business_id, ids_by_email), factory


class DemoExpenseRow(Protocol):
    """An expense as :func:`expenses_without_receipts` reads it, with its business's time zone."""

    id: int
    member_id: int
    merchant_name: str
    amount_minor: int
    currency: str
    spent_at: datetime
    description: str
    timezone: str


async def expenses_without_receipts(
    *, db: RequestDb, business_id: int, limit: int
) -> list[DemoExpenseRow]:
    """Return the business's oldest expenses that have no receipt, with its time zone."""
    statement = text(
        "SELECT e.id, e.member_id, e.merchant_name, e.amount_minor, e.currency, e.spent_at,"
        " e.description, b.timezone FROM expenses e JOIN businesses b ON b.id = e.business_id"
        " WHERE e.business_id = :business_id AND e.deleted_at IS NULL AND NOT EXISTS"
        " (SELECT 1 FROM receipts r WHERE r.business_id = e.business_id AND r.expense_id = e.id)"
        " ORDER BY e.id LIMIT :limit"
    )
    rows = await db.rows(statement, {"business_id": business_id, "limit": limit})
    return list(cast("Sequence[DemoExpenseRow]", rows))


async def demo_receipt_count(*, db: RequestDb, business_id: int) -> int:
    """Return how many demo receipt files the business already has."""
    statement = text(
        "SELECT count(*) AS n FROM receipts WHERE business_id = :business_id"
        " AND file_name LIKE 'demo-receipt-%'"
    )
    return int((await db.rows(statement, {"business_id": business_id}))[0].n)
