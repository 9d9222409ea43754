"""Racing mutations: requests sent at the same moment (asyncio.gather through the ASGI
client, each on its own pooled connection) on the same expenses.

The row lock taken before the status check serialises them: the second request sees the
first one's committed state, so exactly one decision happens and the loser is told why.
"""

import asyncio
from typing import Any

from tests.conftest import gql_raw
from tests.graphql.mutations.conftest import MUTATIONS, add_expense, egid, snapshot

ROUNDS = 10


async def _race(client: Any, requests: list[tuple[str, str, dict[str, Any]]]) -> list[Any]:
    """Send the requests at once; return each response body."""
    responses = await asyncio.gather(
        *(gql_raw(client, MUTATIONS[op], variables, as_=as_) for op, as_, variables in requests)
    )
    for response in responses:
        assert response.status_code == 200
    return [response.json() for response in responses]


def _overlapped(sql: list[str]) -> bool:
    """Return True when both row locks were requested before either request committed."""
    kinds = ["lock" if "FOR UPDATE" in q else q.split()[0] for q in sql]
    return "RELEASE" in kinds and kinds[: kinds.index("RELEASE")].count("lock") == 2


async def test_approve_and_reject_at_once_one_wins(client, engine, statements, shops):
    s = shops.gbp
    overlaps = 0
    for round_ in range(ROUNDS):
        id_ = await add_expense(engine, s, "employee")
        deciders = [("approve", "manager", {}), ("reject", "finance", {"reason": "Duplicate"})]
        if round_ % 2:  # either may be sent first
            deciders.reverse()
        statements.reset()
        bodies = await _race(
            client,
            [(op, s.token(who), {"id": egid(id_), **args}) for op, who, args in deciders],
        )
        overlaps += _overlapped(statements.statements)
        for body in bodies:
            assert "errors" not in body, body["errors"]
        payloads = [body["data"]["p"] for body in bodies]
        winners = [n for n, p in enumerate(payloads) if not p["userErrors"]]
        assert len(winners) == 1, payloads
        (winner,) = winners
        loser = payloads[1 - winner]
        assert loser["expense"] is None
        assert [(e["field"], e["code"]) for e in loser["userErrors"]] == [
            ("id", "INVALID_TRANSITION")
        ]
        op, who, args = deciders[winner]
        status = "APPROVED" if op == "approve" else "REJECTED"
        assert payloads[winner]["expense"]["status"] == status
        row, events = await snapshot(engine, id_)
        assert (row["status"], row["decided_by"]) == (status, s.biz.members[who])
        assert events == [(status, s.biz.members[who], args.get("reason"))]
    assert overlaps, "the requests never raced: the test proved nothing"


async def test_two_approvals_at_once_record_one_decision(client, engine, shops):
    s = shops.gbp
    for _ in range(5):
        id_ = await add_expense(engine, s, "employee")
        bodies = await _race(
            client, [("approve", s.token(who), {"id": egid(id_)}) for who in ("manager", "admin")]
        )
        errors = [[e["code"] for e in body["data"]["p"]["userErrors"]] for body in bodies]
        assert sorted(errors) == [[], ["INVALID_TRANSITION"]]
        _, events = await snapshot(engine, id_)
        assert [action for action, _, _ in events] == ["APPROVED"]


async def test_batches_locking_the_same_expenses_in_opposite_orders_both_succeed(
    client, engine, shops
):
    """Two exports of [A, B] and [B, A] must not deadlock: both are valid, both happen."""
    s = shops.gbp
    for _ in range(3):
        a, b = [await add_expense(engine, s, "employee", status="APPROVED") for _ in range(2)]
        bodies = await _race(
            client,
            [("export", s.token("finance"), {"ids": [egid(a), egid(b)]}),
             ("export", s.token("admin"), {"ids": [egid(b), egid(a)]})],
        )  # fmt: skip
        for body in bodies:
            assert "errors" not in body, body["errors"]
            assert body["data"]["p"]["userErrors"] == []
        for id_ in (a, b):
            _, events = await snapshot(engine, id_)
            assert [action for action, _, _ in events] == ["EXPORTED", "EXPORTED"]
