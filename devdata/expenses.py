"""Seeded expenses with their audit trail and receipts, as row tuples ready for COPY.

Each status has the timestamps it implies (a status whose next step would fall after
the window is demoted to the one before), ``decided_by`` is never the submitter, and
only out-of-pocket expenses are reimbursed. Nothing depends on the clock.

Instants are integers, microseconds since 2000-01-01 UTC as Postgres stores them, and
are written through the timestamptz codec of :func:`db.load.connect`: building a
datetime per value would cost more than the rest of the row.
"""

from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from math import inf
from random import Random
from typing import Any

from db.money import minor_units
from devdata import catalogues
from devdata.fx import USD_PER_UNIT, FxTable
from devdata.org import WINDOW_DAYS, WINDOW_START, Ids, pg_micros
from devdata.roster import MERCHANT_CUM_WEIGHTS, MERCHANTS, Merchant, Roster, Submitter

EXPENSE_COLUMNS = (
    "business_id", "id", "member_id", "team_id", "card_id", "category_id", "merchant_name",
    "description", "amount_minor", "currency", "home_amount_minor", "home_currency", "fx_rate",
    "fx_rate_day", "spent_at", "status", "submitted_at", "decided_at", "decided_by",
    "reimbursed_at", "exported_at", "created_at", "updated_at", "deleted_at",
)  # fmt: skip
EVENT_COLUMNS = ("business_id", "id", "expense_id", "actor_id", "action", "comment", "at")
RECEIPT_COLUMNS = (
    "business_id", "id", "expense_id", "uploaded_by", "file_name", "content_type",
    "size_bytes", "sha256", "storage_key", "uploaded_at",
)  # fmt: skip

SECOND = 1_000_000
HOUR = 3600 * SECOND
DAY = 24 * HOUR
STATUSES = ("DRAFT", "SUBMITTED", "APPROVED", "REJECTED", "REIMBURSED")
# Cumulative status weights by age: recent expenses are still in flight, old ones settled.
STATUS_BY_AGE = (
    (3 * DAY, (45, 90, 98, 100, 100)),
    (30 * DAY, (12, 42, 77, 82, 100)),
    (inf, (2, 4, 60, 66, 100)),
)
FOREIGN = ("USD", "EUR", "GBP", "JPY", "CHF", "SEK", "BHD")
FOREIGN_CUM_WEIGHTS = (30, 60, 75, 83, 90, 96, 100)
# content type, cumulative weight, smallest and largest size in bytes
RECEIPT_KINDS = (
    ("application/pdf", 40, 30_000, 600_000),
    ("image/jpeg", 85, 250_000, 5_000_000),
    ("image/png", 100, 80_000, 2_500_000),
)
RECEIPT_CUM_WEIGHTS = tuple(kind[1] for kind in RECEIPT_KINDS)


# status, created, submitted, decided, reimbursed, exported, updated, deleted
Times = tuple[Any, ...]
Rows = list[tuple[Any, ...]]


@dataclass
class Chunk:
    """Rows of the three bulk tables generated together."""

    expenses: Rows = field(default_factory=list)
    events: Rows = field(default_factory=list)
    receipts: Rows = field(default_factory=list)


