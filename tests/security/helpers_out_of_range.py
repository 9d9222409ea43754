"""Shared helpers of the out-of-range tests (issue 11, defects 8 and 9): the queries and
mutations they send, a sender of bodies holding lone surrogates, and the checks that a
refusal is the client's error on the argument at fault and wrote nothing.
"""

import json
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import codes
from tests.world import Biz

EXPENSES = (
    "query($f: ExpenseFilter, $after: String, $before: String, $last: Int, $o: ExpenseOrder)"
    " { expenses(filter: $f, after: $after, before: $before, last: $last, orderBy: $o)"
    " { nodes { id } } }"
)
CREATE = (
    "mutation($input: CreateExpenseInput!) { p: createExpense(input: $input)"
    " { expense { id } userErrors { field code message } } }"
)
UPDATE = (
    "mutation($id: ID!, $input: UpdateExpenseInput!) { p: updateExpense(id: $id, input: $input)"
    " { expense { id } userErrors { field code message } } }"
)


async def post_ascii(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], *, as_: str
) -> httpx.Response:
    """Send a request whose JSON body escapes every non-ASCII character (httpx's would not,
    and cannot encode a lone surrogate at all)."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    headers = {"Authorization": f"Bearer {as_}", "Content-Type": "application/json"}
    return await client.post("/graphql", content=body, headers=headers)


def assert_bad_input(response: httpx.Response, field: str) -> None:
    """Assert one top-level BAD_USER_INPUT on ``field`` (HTTP 200, as other bad arguments)."""
    body = response.json()
    assert response.status_code == 200, body
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"].get("field") == field, body


async def ledger(engine: AsyncEngine, biz: Biz) -> tuple[Any, ...]:
    """Return the business's expenses (every column) and event count: a refusal changes none."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT * FROM expenses WHERE business_id = :b ORDER BY id"), {"b": biz.id}
        )
        events = await conn.execute(
            text("SELECT count(*) FROM expense_events WHERE business_id = :b"), {"b": biz.id}
        )
        return tuple(tuple(r) for r in rows), events.scalar_one()


def created(**changes: Any) -> dict[str, Any]:
    """Return a valid CreateExpenseInput in GBP with ``changes``."""
    return {
        "amount": {"amount": "12.34", "currency": "GBP"},
        "spentAt": "2026-05-01T12:00:00Z",
        "merchantName": "Out of range",
        **changes,
    }


def user_errors(response: httpx.Response) -> list[tuple[str, str]]:
    """Return (field, code) of a mutation's userErrors; no top-level error, no expense."""
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body
    payload = body["data"]["p"]
    assert payload["expense"] is None, payload
    return [(e["field"], e["code"]) for e in payload["userErrors"]]
