"""The arguments of an expense list, checked and decoded: ExpenseFilter and ExpenseOrder."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from db.money import UnknownCurrency, to_minor
from db.queries.expenses import ExpenseSpec
from db.queries.summary_rollup import EARLIEST_INSTANT, END_OF_INSTANTS, supported_instant
from resolvers.context import Principal
from resolvers.errors import bad_input
from resolvers.ids import decode_ids_of

MAX_SEARCH_LENGTH = 100
SUPPORTED_INSTANTS = (
    f"must be from {EARLIEST_INSTANT.isoformat()} and before {END_OF_INSTANTS.isoformat()}"
)
NOT_UNICODE_TEXT = "must be Unicode text (it holds an unpaired surrogate)"
_SURROGATE = re.compile("[\ud800-\udfff]")


def unicode_text(value: str) -> bool:
    """Return True unless ``value`` holds a lone surrogate (UTF-8, and so PostgreSQL, has none).

    graphql-core refuses them in the document; a JSON variable (``"\\ud800"``) can carry one.
    """
    return value.isascii() or not _SURROGATE.search(value)


class ExpenseFilterLike(Protocol):
    """The ExpenseFilter input, as the schema layer hands it over (read-only)."""

    @property
    def spent_after(self) -> datetime | None: ...

    @property
    def spent_before(self) -> datetime | None: ...

    @property
    def statuses(self) -> Sequence[Any] | None: ...

    @property
    def member_ids(self) -> Sequence[str] | None: ...

    @property
    def team_ids(self) -> Sequence[str] | None: ...

    @property
    def card_ids(self) -> Sequence[str] | None: ...

    @property
    def category_ids(self) -> Sequence[str] | None: ...

    @property
    def currencies(self) -> Sequence[str] | None: ...

    @property
    def min_amount(self) -> Decimal | None: ...

    @property
    def max_amount(self) -> Decimal | None: ...

    @property
    def merchant_search(self) -> str | None: ...

    @property
    def has_receipt(self) -> bool | None: ...

    @property
    def receipt_missing(self) -> bool | None: ...

    @property
    def updated_since(self) -> datetime | None: ...

    @property
    def include_deleted(self) -> bool | None: ...


@dataclass(frozen=True)
class Ordering:
    """ExpenseOrder decoded: a column name and a direction."""

    field: str = "SPENT_AT"
    descending: bool = True


def _home_minor(amount: Decimal | None, principal: Principal, field: str) -> int | None:
    if amount is None:
        return None
    try:
        return to_minor(amount, principal.home_currency)
    except (ValueError, UnknownCurrency) as error:
        raise bad_input(
            f"{field}: {error} (amounts are in the home currency).", field=field
        ) from None


def _tuple(values: Sequence[Any] | None) -> tuple[Any, ...] | None:
    return None if values is None else tuple(getattr(v, "value", v) for v in values)


def _currencies(codes: Sequence[str] | None) -> tuple[str, ...] | None:
    if codes is None:
        return None
    upper = tuple(code.upper() for code in codes)
    if len(upper) > 100 or not all(re.fullmatch("[A-Z]{3}", code) for code in upper):
        raise bad_input("currencies takes up to 100 ISO 4217 codes like GBP.", field="currencies")
    return upper


def expense_spec(filter_: ExpenseFilterLike | None, principal: Principal) -> ExpenseSpec:
    """Return the database filter for an ExpenseFilter argument."""
    if filter_ is None:
        return ExpenseSpec()
    search = filter_.merchant_search
    if search is not None and len(search) > MAX_SEARCH_LENGTH:
        raise bad_input(
            f"merchantSearch is at most {MAX_SEARCH_LENGTH} characters.", field="merchantSearch"
        )
    if search is not None and not unicode_text(search):
        raise bad_input(f"merchantSearch {NOT_UNICODE_TEXT}.", field="merchantSearch")
    for name, value in (
        ("spentAfter", filter_.spent_after),
        ("spentBefore", filter_.spent_before),
        ("updatedSince", filter_.updated_since),
    ):
        if value is None:
            continue
        if value.tzinfo is None:
            raise bad_input(
                f"{name} needs a time zone offset, e.g. 2026-01-31T00:00:00Z.", field=name
            )
        if not supported_instant(value):
            raise bad_input(f"{name} {SUPPORTED_INSTANTS}.", field=name)
    return ExpenseSpec(
        spent_after=filter_.spent_after,
        spent_before=filter_.spent_before,
        statuses=_tuple(filter_.statuses),
        member_ids=decode_ids_of("Member", filter_.member_ids, field="memberIds"),
        team_ids=decode_ids_of("Team", filter_.team_ids, field="teamIds"),
        card_ids=decode_ids_of("Card", filter_.card_ids, field="cardIds"),
        category_ids=decode_ids_of("Category", filter_.category_ids, field="categoryIds"),
        currencies=_currencies(filter_.currencies),
        min_home_minor=_home_minor(filter_.min_amount, principal, "minAmount"),
        max_home_minor=_home_minor(filter_.max_amount, principal, "maxAmount"),
        merchant_search=search or None,
        has_receipt=filter_.has_receipt,
        receipt_missing=filter_.receipt_missing,
        updated_since=filter_.updated_since,
        include_deleted=bool(filter_.include_deleted),
    )
