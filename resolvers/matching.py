"""Receipts that file themselves: match an extracted receipt to the expense it belongs to.

The worker calls :func:`match_receipt` after extraction and :func:`match_expense` after an
expense is created or changed. Both run in a savepoint of the caller's write transaction
(``db.savepoint()``); the caller commits.

Rules:

- Only DONE, unmatched receipts with an extracted total, currency and date are matched.
- Candidates are expenses of the receipt's business that its uploader may see (their own;
  a MANAGER also their managed teams'; FINANCE and ADMIN any), not deleted, without a
  receipt, spent within 14 local days (the business's time zone) of the receipt's date,
  and with the same amount and currency, a local day in the date window, or a merchant
  similarity of at least 0.3 (pg_trgm's default threshold); at most 500 are scored.
- Amount (weight 0.5): the same amount in the same currency scores 1; in another currency
  the receipt's total is converted at ``fx_rates`` (the latest rate on or before the
  receipt's date) and scores 1 down to 0.8 while within 3% of the expense's amount
  (AMOUNT_TOLERANCE); anything else scores 0.
- Date (weight 0.25): the receipt may be dated from 1 day before to 3 days after the
  expense's local day (DATE_WINDOW): the same day scores 1, one day off 0.8, two 0.5,
  three 0.3; outside the window 0.
- Merchant (weight 0.25): pg_trgm ``similarity()`` of the extracted merchant and the
  expense's ``merchant_name``; 0.8 and above score 1, less in proportion.
- Each candidate carries reasons: "amount equal", "amount within 1.2% at fx",
  "date same day", "date +1 day", "merchant 0.82".
- Pairs a person detached (``receipt_match_refusals``) are never candidates again.
- Decision: the best candidate is attached automatically when it scores at least
  AUTO_SCORE (0.9) and beats the next one by MARGIN (0.15): ``receipts.expense_id`` is set,
  the expense's ``updatedAt`` bumped and a ``RECEIPT_AUTO_MATCHED`` event (no actor) written
  with the score and reasons. Otherwise the candidates scoring at least FLOOR (0.4), best
  MAX_CANDIDATES (10), replace the receipt's stored ones for a person to confirm. Two equal
  candidates therefore never attach on their own.
- ``match_expense`` matches again every unmatched DONE receipt that may fit the expense
  (same amount, date window or similar merchant) and every receipt holding it as a
  candidate, each with the rules above. It locks those receipts in id order before any
  expense, as match_receipt and attachReceipt lock a receipt before its expense, so
  concurrent jobs wait for each other instead of deadlocking.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol, TypeGuard

from db.engine import RequestDb
from db.money import UnknownCurrency, minor_units
from db.permissions import Permission
from db.queries import match_search
from db.queries.match_candidates import ExpenseCandidateRow, ReceiptCandidateRow
from db.queries.match_search import ExpenseFeaturesRow
from db.roles import WHOLE_BUSINESS_ROLES, Role
from db.rows import ExpenseRow, ReceiptRow
from db.visibility import Visibility
from db.writes import events
from db.writes import expenses as expense_writes
from db.writes import matching as q
from db.writes.matching import LockedReceiptRow
from resolvers.context import Context
from resolvers.ids import encode_id

AUTO_MATCHED = "RECEIPT_AUTO_MATCHED"
AUTO_SCORE = 0.9
MARGIN = 0.15
FLOOR = 0.4
MAX_CANDIDATES = 10
AMOUNT_TOLERANCE = Decimal("0.03")
# the receipt may be dated this many days (before, after) the expense's local day
DATE_WINDOW = (1, 3)
DATE_SCORES = {0: 1.0, 1: 0.8, 2: 0.5, 3: 0.3}
MERCHANT_FULL = 0.8
WEIGHTS = (0.5, 0.25, 0.25)  # amount, date, merchant


@dataclass(frozen=True)
class Candidate:
    """An expense scored for a receipt."""

    expense_id: int
    score: float
    reasons: list[str]
    refused: bool = False


async def match_receipt(*, db: RequestDb, business_id: int, receipt_id: int) -> None:
    """Attach the receipt to its expense when one clearly fits, else store its candidates."""
    async with db.savepoint():
        receipt = await q.locked_receipt(db=db, business_id=business_id, receipt_id=receipt_id)
        if receipt is None:
            return
        if not _matchable(receipt):
            if receipt.expense_id is not None or receipt.processing == "DONE":
                await q.replace_candidates(
                    db=db, business_id=business_id, receipt_id=receipt_id, candidates=[]
                )
            return
        rows = await match_search.expense_features(
            db=db,
            visibility=_uploader_visibility(receipt),
            receipt=receipt,
            timezone=receipt.timezone,
            window=DATE_WINDOW,
        )
        ranked = sorted(
            (c for c in (score(receipt, row) for row in rows) if not c.refused),
            key=lambda c: (-c.score, c.expense_id),
        )
        if _clear_winner(ranked) and await _auto_attach(db, receipt, ranked[0]):
            return
        kept = [(c.expense_id, c.score, c.reasons) for c in ranked if c.score >= FLOOR]
        await q.replace_candidates(
            db=db, business_id=business_id, receipt_id=receipt_id, candidates=kept[:MAX_CANDIDATES]
        )


async def match_expense(*, db: RequestDb, business_id: int, expense_id: int) -> None:
    """Match again the unmatched receipts that may fit the created or changed expense."""
    async with db.savepoint():
        expense = await q.expense_for_matching(
            db=db, business_id=business_id, expense_id=expense_id
        )
        if expense is None:
            return
        receipt_ids = await q.receipts_for_expense(
            db=db, business_id=business_id, expense=expense, window=DATE_WINDOW
        )
        for receipt_id in receipt_ids:
            await match_receipt(db=db, business_id=business_id, receipt_id=receipt_id)


class MatchableReceipt(LockedReceiptRow, Protocol):
    """A receipt :func:`_matchable` accepted: the fields scoring compares are all there."""

    extracted_total_minor: int
    extracted_currency: str
    extracted_spent_on: date


def _matchable(receipt: LockedReceiptRow) -> TypeGuard[MatchableReceipt]:
    return (
        receipt.expense_id is None
        and receipt.processing == "DONE"
        and receipt.extracted_total_minor is not None
        and receipt.extracted_currency is not None
        and receipt.extracted_spent_on is not None
    )


def _uploader_visibility(receipt: LockedReceiptRow) -> Visibility:
    """Return what the receipt's uploader may see (as db/visibility.py and Principal.visibility say)."""
    if receipt.uploader_role in WHOLE_BUSINESS_ROLES:
        return Visibility(business_id=receipt.business_id)
    managed = (
        tuple(receipt.uploader_team_ids or ()) if receipt.uploader_role == Role.MANAGER else ()
    )
    return Visibility(
        business_id=receipt.business_id, member_id=receipt.uploaded_by, team_ids=managed
    )


