"""updateExpense, deleteExpense and submitExpense: FX recomputed, soft deletes, the receipt
policy; every refusal is checked in SQL to have changed nothing: no field, no event.
"""

from datetime import datetime
from decimal import Decimal

import pytest

from tests.conftest import gql, gql_raw
from tests.graphql.mutations.conftest import (
    SPENT_NEXT,
    add_expense,
    attach_receipt,
    call,
    created,
    egid,
    error_codes,
    row_id,
    snapshot,
)

at = datetime.fromisoformat


async def test_update_recomputes_fx_with_amount_or_day(client, engine, shops):
    s = shops.gbp
    as_ = s.token("employee")
    i = created(s, amount="10.00", currency="USD")
    e = (await call(client, "create", as_, input=i))["expense"]
    steps = [
        ({"amount": {"amount": "20.00", "currency": "USD"}}, "15.84", "2031-03-10"),
        ({"spentAt": SPENT_NEXT}, "16.00", "2031-03-11"),
        ({"merchantName": "Renamed", "description": "taxi"}, "16.00", "2031-03-11"),
        ({"amount": {"amount": "16.00", "currency": "GBP"}}, "16.00", "2031-03-11"),
    ]
    for changes, home, day in steps:
        before = e["updatedAt"]
        e = (await call(client, "update", as_, id=e["id"], input=changes))["expense"]
        assert (e["status"], e["homeAmount"]["amount"], e["fxRateDate"]) == ("DRAFT", home, day)
        assert at(e["updatedAt"]) > at(before)
    assert (e["merchantName"], e["description"], Decimal(e["fxRate"])) == ("Renamed", "taxi", 1)
    row, events = await snapshot(engine, row_id(e["id"]))
    assert (row["amount_minor"], row["currency"], row["home_amount_minor"]) == (1600, "GBP", 1600)
    assert [a for a, _, _ in events] == ["CREATED"] + ["UPDATED"] * 4
    assert [a["action"] for a in e["events"]] == ["CREATED"] + ["UPDATED"] * 4


async def test_updating_a_rejected_expense_makes_it_a_draft(client, engine, shops):
    s = shops.gbp
    id_ = await add_expense(engine, s, "employee", status="REJECTED")
    payload = await call(
        client, "update", s.token("employee"), id=egid(id_), input={"merchantName": "Fixed"}
    )
    assert payload["expense"]["status"] == "DRAFT"
    row, events = await snapshot(engine, id_)
    assert (row["status"], row["merchant_name"]) == ("DRAFT", "Fixed")
    assert events == [("UPDATED", s.biz.members["employee"], None)]


REFUSALS = [  # status of the employee's expense, actor, expected code
    ("SUBMITTED", "employee", "INVALID_TRANSITION"),
    ("APPROVED", "employee", "INVALID_TRANSITION"),
    ("REIMBURSED", "employee", "INVALID_TRANSITION"),
    ("DRAFT", "admin", "FORBIDDEN"),  # sees it, but only the spender edits
    ("DRAFT", "manager", "FORBIDDEN"),
    ("DRAFT", "employee2", "NOT_FOUND"),  # cannot see it: same as no such expense
    ("DRAFT", "other:admin", "NOT_FOUND"),
]


@pytest.mark.parametrize(
    ("op", "status", "who", "code"),
    [(op, *refusal) for op in ("update", "delete", "submit") for refusal in REFUSALS],
)
async def test_recording_refusals_change_nothing(client, engine, shops, op, status, who, code):
    s = shops.gbp
    id_ = await add_expense(engine, s, "employee", status=status)
    before = await snapshot(engine, id_)
    shop, _, member = who.rpartition(":")
    as_ = getattr(shops, shop or "gbp").token(member)
    args = {"input": {"merchantName": "Changed"}} if op == "update" else {}
    payload = await call(client, op, as_, id=egid(id_), **args)
    assert error_codes(payload) == [("id", code)]
    assert await snapshot(engine, id_) == before


async def test_update_to_a_day_without_a_rate_changes_nothing(client, engine, shops):
    s = shops.gbp
    i = created(s, amount="10.00", currency="USD")
    e = (await call(client, "create", s.token("employee"), input=i))["expense"]
    before = await snapshot(engine, row_id(e["id"]))
    changes = {"spentAt": "2031-03-12T10:00:00Z", "merchantName": "Later"}
    payload = await call(client, "update", s.token("employee"), id=e["id"], input=changes)
    assert error_codes(payload) == [("amount", "FX_RATE_MISSING")]
    assert await snapshot(engine, row_id(e["id"])) == before


