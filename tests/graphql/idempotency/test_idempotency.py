"""Idempotency-Key on mutations: replay, conflicts, scoping, expiry, nothing stored on bad input."""

import random
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import token
from tests.world import Biz, _business

CREATE = """
mutation Create($input: CreateExpenseInput!) {
  createExpense(input: $input) {
    expense { id merchantName status amount { amount currency } }
    userErrors { field code message }
  }
}
"""


@pytest.fixture(scope="module")
async def biz(engine: AsyncEngine) -> Biz:
    async with engine.begin() as conn:
        return await _business(conn, "Retry Ltd", "GBP", 1, random.Random(3))


def _input(merchant: str, amount: str = "10.00") -> dict[str, Any]:
    return {
        "input": {
            "amount": {"amount": amount, "currency": "GBP"},
            "spentAt": "2026-06-01T09:00:00Z",
            "merchantName": merchant,
        }
    }


async def _post(
    client: httpx.AsyncClient,
    credential: str,
    key: str | None,
    query: str,
    variables: dict[str, Any],
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {credential}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


async def _count(engine: AsyncEngine, biz: Biz, merchant: str) -> tuple[int, int]:
    async with engine.connect() as conn:
        expenses = await conn.scalar(
            text("SELECT count(*) FROM expenses WHERE business_id = :b AND merchant_name = :m"),
            {"b": biz.id, "m": merchant},
        )
        events = await conn.scalar(
            text(
                "SELECT count(*) FROM expense_events ev JOIN expenses e ON e.business_id = ev.business_id"
                " AND e.id = ev.expense_id WHERE e.business_id = :b AND e.merchant_name = :m"
            ),
            {"b": biz.id, "m": merchant},
        )
    return int(expenses or 0), int(events or 0)


async def test_same_key_same_request_replays_without_running_again(client, engine, biz) -> None:
    merchant, key = f"Replay {uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    first = await _post(client, token(biz, "employee"), key, CREATE, _input(merchant))
    second = await _post(client, token(biz, "employee"), key, CREATE, _input(merchant))
    assert first.status_code == second.status_code == 200
    assert first.json()["data"]["createExpense"]["expense"]["id"]
    assert second.json() == first.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    assert await _count(engine, biz, merchant) == (1, 1)


async def test_same_key_different_request_is_a_conflict(client, engine, biz) -> None:
    merchant, key = f"Changed {uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    assert (
        await _post(client, token(biz, "employee"), key, CREATE, _input(merchant))
    ).status_code == 200
    other = await _post(
        client, token(biz, "employee"), key, CREATE, _input(merchant, amount="11.00")
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert await _count(engine, biz, merchant) == (1, 1)


async def test_key_in_flight_is_a_conflict(client, engine, biz) -> None:
    merchant, key = f"Busy {uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    scope = f"{biz.id}\x1fmember:{biz.members['employee']}\x1f{key}"
    async with engine.connect() as holder:  # stands in for a first request still running
        await holder.execute(text("SELECT pg_advisory_lock(hashtextextended(:s, 0))"), {"s": scope})
        busy = await _post(client, token(biz, "employee"), key, CREATE, _input(merchant))
        await holder.execute(
            text("SELECT pg_advisory_unlock(hashtextextended(:s, 0))"), {"s": scope}
        )
    assert busy.status_code == 409
    assert busy.json()["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert await _count(engine, biz, merchant) == (0, 0)
    assert (
        await _post(client, token(biz, "employee"), key, CREATE, _input(merchant))
    ).status_code == 200
    assert await _count(engine, biz, merchant) == (1, 1)


async def test_keys_are_scoped_per_credential(client, engine, biz) -> None:
    merchant, key = f"Scoped {uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    for member in ("employee", "employee2"):
        response = await _post(client, token(biz, member), key, CREATE, _input(merchant))
        assert "idempotent-replayed" not in response.headers
    assert await _count(engine, biz, merchant) == (2, 2)


async def test_user_errors_are_stored_and_replayed(client, engine, biz) -> None:
    key = uuid.uuid4().hex
    bad = {"input": {**_input("Bad")["input"], "amount": {"amount": "1.234", "currency": "GBP"}}}
    first = await _post(client, token(biz, "employee"), key, CREATE, bad)
    assert first.json()["data"]["createExpense"]["userErrors"][0]["code"] == "TOO_MANY_DECIMALS"
    again = await _post(client, token(biz, "employee"), key, CREATE, bad)
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json()


async def test_nothing_is_stored_when_validation_fails(client, engine, biz) -> None:
    merchant, key = f"Valid {uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    broken = await _post(
        client, token(biz, "employee"), key, "mutation { createExpense(input: {}) { nope } }", {}
    )
    assert broken.json()["data"] is None
    fixed = await _post(client, token(biz, "employee"), key, CREATE, _input(merchant))
    assert fixed.status_code == 200 and "idempotent-replayed" not in fixed.headers
    assert await _count(engine, biz, merchant) == (1, 1)


async def test_expired_keys_run_again(client, engine, biz) -> None:
    merchant, key = f"Old {uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    await _post(client, token(biz, "employee"), key, CREATE, _input(merchant))
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = :k"
            ),
            {"k": key},
        )
    again = await _post(client, token(biz, "employee"), key, CREATE, _input(merchant))
    assert "idempotent-replayed" not in again.headers
    assert await _count(engine, biz, merchant) == (2, 2)


