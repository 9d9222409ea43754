"""Writes of the policy mutations. Run inside RequestDb.savepoint(); nothing here commits."""

from typing import Any, cast

from db.engine import RequestDb
from db.locks import locked_row
from db.rows import PolicyRow
from db.tables.org import policies
from db.writes.rows import insert_row, update_row


async def locked_policy(*, db: RequestDb, business_id: int, policy_id: int) -> PolicyRow | None:
    """Return a policy of the business locked until the transaction ends, or None."""
    return await locked_row(db=db, table=policies, business_id=business_id, row_id=policy_id)


async def insert_policy(*, db: RequestDb, business_id: int, values: dict[str, Any]) -> PolicyRow:
    """Store a new, active policy and return it."""
    return cast(
        PolicyRow, await insert_row(db=db, table=policies, business_id=business_id, values=values)
    )


async def update_policy(
    *, db: RequestDb, business_id: int, policy_id: int, values: dict[str, Any]
) -> PolicyRow:
    """Update a locked policy and return it."""
    return await update_row(
        db=db, table=policies, business_id=business_id, row_id=policy_id, values=values
    )