def _clear_winner(ranked: list[Candidate]) -> bool:
    if not ranked or ranked[0].score < AUTO_SCORE:
        return False
    return len(ranked) == 1 or ranked[0].score - ranked[1].score >= MARGIN


async def _auto_attach(db: RequestDb, receipt: LockedReceiptRow, best: Candidate) -> bool:
    """Attach the receipt and audit it; False if the expense got a receipt meanwhile."""
    business_id = receipt.business_id
    locked = await expense_writes.locked_expenses(
        db=db, business_id=business_id, ids=[best.expense_id]
    )
    if best.expense_id not in locked or await q.expense_has_receipt(
        db=db, business_id=business_id, expense_id=best.expense_id
    ):
        return False
    row = await q.attach_unmatched(
        db=db, business_id=business_id, receipt_id=receipt.id, expense_id=best.expense_id
    )
    if row is None:
        return False
    await q.replace_candidates(db=db, business_id=business_id, receipt_id=receipt.id, candidates=[])
    await q.drop_candidates_of_expense(db=db, business_id=business_id, expense_id=best.expense_id)
    # the same trail attachReceipt writes (resolvers/mutations/receipts.py), by nobody
    await expense_writes.update_expense(
        db=db, business_id=business_id, expense_id=best.expense_id, values={}
    )
    comment = (
        f"{row.file_name} ({encode_id('Receipt', row.id)}): score {best.score:.2f}; "
        + ", ".join(best.reasons)
    )
    await expense_writes.insert_event(
        db=db, business_id=business_id, expense_id=best.expense_id,
        actor_id=None, action=AUTO_MATCHED, comment=comment,
    )  # fmt: skip
    await events.emit(
        db=db, business_id=business_id, type="receipt.matched", object_type="Receipt",
        object_id=row.id, actor=events.SYSTEM,
        data={"expenseId": encode_id("Expense", best.expense_id), "automatic": True},
    )  # fmt: skip
    return True


