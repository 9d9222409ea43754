"""The row types of db/rows.py name exactly their tables' columns, with the columns' types."""

import types
import typing
from typing import Any, get_type_hints

import pytest
from sqlalchemy import JSON, Column, Table

from db import rows
from db.tables import metadata

# every table of the metadata, and the type of its rows
ROW_TYPES: dict[str, type] = {
    "businesses": rows.BusinessRow,
    "teams": rows.TeamRow,
    "members": rows.MemberRow,
    "cards": rows.CardRow,
    "categories": rows.CategoryRow,
    "policies": rows.PolicyRow,
    "expenses": rows.ExpenseRow,
    "expense_day_totals": rows.ExpenseDayTotalRow,
    "expense_month_totals": rows.ExpenseMonthTotalRow,
    "expense_events": rows.ExpenseEventRow,
    "fx_rates": rows.FxRateRow,
    "receipts": rows.ReceiptRow,
    "receipt_match_candidates": rows.MatchCandidateRow,
    "receipt_match_refusals": rows.MatchRefusalRow,
    "audit_events": rows.AuditEventRow,
    "events": rows.EventRow,
    "webhook_endpoints": rows.WebhookEndpointRow,
    "webhook_deliveries": rows.WebhookDeliveryRow,
    "api_keys": rows.ApiKeyRow,
    "idempotency_keys": rows.IdempotencyKeyRow,
}

# the reads that add columns to a table's: the type they extend, and its table
EXTENDED: dict[type, type] = {
    rows.ExpenseCandidateRow: rows.ExpenseRow,
    rows.ReceiptCandidateRow: rows.ReceiptRow,
    rows.CredentialMemberRow: rows.MemberRow,
    rows.CredentialApiKeyRow: rows.ApiKeyRow,
    rows.ExpenseOfParentRow: rows.ExpenseRow,
}


def test_every_table_has_a_row_type() -> None:
    assert sorted(ROW_TYPES) == sorted(metadata.tables)


def _python_type(annotation: Any) -> tuple[type, bool]:
    """Return the class an annotation names and whether it admits None."""
    nullable = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        parts = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(parts) < len(typing.get_args(annotation))
        (annotation,) = parts
    return typing.get_origin(annotation) or annotation, nullable


def _expected(column: Column[Any]) -> tuple[type, ...]:
    """Return the classes a value of ``column`` may be (a JSON document: object or array)."""
    if isinstance(column.type, JSON):
        return (dict, list)
    return (column.type.python_type,)


@pytest.mark.parametrize("name", sorted(ROW_TYPES))
def test_row_type_matches_its_table(name: str) -> None:
    table: Table = metadata.tables[name]
    hints = {k: v for k, v in get_type_hints(ROW_TYPES[name]).items() if not k.startswith("_")}
    missing = [column for column in table.c.keys() if column not in hints]
    unknown = [column for column in hints if column not in table.c]
    assert not missing and not unknown, f"{name}: type lacks {missing}, table lacks {unknown}"
    for column in table.c:
        python_type, nullable = _python_type(hints[column.name])
        assert python_type in _expected(column), f"{name}.{column.name}: {python_type}"
        assert nullable == column.nullable, f"{name}.{column.name}: nullable {column.nullable}"


@pytest.mark.parametrize("extended", list(EXTENDED), ids=lambda t: t.__name__)
def test_extended_rows_keep_their_tables_columns(extended: type) -> None:
    base = get_type_hints(EXTENDED[extended])
    hints = get_type_hints(extended)
    assert {name: hints[name] for name in base} == base
    assert set(hints) > set(base)
