"""Business-rule failures of mutations, reported in the payload's ``userErrors``."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from resolvers.context import Context
from resolvers.expense_args import NOT_UNICODE_TEXT, unicode_text

R = TypeVar("R")


class RuleCode(StrEnum):
    """Stable codes of ``userErrors``. Adding one is a contract change."""

    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    SELF_DECISION = "SELF_DECISION"
    REASON_REQUIRED = "REASON_REQUIRED"
    RECEIPT_REQUIRED = "RECEIPT_REQUIRED"
    NOT_OUT_OF_POCKET = "NOT_OUT_OF_POCKET"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    UNKNOWN_CURRENCY = "UNKNOWN_CURRENCY"
    TOO_MANY_DECIMALS = "TOO_MANY_DECIMALS"
    FX_RATE_MISSING = "FX_RATE_MISSING"
    CARD_NOT_USABLE = "CARD_NOT_USABLE"
    INVALID_VALUE = "INVALID_VALUE"
    CARD_CANCELLED = "CARD_CANCELLED"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    UNSUPPORTED_FILE_TYPE = "UNSUPPORTED_FILE_TYPE"
    ALREADY_ATTACHED = "ALREADY_ATTACHED"
    DUPLICATE = "DUPLICATE"
    LAST_ADMIN = "LAST_ADMIN"
    TEAM_ARCHIVED = "TEAM_ARCHIVED"
    MEMBER_DEACTIVATED = "MEMBER_DEACTIVATED"
    CATEGORY_ARCHIVED = "CATEGORY_ARCHIVED"


@dataclass(frozen=True)
class UserErrorData:
    """One userError: which input field, what is wrong, a stable code."""

    field: str | None
    message: str
    code: RuleCode


class RuleError(Exception):
    """A mutation broke a business rule; its writes are rolled back."""

    def __init__(self, *errors: UserErrorData) -> None:
        super().__init__(errors[0].message if errors else "rule broken")
        self.errors = list(errors)


def fail(code: RuleCode, message: str, field: str | None = None) -> RuleError:
    """Return the exception for one broken rule."""
    return RuleError(UserErrorData(field=field, message=message, code=code))


def found(row: R | None, what: str, field: str = "id") -> R:
    """Return ``row``; NOT_FOUND (no ``what`` with that id) when there is none."""
    if row is None:
        raise fail(RuleCode.NOT_FOUND, f"No {what} with that id.", field)
    return row


def clean_text(value: str, field: str, *, max_length: int) -> str:
    """Return free text without surrounding blanks; INVALID_VALUE if too long or not Unicode."""
    value = value.strip()
    if len(value) > max_length:
        raise fail(RuleCode.INVALID_VALUE, f"At most {max_length} characters.", field)
    if not unicode_text(value):
        raise fail(RuleCode.INVALID_VALUE, f"{field} {NOT_UNICODE_TEXT}.", field)
    return value


@asynccontextmanager
async def atomic(ctx: Context) -> AsyncIterator[None]:
    """Run a mutation's writes in a savepoint: a RuleError or crash undoes all of them."""
    async with ctx.db.savepoint():
        yield