def score(receipt: MatchableReceipt, row: ExpenseFeaturesRow) -> Candidate:
    """Return the expense ``row`` (from db.queries.match_search.expense_features) scored for ``receipt``."""
    amount, amount_reason = _amount(receipt, row)
    days = (receipt.extracted_spent_on - row.local_day).days
    when, date_reason = _date(days)
    similarity = float(row.similarity or 0.0) if receipt.extracted_merchant else 0.0
    merchant = min(1.0, similarity / MERCHANT_FULL)
    total = WEIGHTS[0] * amount + WEIGHTS[1] * when + WEIGHTS[2] * merchant
    reasons = [r for r in (amount_reason, date_reason) if r]
    if receipt.extracted_merchant:
        reasons.append(f"merchant {similarity:.2f}")
    return Candidate(row.id, round(min(1.0, total), 4), reasons, bool(row.refused))


def _amount(receipt: MatchableReceipt, row: ExpenseFeaturesRow) -> tuple[float, str | None]:
    total, currency = receipt.extracted_total_minor, receipt.extracted_currency
    if currency == row.currency:
        return (1.0, "amount equal") if total == row.amount_minor else (0.0, None)
    if row.rate is None:
        return 0.0, None
    try:
        shift = minor_units(row.currency) - minor_units(currency)
    except UnknownCurrency:
        return 0.0, None
    converted = Decimal(total) * Decimal(row.rate) * Decimal(1).scaleb(shift)
    off = abs(converted - row.amount_minor) / row.amount_minor
    if off > AMOUNT_TOLERANCE:
        return 0.0, None
    return 1.0 - 0.2 * float(off / AMOUNT_TOLERANCE), f"amount within {float(off) * 100:.1f}% at fx"


def _date(days: int) -> tuple[float, str]:
    """Return the date score of a receipt dated ``days`` after the expense, and the reason."""
    before, after = DATE_WINDOW
    label = "date same day" if days == 0 else f"date {days:+d} day{'s' if abs(days) > 1 else ''}"
    if -before <= days <= after:
        return DATE_SCORES[abs(days)], label
    return 0.0, label


async def receipt_match_candidates(
    ctx: Context, receipts: Sequence[ReceiptRow]
) -> list[list[ExpenseCandidateRow]]:
    """Return the stored candidates of each unmatched receipt: expenses the viewer sees."""
    _, loaders = ctx.require(Permission.EXPENSES_READ)
    unmatched = [r.id for r in receipts if r.expense_id is None]
    found = dict(
        zip(unmatched, await loaders.match_candidates_by_receipt.load_all(unmatched), strict=True)
    )
    return [found.get(r.id, []) for r in receipts]


async def expense_receipt_candidates(
    ctx: Context, expenses: Sequence[ExpenseRow]
) -> list[list[ReceiptCandidateRow]]:
    """Return the unmatched receipts the viewer sees that hold each expense as a candidate."""
    _, loaders = ctx.require(Permission.RECEIPTS_READ)
    return await loaders.receipt_candidates_by_expense.load_all([e.id for e in expenses])
