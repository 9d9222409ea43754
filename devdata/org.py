"""Seeded organisations: businesses, teams, members, cards, categories and policies.

The builder appends plain row tuples (in the column order of ``COLUMNS``) to an
:class:`OrgRows` and takes ids from an :class:`Ids`, so the rows can be COPYed as is.
"""

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

from db.money import minor_units
from db.roles import Role
from devdata import catalogues
from devdata.fx import USD_PER_UNIT

# Seeded data is relative to this instant so that runs are reproducible.
ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW_DAYS = 730
WINDOW_START = ANCHOR - timedelta(days=WINDOW_DAYS)
PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

COLUMNS: dict[str, tuple[str, ...]] = {
    "businesses": ("id", "name", "home_currency", "timezone", "created_at"),
    "teams": ("business_id", "id", "name", "manager_id", "created_at"),
    "members": ("business_id", "id", "team_id", "name", "email", "role", "created_at"),
    "categories": ("business_id", "id", "name", "gl_code", "created_at"),
    "cards": (
        "business_id", "id", "holder_id", "team_id", "last4", "kind", "status", "currency",
        "spend_limit_minor", "limit_period", "created_at",
    ),
    "policies": (
        "business_id", "id", "name", "category_id", "max_amount_minor",
        "receipt_required_above_minor", "active", "created_at",
    ),
}  # fmt: skip

# Home currencies of seeded businesses: mostly the big three, JPY sometimes, BHD rarely.
HOME_CURRENCIES = ("GBP", "USD", "EUR", "JPY", "BHD")
HOME_CURRENCY_WEIGHTS = (32, 34, 24, 7, 3)
# (category, max in USD, receipt required above in USD) for per-category policies
CATEGORY_POLICIES = (
    ("Meals", 100, 25),
    ("Lodging", 350, 0),
    ("Travel", 2500, 0),
    ("Entertainment", 500, 50),
    ("Hardware", 2000, 0),
)
LIMITS_USD = {"DAY": (250, 500, 1000), "WEEK": (1000, 2000, 5000), "MONTH": (2000, 5000, 10000)}


class Ids:
    """Hands out consecutive ids per table, starting where the table ends."""

    def __init__(self, starts: dict[str, int]) -> None:
        self._next = dict(starts)

    def take(self, table: str, count: int = 1) -> int:
        """Return the first of ``count`` fresh ids of ``table``."""
        first = self._next[table]
        self._next[table] = first + count
        return first


