"""Deciding on expenses: approveExpense, rejectExpense, markExpensesReimbursed and
markExpensesExported, with the authorization matrix (role x own / own team / other team /
other business). Refusals are checked in SQL to have changed nothing.

An expense the actor cannot see is NOT_FOUND, exactly like an id that does not exist
(DESIGN.md section 4): so an employee deciding a colleague's expense, or a manager another
team's, is NOT_FOUND rather than FORBIDDEN; FORBIDDEN is for what the actor sees but may
not decide (API keys, and bookkeeping marks by managers and employees).
"""

import pytest

from tests.conftest import codes, gql_raw
from tests.graphql.mutations.conftest import (
    MUTATIONS,
    add_expense,
    call,
    egid,
    error_codes,
    snapshot,
)

OK = "OK"
# actor -> expected outcome for the expense of: employee (Sales), engineer (Eng),
# manager (Sales manager's own), admin (no team)
MATRIX = {
    "admin": (OK, OK, OK, "SELF_DECISION"),
    "finance": (OK, OK, OK, OK),
    "manager": (OK, "NOT_FOUND", "SELF_DECISION", "NOT_FOUND"),
    "manager2": ("NOT_FOUND", OK, "NOT_FOUND", "NOT_FOUND"),
    "employee": ("SELF_DECISION", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND"),
    "employee2": ("NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND"),
    "key": ("FORBIDDEN",) * 4,  # decisions need a person
    "other:admin": ("NOT_FOUND",) * 4,
}
SPENDERS = ("employee", "engineer", "manager", "admin")
CASES = [
    (op, actor, spender, outcome)
    for op in ("approve", "reject")
    for actor, outcomes in MATRIX.items()
    for spender, outcome in zip(SPENDERS, outcomes, strict=True)
]


def credential(shops, actor: str) -> str:
    if actor == "key":
        return shops.gbp.keys["write"]
    shop, _, who = actor.rpartition(":")
    return getattr(shops, shop or "gbp").token(who)


@pytest.mark.parametrize(("op", "actor", "spender", "outcome"), CASES)
async def test_decision_matrix(client, engine, shops, op, actor, spender, outcome):
    s = shops.gbp
    id_ = await add_expense(engine, s, spender)
    before = await snapshot(engine, id_)
    args = {"reason": "Not business"} if op == "reject" else {"comment": "Fine"}
    payload = await call(client, op, credential(shops, actor), id=egid(id_), **args)
    if outcome != OK:
        assert error_codes(payload) == [("id", outcome)]
        assert await snapshot(engine, id_) == before
        return
    status = "APPROVED" if op == "approve" else "REJECTED"
    comment = args.get("reason", args.get("comment"))
    e = payload["expense"]
    assert (e["status"], e["decidedAt"] is not None, payload["userErrors"]) == (status, True, [])
    assert e["events"] == [
        {"action": status, "comment": comment, "actor": {"id": s.gid("Member", actor)}}
    ]
    row, events = await snapshot(engine, id_)
    assert (row["status"], row["decided_by"]) == (status, s.biz.members[actor])
    assert row["updated_at"] > before[0]["updated_at"] and row["decided_at"] is not None
    assert events == [(status, s.biz.members[actor], comment)]


@pytest.mark.parametrize("status", ["DRAFT", "APPROVED", "REJECTED", "REIMBURSED"])
@pytest.mark.parametrize("op", ["approve", "reject"])
async def test_only_submitted_expenses_are_decided(client, engine, shops, op, status):
    s = shops.gbp
    id_ = await add_expense(engine, s, "employee", status=status)
    before = await snapshot(engine, id_)
    args = {"reason": "No"} if op == "reject" else {}
    payload = await call(client, op, s.token("finance"), id=egid(id_), **args)
    assert error_codes(payload) == [("id", "INVALID_TRANSITION")]
    assert await snapshot(engine, id_) == before


@pytest.mark.parametrize("reason", ["", "   \n"])
async def test_rejection_needs_a_reason(client, engine, shops, reason):
    s = shops.gbp
    id_ = await add_expense(engine, s, "employee")
    before = await snapshot(engine, id_)
    payload = await call(client, "reject", s.token("manager"), id=egid(id_), reason=reason)
    assert error_codes(payload) == [("reason", "REASON_REQUIRED")]
    assert await snapshot(engine, id_) == before


async def test_hidden_expense_is_reported_like_a_missing_one(client, engine, shops):
    s = shops.gbp
    hidden = egid(await add_expense(engine, shops.other, "employee"))
    colleague = egid(await add_expense(engine, s, "employee2"))
    missing = egid(2**62)
    errors = []
    for id_ in (hidden, colleague, missing):
        payload = await call(client, "approve", s.token("employee"), id=id_)
        errors.append(payload["userErrors"])
    assert errors[0] == errors[1] == errors[2]
    assert [(e["field"], e["code"]) for e in errors[0]] == [("id", "NOT_FOUND")]


# expenses for the bookkeeping marks: (status, paid by card)
BATCH_OK = {"reimburse": [("APPROVED", False)] * 2,
            "export": [("APPROVED", False), ("APPROVED", True), ("REIMBURSED", False)]}  # fmt: skip
ACTION = {"reimburse": ("REIMBURSED", "reimbursedAt"), "export": ("EXPORTED", "exportedAt")}


@pytest.mark.parametrize("who", ["finance", "admin", "key"])
@pytest.mark.parametrize("op", ["reimburse", "export"])
async def test_bookkeeping_marks(client, engine, shops, op, who):
    s = shops.gbp
    ids = [
        await add_expense(engine, s, "employee", status=st, card=card) for st, card in BATCH_OK[op]
    ]
    befores = [await snapshot(engine, i) for i in ids]
    payload = await call(client, op, credential(shops, who), ids=[egid(i) for i in ids])
    assert payload["userErrors"] == []
    action, stamp = ACTION[op]
    assert [e["id"] for e in payload["expenses"]] == [egid(i) for i in ids]
    actor = None if who == "key" else s.biz.members[who]
    for i, before, e in zip(ids, befores, payload["expenses"], strict=True):
        status = "REIMBURSED" if op == "reimburse" else before[0]["status"]
        assert (e["status"], e[stamp] is not None) == (status, True)
        assert e["events"][-1]["action"] == action
        row, events = await snapshot(engine, i)
        assert row["status"] == status and row["updated_at"] > before[0]["updated_at"]
        assert row["reimbursed_at" if op == "reimburse" else "exported_at"] is not None
        assert events == [(action, actor, None)]


@pytest.mark.parametrize("op", ["reimburse", "export"])
async def test_bookkeeping_marks_are_all_or_nothing(client, engine, shops, op):
    s = shops.gbp
    rows = [  # (status, card, business) -> the userError expected at that index, or None
        (("APPROVED", False, "gbp"), None),
        (("APPROVED", True, "gbp"), "NOT_OUT_OF_POCKET" if op == "reimburse" else None),
        (("SUBMITTED", False, "gbp"), "INVALID_TRANSITION"),
        (("APPROVED", False, "other"), "NOT_FOUND"),
        (("REIMBURSED", False, "gbp"), "INVALID_TRANSITION" if op == "reimburse" else None),
        (("DRAFT", False, "gbp"), "INVALID_TRANSITION"),
        (("REJECTED", False, "gbp"), "INVALID_TRANSITION"),
    ]
    ids = [
        await add_expense(engine, getattr(shops, biz), "employee", status=st, card=card)
        for (st, card, biz), _ in rows
    ]
    befores = [await snapshot(engine, i) for i in ids]
    payload = await call(client, op, s.token("finance"), ids=[egid(i) for i in ids])
    expected = [(f"ids[{n}]", code) for n, (_, code) in enumerate(rows) if code]
    assert error_codes(payload) == expected
    assert [await snapshot(engine, i) for i in ids] == befores


@pytest.mark.parametrize("who", ["employee", "manager"])
@pytest.mark.parametrize("op", ["reimburse", "export"])
async def test_bookkeeping_marks_need_finance(client, engine, shops, op, who):
    s = shops.gbp
    id_ = await add_expense(engine, s, "employee", status="APPROVED")
    before = await snapshot(engine, id_)
    payload = await call(client, op, s.token(who), ids=[egid(id_)])
    assert [code for _, code in error_codes(payload)] == ["FORBIDDEN"]
    assert await snapshot(engine, id_) == before


@pytest.mark.parametrize("op", ["reimburse", "export"])
async def test_batch_size_is_bounded(client, engine, shops, op):
    s = shops.gbp
    id_ = egid(await add_expense(engine, s, "employee", status="APPROVED"))
    for ids in ([], [id_] * 101):
        payload = await call(client, op, s.token("finance"), ids=ids)
        assert error_codes(payload) == [("ids", "INVALID_VALUE")]


@pytest.mark.parametrize("op", ["reimburse", "export"])
async def test_batch_errors_point_at_the_position_given(client, engine, shops, op):
    """ids[i] names the caller's i-th id, even when an earlier id is repeated."""
    s = shops.gbp
    good = await add_expense(engine, s, "employee", status="APPROVED")
    bad = await add_expense(engine, s, "employee", status="SUBMITTED")
    before = await snapshot(engine, good)
    payload = await call(client, op, s.token("finance"), ids=[egid(good), egid(good), egid(bad)])
    assert error_codes(payload) == [("ids[2]", "INVALID_TRANSITION")]
    assert await snapshot(engine, good) == before


@pytest.mark.parametrize(
    ("op", "variables"),
    [("approve", {"comment": None}), ("reject", {"reason": "No"}),
     ("reimburse", None), ("export", None)],
)  # fmt: skip
@pytest.mark.parametrize(("cred", "code"), [(None, "UNAUTHENTICATED"), ("read", "FORBIDDEN")])
async def test_decisions_without_the_right_credential(client, engine, shops, op, variables, cred, code):  # fmt: skip
    s = shops.gbp
    id_ = await add_expense(engine, s, "employee", status="SUBMITTED")
    before = await snapshot(engine, id_)
    args = {"ids": [egid(id_)]} if variables is None else {"id": egid(id_), **variables}
    body = (await gql_raw(client, MUTATIONS[op], args, as_=s.keys[cred] if cred else None)).json()
    assert codes(body) == [code] and not (body["data"] or {}).get("p")
    assert await snapshot(engine, id_) == before