async def test_delete_is_soft_and_hides_the_expense_from_lists(client, engine, shops):
    s = shops.gbp
    as_ = s.token("employee2")
    e = (await call(client, "create", as_, input=created(s, "employee2")))["expense"]
    deleted = (await call(client, "delete", as_, id=e["id"]))["expense"]
    assert deleted["deletedAt"] is not None and at(deleted["updatedAt"]) > at(e["updatedAt"])
    assert [v["action"] for v in deleted["events"]] == ["CREATED", "DELETED"]
    row, events = await snapshot(engine, row_id(e["id"]))
    assert row["deleted_at"] is not None and row["status"] == "DRAFT"
    assert events[-1] == ("DELETED", s.biz.members["employee2"], None)
    query = (
        "query($f: ExpenseFilter) { expenses(first: 100, filter: $f) { nodes { id deletedAt } } }"
    )
    for include in (False, True):
        f = {"memberIds": [s.gid("Member", "employee2")], "includeDeleted": include}
        nodes = (await gql(client, query, {"f": f}, as_=as_))["expenses"]["nodes"]
        assert ({"id": e["id"], "deletedAt": row["deleted_at"].isoformat()} in nodes) is include
    again = await call(client, "delete", as_, id=e["id"])
    assert error_codes(again) == [("id", "NOT_FOUND")]


@pytest.mark.parametrize(
    ("shop", "amount", "currency", "receipt", "outcome", "violations"),
    [
        ("gbp", "50.00", "GBP", False, "SUBMITTED", []),  # at the threshold, not above
        ("gbp", "50.01", "GBP", False, "RECEIPT_REQUIRED", None),
        ("gbp", "50.01", "GBP", True, "SUBMITTED", []),
        ("gbp", "9000", "JPY", False, "SUBMITTED", []),  # 45.00 GBP: thresholds are in home
        ("gbp", "10002", "JPY", False, "RECEIPT_REQUIRED", None),  # 50.01 GBP
        ("gbp", "600.00", "GBP", True, "SUBMITTED", ["AMOUNT_OVER_LIMIT"]),  # allowed, flagged
        ("jpy", "5001", "JPY", False, "RECEIPT_REQUIRED", None),  # 5000 minor units is 5000 yen
    ],
)
async def test_submit_checks_the_receipt_policy(
    client, engine, shops, shop, amount, currency, receipt, outcome, violations
):
    s = getattr(shops, shop)
    as_ = s.token("employee")
    e = (await call(client, "create", as_, input=created(s, amount=amount, currency=currency)))[
        "expense"
    ]
    id_ = row_id(e["id"])
    if receipt:
        await attach_receipt(engine, s, id_)
    before = await snapshot(engine, id_)
    payload = await call(client, "submit", as_, id=e["id"])
    if outcome == "RECEIPT_REQUIRED":
        assert error_codes(payload) == [("id", "RECEIPT_REQUIRED")]
        assert await snapshot(engine, id_) == before
        return
    e = payload["expense"]
    assert (e["status"], e["submittedAt"] is not None) == ("SUBMITTED", True)
    assert [v["code"] for v in e["policyViolations"]] == violations
    assert [v["action"] for v in e["events"]] == ["CREATED", "SUBMITTED"]
    row, events = await snapshot(engine, id_)
    assert row["status"] == "SUBMITTED" and row["updated_at"] > before[0]["updated_at"]
    assert events[-1] == ("SUBMITTED", s.biz.members["employee"], None)


async def test_a_key_with_expenses_write_can_submit_what_it_recorded(client, engine, shops):
    s = shops.gbp
    key = s.keys["write_only"]
    doc = (
        "mutation($input: CreateExpenseInput!) { createExpense(input: $input) { expense { id } } }"
    )
    i = created(s, memberId=s.gid("Member", "employee"))
    e = (await gql(client, doc, {"input": i}, as_=key))["createExpense"]["expense"]
    doc = "mutation($id: ID!) { submitExpense(id: $id) { expense { status } userErrors { code } } }"
    body = (await gql_raw(client, doc, {"id": e["id"]}, as_=key)).json()
    assert body.get("errors") is None, body["errors"]  # the policy check is not the caller's read
    assert body["data"]["submitExpense"] == {"expense": {"status": "SUBMITTED"}, "userErrors": []}
    assert (await snapshot(engine, row_id(e["id"])))[0]["status"] == "SUBMITTED"
