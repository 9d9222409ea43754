"""Row types name exactly the columns their reads return, typed as the tables type them."""

import types
import typing
from typing import Any, get_type_hints

import pytest
from sqlalchemy import JSON, Column, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db import rows
from db.engine import RequestDb
from db.nodes import NODE_TABLES
from db.queries import api_keys as api_key_reads
from db.queries import auth, match_candidates
from db.queries import expenses as expense_reads
from db.queries.auth import api_key_by_prefix, member_with_teams
from db.tables import metadata
from db.writes import matching
from db.writes import org as org_writes
from db.writes import webhooks as webhook_writes
from tests.world import World

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

# the reads that add columns to a table's (their types are next to their statements): the
# type each extends
EXTENDED: dict[type, type] = {
    match_candidates.ExpenseCandidateRow: rows.ExpenseRow,
    match_candidates.ReceiptCandidateRow: rows.ReceiptRow,
    auth.CredentialMemberRow: auth.CredentialMemberColumnsRow,
    auth.CredentialApiKeyRow: auth.CredentialKeyColumnsRow,
    expense_reads.ExpenseOfParentRow: rows.ExpenseRow,
    matching.LockedReceiptRow: rows.ReceiptRow,
    matching.ExpenseForMatchingRow: rows.ExpenseRow,
    org_writes.AdminMemberRow: rows.MemberRow,
    webhook_writes.DeliveryOfEventRow: rows.WebhookDeliveryRow,
}


# the reads of some of a table's columns: the table's type, and the columns read
PARTIAL: dict[type, tuple[type, tuple[Column[Any], ...]]] = {
    api_key_reads.ListedApiKeyRow: (rows.ApiKeyRow, api_key_reads.LISTED_COLUMNS),
    auth.CredentialKeyColumnsRow: (rows.ApiKeyRow, auth.CREDENTIAL_KEY_COLUMNS),
    auth.CredentialMemberColumnsRow: (rows.MemberRow, auth.CREDENTIAL_MEMBER_COLUMNS),
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


def _columns(row_type: type) -> dict[str, Any]:
    """Return the columns ``row_type`` names, by name (``_mapping`` and the like left out)."""
    return {k: v for k, v in get_type_hints(row_type).items() if not k.startswith("_")}


@pytest.mark.parametrize("name", sorted(ROW_TYPES))
def test_row_type_matches_its_table(name: str) -> None:
    table: Table = metadata.tables[name]
    hints = _columns(ROW_TYPES[name])
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


@pytest.mark.parametrize("partial", list(PARTIAL), ids=lambda t: t.__name__)
def test_partial_rows_name_the_columns_they_read(partial: type) -> None:
    table_type, columns = PARTIAL[partial]
    table_hints, hints = get_type_hints(table_type), get_type_hints(partial)
    assert list(hints) == [column.name for column in columns]
    assert all(hints[name] == table_hints[name] for name in hints)


@pytest.mark.parametrize("name", sorted(ROW_TYPES))
async def test_rows_answer_their_type_at_run_time(
    engine: AsyncEngine, world: World, name: str
) -> None:
    """Both kinds of row (asyncpg's named tuples, SQLAlchemy's) have every member, so typed."""
    statement = select(metadata.tables[name]).limit(20)
    db = RequestDb(engine)
    try:
        fast = await db.rows(statement)
    finally:
        await db.close()
    async with engine.connect() as conn:
        slow = (await conn.execute(statement)).all()
    assert fast or name not in NODE_TABLES, f"the world has no {name}"
    assert all(type(row).__name__ == "FastRow" for row in fast)
    for row in [*fast, *slow]:
        _assert_typed(row, ROW_TYPES[name])


async def test_the_credential_reads_answer_their_types(engine: AsyncEngine, world: World) -> None:
    """Every request's member or key lookup (reads adding columns) gives what its type says."""
    db = RequestDb(engine)
    try:
        member = await member_with_teams(
            db=db, business_id=world.a.id, member_id=world.a.members["manager"]
        )
        key = await api_key_by_prefix(db=db, prefix=world.keys["a_read"].split("_")[1])
    finally:
        await db.close()
    assert type(member).__name__ == "FastRow" and type(key).__name__ == "FastRow"
    _assert_typed(member, auth.CredentialMemberRow)
    _assert_typed(key, auth.CredentialApiKeyRow)


def _assert_typed(row: Any, row_type: type) -> None:
    """Assert ``row`` has every column ``row_type`` names, each of its declared type."""
    for column, annotation in _columns(row_type).items():
        python_type, nullable = _python_type(annotation)
        value = getattr(row, column)
        assert isinstance(value, python_type) or (value is None and nullable), (
            f"{row_type.__name__}.{column}: {value!r}"
        )
