"""The spend rollups against a fresh aggregate of ``expenses`` (alembic 0002's invariant)."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

ROLLUPS = {"expense_day_totals": "day", "expense_month_totals": "month"}
_KEY = "team_id, category_id, currency, status, home_currency"


async def rollup_drift(conn: AsyncConnection) -> list[tuple[Any, ...]]:
    """Return every row where a rollup and a GROUP BY over the live expenses differ.

    Each row is ('missing' or 'extra', rollup name, the key, total, count): 'missing' is
    in the fresh aggregate but not in the rollup, 'extra' the other way round. Both
    rollups, all businesses; NULL team or category compare as equal values.
    """
    drift: list[tuple[Any, ...]] = []
    for table, period in ROLLUPS.items():
        fresh = (
            f"SELECT e.business_id, date_trunc('{period}', timezone(b.timezone, e.spent_at))::date,"
            f" {', '.join('e.' + c for c in _KEY.split(', '))},"
            " sum(e.home_amount_minor), count(*)"
            " FROM expenses e JOIN businesses b ON b.id = e.business_id"
            " WHERE e.deleted_at IS NULL GROUP BY 1, 2, 3, 4, 5, 6, 7"
        )
        kept = f"SELECT business_id, {period}, {_KEY}, total_minor, n FROM {table}"
        statement = text(
            f"(SELECT 'missing', '{table}', * FROM ({fresh} EXCEPT ALL {kept}) m)"
            f" UNION ALL (SELECT 'extra', '{table}', * FROM ({kept} EXCEPT ALL {fresh}) x)"
        )
        drift += [tuple(row) for row in await conn.execute(statement)]
    return drift