async def test_queries_ignore_the_key_and_bad_keys_are_refused(client, engine, biz) -> None:
    key = uuid.uuid4().hex
    query = await _post(client, token(biz, "admin"), key, "{ viewer { credential } }", {})
    assert query.json()["data"] == {"viewer": {"credential": "MEMBER"}}
    async with engine.connect() as conn:
        assert (
            await conn.scalar(
                text("SELECT count(*) FROM idempotency_keys WHERE key = :k"), {"k": key}
            )
            == 0
        )
    too_long = await _post(client, token(biz, "employee"), "k" * 256, CREATE, _input("Long"))
    assert too_long.status_code == 400
    assert too_long.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_oversized_body_with_a_key_is_refused_before_it_is_buffered(client, biz) -> None:
    from app.transport import MAX_MULTIPART_BYTES

    headers = {
        "Authorization": f"Bearer {token(biz, 'employee')}",
        "Idempotency-Key": uuid.uuid4().hex,
    }
    body = b'{"query": "mutation { x }", "pad": "' + b"x" * (MAX_MULTIPART_BYTES + 1) + b'"}'
    response = await client.post(
        "/graphql", content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


UPDATE = """
mutation Update($id: ID!, $input: UpdateExpenseInput!) {
  updateExpense(id: $id, input: $input) { expense { id merchantName } userErrors { code } }
}
"""


async def test_unavailable_attempts_are_not_stored_and_the_retry_runs(client, engine, biz) -> None:
    # issue 11 defect 3: a lock timeout (UNAVAILABLE) was stored and replayed for 24 hours
    merchant, key = f"Locked {uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    created = await _post(client, token(biz, "employee"), None, CREATE, _input(merchant))
    expense_id = created.json()["data"]["createExpense"]["expense"]["id"]
    changed = {"id": expense_id, "input": {"merchantName": f"{merchant} v2"}}
    async with engine.connect() as conn, conn.begin():
        await conn.execute(
            text("SELECT 1 FROM expenses WHERE business_id = :b AND merchant_name = :m FOR UPDATE"),
            {"b": biz.id, "m": merchant},
        )
        blocked = await _post(client, token(biz, "employee"), key, UPDATE, changed)
    codes = [e["extensions"]["code"] for e in blocked.json()["errors"]]
    assert codes == ["UNAVAILABLE"] and blocked.headers.get("retry-after")
    retried = await _post(client, token(biz, "employee"), key, UPDATE, changed)
    assert "idempotent-replayed" not in retried.headers and "errors" not in retried.json()
    assert retried.json()["data"]["updateExpense"]["expense"]["merchantName"] == f"{merchant} v2"
    replayed = await _post(client, token(biz, "employee"), key, UPDATE, changed)
    assert replayed.headers.get("idempotent-replayed") == "true"
    assert replayed.content == retried.content  # the stored bytes, keys in their order


async def test_a_partly_failed_request_keeps_nothing_and_says_so(client, engine, biz) -> None:
    # two mutations in one request: the second fails UNAVAILABLE, the first must not stay
    merchant, key = f"Half {uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    created = await _post(client, token(biz, "employee"), None, CREATE, _input(merchant))
    expense_id = created.json()["data"]["createExpense"]["expense"]["id"]
    both = """mutation($id: ID!, $input: CreateExpenseInput!) {
      a: createExpense(input: $input) { expense { id } }
      b: updateExpense(id: $id, input: {description: "x"}) { expense { id } }
    }"""
    variables = {"id": expense_id, **_input(f"{merchant} new")}
    async with engine.connect() as conn, conn.begin():
        await conn.execute(
            text("SELECT 1 FROM expenses WHERE business_id = :b AND merchant_name = :m FOR UPDATE"),
            {"b": biz.id, "m": merchant},
        )
        response = await _post(client, token(biz, "employee"), key, both, variables)
    assert response.status_code == 503
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UNAVAILABLE"]
    assert await _count(engine, biz, f"{merchant} new") == (0, 0)