@dataclass
class OrgRows:
    """Rows to load per table, plus the (business, team, manager) links set after members."""

    tables: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {name: [] for name in COLUMNS}
    )
    managers: list[tuple[int, int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class BusinessSpec:
    """What to create for one seeded business."""

    name: str
    home_currency: str
    timezone: str
    expenses: int


@dataclass(frozen=True)
class MemberSeed:
    """A created member, as the expense generator needs it."""

    id: int
    team_id: int | None
    role: str


def tenant_sizes(businesses: int, expenses: int) -> list[int]:
    """Return expense counts per business, largest first, Zipf-like (the top one ~35%)."""
    # Weights (i + 0.5)^-1.1 are a Pareto(alpha ~0.9) sample at even quantiles.
    weights = [(i + 0.5) ** -1.1 for i in range(businesses)]
    total = sum(weights)
    exact = [expenses * w / total for w in weights]
    sizes = [int(x) for x in exact]
    by_fraction = sorted(range(businesses), key=lambda i: (sizes[i] - exact[i], i))
    for i in by_fraction[: expenses - sum(sizes)]:
        sizes[i] += 1
    return sizes


def plan_businesses(*, businesses: int, expenses: int, seed: int) -> list[BusinessSpec]:
    """Return the businesses to seed, largest first."""
    rng = Random(f"plan:{seed}")
    specs = []
    for size in tenant_sizes(businesses, expenses):
        home = rng.choices(HOME_CURRENCIES, HOME_CURRENCY_WEIGHTS)[0]
        words = f"{rng.choice(catalogues.COMPANY_WORDS)} {rng.choice(catalogues.COMPANY_TRADES)}"
        name = f"{words} {catalogues.LEGAL_SUFFIX[home]}"
        zone = rng.choice(catalogues.TIMEZONES[home])
        specs.append(BusinessSpec(name, home, zone, size))
    return specs


def pg_micros(moment: datetime) -> int:
    """Return ``moment`` as microseconds since 2000-01-01 UTC, how Postgres stores it."""
    return (moment - PG_EPOCH) // timedelta(microseconds=1)


def nice_amount(usd: float, currency: str, step: int = 50) -> int:
    """Return about ``usd`` dollars in ``currency`` minor units, rounded to ``step`` major units."""
    major = max(step, round(usd / USD_PER_UNIT[currency] / step) * step)
    return int(major * 10 ** minor_units(currency))  # int ** int is typed Any (a float if < 0)


def slug(text: str) -> str:
    """Return ``text`` as lowercase ASCII words joined by hyphens ("Caffè Nero" -> "caffe-nero")."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


class OrgBuilder:
    """Adds one business and its organisation, as rows in ``rows`` with ids from ``ids``."""

    def __init__(self, rows: OrgRows, ids: Ids, rng: Random, spec: BusinessSpec) -> None:
        self.rows, self.ids, self.rng, self.home = rows, ids, rng, spec.home_currency
        self.business_id = ids.take("businesses")
        self.created = WINDOW_START - timedelta(days=rng.uniform(30, 1500))
        rows.tables["businesses"].append(
            (self.business_id, spec.name, spec.home_currency, spec.timezone, self.created)
        )

    def teams(self, names: Sequence[str]) -> list[int]:
        """Return the ids of new teams; :meth:`link_managers` sets their managers."""
        team_ids = []
        for name in names:
            team_id = self.ids.take("teams")
            self.rows.tables["teams"].append((self.business_id, team_id, name, None, self.created))
            team_ids.append(team_id)
        return team_ids

    def member(
        self, *, team_id: int | None, name: str, email: str, role: str, joined: datetime
    ) -> MemberSeed:
        """Return a new member (``email`` must be lowercase and unique in the business)."""
        member_id = self.ids.take("members")
        self.rows.tables["members"].append(
            (self.business_id, member_id, team_id, name, email, role, joined)
        )
        return MemberSeed(member_id, team_id, role)

    def staff(self, roles: Sequence[tuple[str, int | None]], domain: str) -> list[MemberSeed]:
        """Return new members with random names, one per ``(role, team_id)``."""
        rng, taken = self.rng, set()
        seconds = (WINDOW_START - self.created).total_seconds()
        members = []
        for role, team_id in roles:
            first, last = rng.choice(catalogues.FIRST_NAMES), rng.choice(catalogues.LAST_NAMES)
            local = f"{slug(first)}.{slug(last)}"
            email, n = f"{local}@{domain}", 1
            while email in taken:
                n += 1
                email = f"{local}{n}@{domain}"
            taken.add(email)
            joined = self.created + timedelta(seconds=rng.uniform(0, seconds))
            name = f"{first} {last}"
            members.append(
                self.member(team_id=team_id, name=name, email=email, role=role, joined=joined)
            )
        return members

    def link_managers(self, members: Sequence[MemberSeed]) -> dict[int, int]:
        """Return team id -> manager id, each team's MANAGER becoming its manager."""
        managers = {m.team_id: m.id for m in members if m.role == Role.MANAGER and m.team_id}
        self.rows.managers.extend((self.business_id, t, m) for t, m in managers.items())
        return managers

    def categories(self, names: Sequence[str]) -> dict[str, int]:
        """Return category name -> id for new categories with the catalogue's GL codes."""
        gl_codes = {spec.name: spec.gl_code for spec in catalogues.CATEGORIES}
        by_name = {}
        for name in names:
            category_id = self.ids.take("categories")
            self.rows.tables["categories"].append(
                (self.business_id, category_id, name, gl_codes.get(name), self.created)
            )
            by_name[name] = category_id
        return by_name

    def policies(self, categories: dict[str, int]) -> None:
        """Add a business-wide policy and two to four per-category ones."""
        home = self.home
        standard = nice_amount(5000, home), nice_amount(25, home, step=5)
        self.policy("Standard expense policy", None, *standard)
        usable = [p for p in CATEGORY_POLICIES if p[0] in categories]
        count = min(len(usable), self.rng.randint(2, 4))
        for name, max_usd, receipt_usd in self.rng.sample(usable, count):
            receipt = nice_amount(receipt_usd, home, step=5) if receipt_usd else 0
            active = self.rng.random() < 0.9
            limit = nice_amount(max_usd, home)
            self.policy(f"{name} policy", categories[name], limit, receipt, active)

    def policy(
        self,
        name: str,
        category_id: int | None,
        max_minor: int,
        receipt_above_minor: int,
        active: bool = True,
    ) -> None:
        """Add a policy: amounts in minor units of the home currency."""
        self.rows.tables["policies"].append(
            (self.business_id, self.ids.take("policies"), name, category_id, max_minor,
             receipt_above_minor, active, self.created)
        )  # fmt: skip

    def cards(self, members: Sequence[MemberSeed]) -> dict[int, tuple[int, ...]]:
        """Return member id -> card ids: most members get one card, some a second virtual one."""
        rng, cards = self.rng, {}
        for member in members:
            if rng.random() < 0.15:
                continue
            kinds = ["PHYSICAL" if rng.random() < 0.7 else "VIRTUAL"]
            if rng.random() < 0.25:
                kinds.append("VIRTUAL")
            cards[member.id] = tuple(self.card(member, kind) for kind in kinds)
        return cards

    def card(self, holder: MemberSeed, kind: str) -> int:
        """Return the id of a new card for ``holder``, in the holder's team."""
        rng, card_id = self.rng, self.ids.take("cards")
        status = rng.choices(("ACTIVE", "FROZEN", "CANCELLED"), (85, 8, 7))[0]
        limit, period = None, None
        if rng.random() < 0.4:
            period = rng.choices(("DAY", "WEEK", "MONTH"), (2, 3, 5))[0]
            limit = nice_amount(rng.choice(LIMITS_USD[period]), self.home)
        last4 = f"{rng.randrange(10000):04d}"
        details = (kind, status, self.home, limit, period, self.created + timedelta(days=1))
        self.rows.tables["cards"].append(
            (self.business_id, card_id, holder.id, holder.team_id, last4, *details)
        )
        return card_id
