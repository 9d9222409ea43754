"""Expense and card states and kinds: the one definition the database checks and GraphQL enums share."""

from enum import StrEnum


class ExpenseStatus(StrEnum):
    """Where an expense is in its life cycle (``expenses.status``)."""

    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    REIMBURSED = "REIMBURSED"


class CardKind(StrEnum):
    """Physical plastic or a virtual card number (``cards.kind``)."""

    PHYSICAL = "PHYSICAL"
    VIRTUAL = "VIRTUAL"


class CardStatus(StrEnum):
    """Whether a card can be used (``cards.status``)."""

    ACTIVE = "ACTIVE"
    FROZEN = "FROZEN"
    CANCELLED = "CANCELLED"


class LimitPeriod(StrEnum):
    """The period a card's spend limit applies to (``cards.limit_period``)."""

    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
