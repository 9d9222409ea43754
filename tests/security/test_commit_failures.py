"""A mutation whose COMMIT fails must not answer as if it had succeeded.

strawberry ignores a result replaced after execution, so the commit used to fail silently
behind a successful-looking answer; the endpoint now commits before it answers.
"""

import uuid

import pytest
from sqlalchemy import text

from db.engine import RequestDb
from tests.conftest import codes, token

CREATE = """mutation($input: CreateExpenseInput!) {
  createExpense(input: $input) { expense { id } userErrors { code } } }"""


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [(ConnectionResetError("server closed"), 503, "UNAVAILABLE"), (RuntimeError("bug"), 500, "INTERNAL")],
)  # fmt: skip
async def test_a_failed_commit_is_an_error_and_nothing_is_kept(
    client, engine, world, monkeypatch, failure: Exception, status: int, code: str
) -> None:
    async def failing_commit(self: RequestDb) -> None:
        raise failure

    monkeypatch.setattr(RequestDb, "commit", failing_commit)
    merchant = f"Unsaved {uuid.uuid4().hex[:8]}"
    variables = {"input": {"amount": {"amount": "12.00", "currency": "GBP"},
                           "spentAt": "2026-06-01T09:00:00Z", "merchantName": merchant}}  # fmt: skip
    response = await client.post(
        "/graphql",
        json={"query": CREATE, "variables": variables},
        headers={"Authorization": f"Bearer {token(world.a, 'employee')}"},
    )
    assert response.status_code == status and codes(response.json()) == [code]
    assert "data" not in response.json() and "Nothing was saved" in response.text
    async with engine.connect() as conn:
        kept = await conn.scalar(
            text("SELECT count(*) FROM expenses WHERE merchant_name = :m"), {"m": merchant}
        )
    assert kept == 0