class ExpenseFactory:
    """Generates one business's expenses, events and receipts from its own random stream.

    Hot path: a million expenses go through :meth:`expense`, so it indexes sequences
    with ``random()`` instead of calling ``choice``/``choices`` per row.
    """

    def __init__(
        self,
        *,
        roster: Roster,
        fx: FxTable,
        ids: Ids,
        rng: Random,
        window_start: datetime = WINDOW_START,
        window_days: int = WINDOW_DAYS,
        foreign_share: float = 0.1,
    ) -> None:
        self.roster, self.fx, self.ids, self.rng = roster, fx, ids, rng
        self.random = rng.random
        self.days, self.t0 = window_days, pg_micros(window_start)
        self.end = self.t0 + window_days * DAY
        self.day0 = fx.index(window_start.date())
        self.foreign_share = foreign_share
        self.per_usd = {c: 10 ** minor_units(c) / rate for c, rate in USD_PER_UNIT.items()}
        self.iso_days = [d.isoformat() for d in fx.days]

    def make(self, count: int, out: Chunk, currencies: Sequence[str] = ()) -> None:
        """Append ``count`` expenses with their events and receipts to ``out``.

        The first expenses are in ``currencies`` (one each), the others in what the
        merchant and the business suggest.
        """
        rng, roster = self.rng, self.roster
        who = rng.choices(roster.submitters, cum_weights=roster.cum_weights, k=count)
        what = rng.choices(MERCHANTS, cum_weights=MERCHANT_CUM_WEIGHTS, k=count)
        first = self.ids.take("expenses", count)
        for i in range(count):
            currency = currencies[i] if i < len(currencies) else ""
            self.expense(first + i, who[i], what[i], out, currency)

    def expense(
        self, expense_id: int, sub: Submitter, merchant: Merchant, out: Chunk, currency: str = ""
    ) -> None:
        """Append one expense, its events and its receipts to ``out``."""
        rnd, home = self.random, self.roster.home_currency
        currency = currency or self.currency(merchant, home)
        usd = self.rng.lognormvariate(merchant.mu, merchant.sigma)
        amount = max(1, int(usd * self.per_usd[currency] + 0.5))
        day = int(self.days * rnd() ** 0.8)  # more recent days are busier: businesses grow
        spent = self.t0 + day * DAY + 7 * HOUR + int(rnd() * 14 * HOUR)
        home_amount, rate = self.fx.convert(amount, currency, home, self.day0 + day)
        card = pick(sub.cards, rnd()) if sub.cards and rnd() >= 0.12 else None
        times = self.timeline(spent, card is not None)
        status, created, submitted, decided, reimbursed, exported, updated, deleted = times
        decider = pick(sub.approvers, rnd()) if decided is not None else None
        category = None if rnd() < 0.03 else self.roster.categories.get(merchant.category)
        description = pick(merchant.descriptions, rnd())
        out.expenses.append(
            (self.roster.business_id, expense_id, sub.member_id, sub.team_id, card, category,
             merchant.name, description, amount, currency, home_amount, home, rate,
             self.fx.days[self.day0 + day], spent, status, submitted, decided, decider,
             reimbursed, exported, created, updated, deleted)
        )  # fmt: skip
        self.events(expense_id, sub, times, decider, out.events)
        self.receipts(expense_id, sub.member_id, merchant, day, times, out.receipts)

    def currency(self, merchant: Merchant, home: str) -> str:
        """Return the currency of a purchase: local merchants bill locally, travel abroad."""
        rnd = self.random
        if merchant.local is not None and rnd() < 0.85:
            return merchant.local
        if rnd() < self.foreign_share:
            return FOREIGN[bisect(FOREIGN_CUM_WEIGHTS, rnd() * 100)]
        return home

    def timeline(self, spent: int, on_card: bool) -> Times:
        """Return status, created, submitted, decided, reimbursed, exported, updated, deleted."""
        rnd, expo, end = self.random, self.rng.expovariate, self.end
        delay = int(rnd() * HOUR) + 60 * SECOND if on_card else int(expo(1 / (1.5 * DAY)))
        created = spent + min(delay, (end - spent) // 2)
        weights = next(w for age, w in STATUS_BY_AGE if end - spent < age)
        status = STATUSES[bisect(weights, rnd() * 100)]
        if status == "REIMBURSED" and on_card:
            status = "APPROVED"  # card spend is paid by the business, never reimbursed
        submitted = decided = reimbursed = exported = deleted = None
        last = created
        if status != "DRAFT":
            submitted = created + 300 * SECOND + int(expo(1 / (1.5 * DAY)))
            if submitted >= end:
                status, submitted = "DRAFT", None
            else:
                last = submitted
        if submitted is not None and status != "SUBMITTED":
            decided = submitted + 600 * SECOND + int(expo(1 / (2 * DAY)))
            if decided >= end:
                status, decided = "SUBMITTED", None
            else:
                last = decided
        if status == "REIMBURSED":
            reimbursed = last + DAY + int(rnd() * 6 * DAY)
            if reimbursed >= end:
                status, reimbursed = "APPROVED", None
            else:
                last = reimbursed
        if status in ("APPROVED", "REIMBURSED") and rnd() < 0.6:
            exported = last + HOUR + int(rnd() * 10 * DAY)
            if exported >= end:
                exported = None
            else:
                last = exported
        if status == "DRAFT":
            last = created + int(rnd() * min(end - created, 3 * DAY))  # edits to the draft
            if rnd() < 0.05:
                deleted = last = last + int(rnd() * min(end - last, DAY))
        return status, created, submitted, decided, reimbursed, exported, last, deleted

    def events(
        self, expense_id: int, sub: Submitter, times: Times, decider: int | None, out: Rows
    ) -> None:
        """Append the audit trail that leads to the expense's status."""
        status, created, submitted, decided, reimbursed, exported, _, deleted = times
        member = sub.member_id
        trail: list[tuple[int | None, str, str | None, int]] = [(member, "CREATED", None, created)]
        if submitted is not None:
            trail.append((member, "SUBMITTED", None, submitted))
        if decided is not None:
            trail.append((decider, *self.decision(status), decided))
        if reimbursed is not None:
            trail.append((pick(sub.payers, self.random()), "REIMBURSED", None, reimbursed))
        if exported is not None:
            trail.append((None, "EXPORTED", None, exported))  # by the accounting integration
        if deleted is not None:
            trail.append((member, "DELETED", None, deleted))
        first, bid = self.ids.take("expense_events", len(trail)), self.roster.business_id
        out.extend((bid, first + i, expense_id, *step) for i, step in enumerate(trail))

    def decision(self, status: str) -> tuple[str, str | None]:
        """Return the action and comment of the decision that led to ``status``."""
        rnd = self.random
        if status == "REJECTED":
            return "REJECTED", pick(catalogues.REJECTION_REASONS, rnd())
        comment = pick(catalogues.APPROVAL_COMMENTS, rnd()) if rnd() < 0.3 else None
        return "APPROVED", comment

    def receipts(
        self, expense_id: int, member: int, merchant: Merchant, day: int, times: Times, out: Rows
    ) -> None:
        """Append the expense's receipts (most submitted ones have one), sometimes a stray."""
        rnd = self.random
        status, created, submitted = times[0], times[1], times[2]
        until = submitted if submitted is not None else self.end
        if rnd() < (0.3 if status == "DRAFT" else 0.8):
            for _ in range(2 if rnd() < 0.08 else 1):
                uploaded = created + int(rnd() * min(until - created, DAY))
                out.append(self.receipt(expense_id, member, merchant, day, uploaded))
        if rnd() < 0.015:  # uploaded from a phone but never matched to an expense
            out.append(self.receipt(None, member, merchant, day, created))

    def receipt(
        self, expense_id: int | None, member: int, merchant: Merchant, day: int, uploaded: int
    ) -> tuple[Any, ...]:
        """Return one receipt row."""
        rnd, bid = self.random, self.roster.business_id
        kind, _, smallest, largest = RECEIPT_KINDS[bisect(RECEIPT_CUM_WEIGHTS, rnd() * 100)]
        iso = self.iso_days[self.day0 + day]
        if kind == "application/pdf":
            name = f"{merchant.file_slug}-receipt-{iso}.pdf"
        elif kind == "image/jpeg":
            name = f"IMG_{int(rnd() * 10000):04d}.jpg"
        else:
            name = f"Screenshot_{iso}.png"
        sha = f"{self.rng.getrandbits(256):064x}"
        size = smallest + int(rnd() * (largest - smallest))
        return (bid, self.ids.take("receipts"), expense_id, member, name, kind, size, sha,
                f"seed/{bid}/{sha}", uploaded)  # fmt: skip


def pick(options: Sequence[Any], unit: float) -> Any:
    """Return the element of ``options`` at the fraction ``unit`` in [0, 1)."""
    return options[int(unit * len(options))]
