"""attachReceipt / detachReceipt: matching, audit events, updatedAt, who may do it."""

from typing import Any

from resolvers.ids import encode_id
from tests.conftest import codes, gql, gql_raw
from tests.graphql.receipts.conftest import (
    PDF,
    Shop,
    error_codes,
    new_expense,
    unique,
    upload,
)

ATTACH = """
mutation($receiptId: ID!, $expenseId: ID!) {
  attachReceipt(receiptId: $receiptId, expenseId: $expenseId) {
    receipt { id expense { id } }
    userErrors { field message code }
  }
}
"""
DETACH = """
mutation($receiptId: ID!) {
  detachReceipt(receiptId: $receiptId) {
    receipt { id expense { id } }
    userErrors { field message code }
  }
}
"""
EXPENSE = """
query($id: ID!) {
  node(id: $id) {
    ... on Expense {
      status updatedAt receipts { id }
      events { action comment actor { id } }
    }
  }
}
"""
DECIDE = """
mutation($id: ID!) { %s(id: $id%s) { userErrors { code message } } }
"""


async def _attach(shop: Shop, receipt: str, expense: str, as_: str) -> dict[str, Any]:
    data = await gql(shop.client, ATTACH, {"receiptId": receipt, "expenseId": expense}, as_=as_)
    return data["attachReceipt"]


async def _detach(shop: Shop, receipt: str, as_: str) -> dict[str, Any]:
    data = await gql(shop.client, DETACH, {"receiptId": receipt}, as_=as_)
    return data["detachReceipt"]


async def _expense(shop: Shop, expense: str) -> dict[str, Any]:
    data = await gql(shop.client, EXPENSE, {"id": expense}, as_=shop.as_("finance"))
    return data["node"]


async def _unmatched(shop: Shop, member: str = "employee") -> str:
    payload = await upload(shop.client, unique(PDF), as_=shop.as_(member), name="taxi.pdf")
    return payload["receipt"]["id"]


async def _decide(shop: Shop, mutation: str, expense: str, as_: str) -> None:
    extra = ', reason: "no"' if mutation == "rejectExpense" else ""
    data = await gql(shop.client, DECIDE % (mutation, extra), {"id": expense}, as_=as_)
    assert data[mutation]["userErrors"] == [], data


async def test_unmatched_upload_then_attach_and_detach(shop: Shop) -> None:
    employee = shop.as_("employee")
    receipt = await _unmatched(shop)
    expense = await new_expense(shop.client, employee)
    before = await _expense(shop, expense)

    attached = await _attach(shop, receipt, expense, employee)
    assert attached == {"receipt": {"id": receipt, "expense": {"id": expense}}, "userErrors": []}
    after_attach = await _expense(shop, expense)
    assert after_attach["updatedAt"] > before["updatedAt"]
    assert after_attach["receipts"] == [{"id": receipt}]
    assert after_attach["events"][-1] == {
        "action": "RECEIPT_ATTACHED",
        "comment": f"taxi.pdf ({receipt})",
        "actor": {"id": shop.member_id("employee")},
    }

    detached = await _detach(shop, receipt, employee)
    assert detached == {"receipt": {"id": receipt, "expense": None}, "userErrors": []}
    after_detach = await _expense(shop, expense)
    assert after_detach["updatedAt"] > after_attach["updatedAt"]
    assert after_detach["receipts"] == []
    actions = [e["action"] for e in after_detach["events"]]
    assert actions == ["CREATED", "RECEIPT_ATTACHED", "RECEIPT_DETACHED"]


async def test_attaching_again_to_the_same_expense_changes_nothing(shop: Shop) -> None:
    employee = shop.as_("employee")
    receipt, expense = await _unmatched(shop), await new_expense(shop.client, employee)
    await _attach(shop, receipt, expense, employee)
    state = await _expense(shop, expense)
    again = await _attach(shop, receipt, expense, employee)
    assert again["userErrors"] == [] and again["receipt"]["expense"] == {"id": expense}
    assert await _expense(shop, expense) == state


async def test_a_receipt_on_one_expense_cannot_be_attached_to_another(shop: Shop) -> None:
    employee = shop.as_("employee")
    receipt = await _unmatched(shop)
    first, second = (
        await new_expense(shop.client, employee),
        await new_expense(shop.client, employee),
    )
    await _attach(shop, receipt, first, employee)
    state = await _expense(shop, second)
    refused = await _attach(shop, receipt, second, employee)
    assert refused["receipt"] is None and error_codes(refused) == ["ALREADY_ATTACHED"]
    assert await _expense(shop, second) == state


async def test_detaching_an_unmatched_receipt_returns_it_unchanged(shop: Shop) -> None:
    receipt = await _unmatched(shop)
    events = await shop.event_count()
    payload = await _detach(shop, receipt, shop.as_("employee"))
    assert payload == {"receipt": {"id": receipt, "expense": None}, "userErrors": []}
    assert await shop.event_count() == events


async def test_detaching_only_while_the_expense_can_be_edited(shop: Shop) -> None:
    employee = shop.as_("employee")
    receipt, expense = await _unmatched(shop), await new_expense(shop.client, employee)
    await _attach(shop, receipt, expense, employee)
    await _decide(shop, "submitExpense", expense, employee)
    refused = await _detach(shop, receipt, employee)
    assert error_codes(refused) == ["INVALID_TRANSITION"]
    await _decide(shop, "rejectExpense", expense, shop.as_("manager"))
    assert (await _detach(shop, receipt, employee))["userErrors"] == []
    # attaching is fine in any status: evidence may arrive after approval
    approved = await new_expense(shop.client, employee)
    await _decide(shop, "submitExpense", approved, employee)
    await _decide(shop, "approveExpense", approved, shop.as_("manager"))
    late = await _unmatched(shop)
    assert (await _attach(shop, late, approved, employee))["userErrors"] == []
    assert error_codes(await _detach(shop, late, shop.as_("finance"))) == ["INVALID_TRANSITION"]


async def test_who_may_attach(shop: Shop) -> None:
    employee, events = shop.as_("employee"), await shop.event_count()
    own_receipt = await _unmatched(shop)
    others_receipt = await _unmatched(shop, "employee2")
    own_expense = await new_expense(shop.client, employee)
    others_expense = await new_expense(shop.client, shop.as_("employee2"))
    foreign_expense = encode_id("Expense", shop.other.expense_ids[1])
    foreign_receipt = encode_id("Receipt", shop.other.receipt_ids[0])
    managers_receipt = await _unmatched(shop, "manager")
    events = await shop.event_count()
    rows = await shop.receipt_rows()
    denied = [
        # (receipt, expense, actor, code, field)
        (own_receipt, foreign_expense, employee, "NOT_FOUND", "expenseId"),
        (foreign_receipt, own_expense, employee, "NOT_FOUND", "receiptId"),
        (own_receipt, others_expense, employee, "NOT_FOUND", "expenseId"),
        (others_receipt, own_expense, employee, "NOT_FOUND", "receiptId"),
        (own_receipt, "garbage", employee, "NOT_FOUND", "expenseId"),
        ("garbage", own_expense, employee, "NOT_FOUND", "receiptId"),
        (own_receipt, encode_id("Member", 1), employee, "NOT_FOUND", "expenseId"),
        # the manager sees the team's expense but only its spender (or finance) matches it
        (managers_receipt, own_expense, shop.as_("manager"), "FORBIDDEN", "expenseId"),
    ]  # fmt: skip
    for receipt, expense, actor, code, field in denied:
        payload = await _attach(shop, receipt, expense, actor)
        assert payload["receipt"] is None
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, field)], (
            receipt,
            expense,
        )
    assert await shop.event_count() == events
    assert await shop.receipt_rows() == rows

    own = {"receiptId": own_receipt, "expenseId": own_expense}
    for as_, code in ((None, "UNAUTHENTICATED"), (shop.keys["reader"], "FORBIDDEN")):
        response = await gql_raw(shop.client, ATTACH, own, as_=as_)
        assert codes(response.json()) == [code]
    response = await gql_raw(shop.client, ATTACH, own, as_=shop.keys["other_writer"])
    assert error_codes(response.json()["data"]["attachReceipt"]) == ["NOT_FOUND"]
    assert await shop.event_count() == events

    # finance matches anyone's receipt to anyone's expense; API keys too (no actor)
    assert (await _attach(shop, others_receipt, own_expense, shop.as_("finance")))[
        "userErrors"
    ] == []
    keyed = await _attach(shop, own_receipt, others_expense, shop.keys["writer"])
    assert keyed["userErrors"] == []
    event = (await _expense(shop, others_expense))["events"][-1]
    assert (event["action"], event["actor"]) == ("RECEIPT_ATTACHED", None)


async def test_who_may_detach(shop: Shop) -> None:
    employee = shop.as_("employee")
    receipt, expense = await _unmatched(shop), await new_expense(shop.client, employee)
    await _attach(shop, receipt, expense, employee)
    events = await shop.event_count()
    # employee2 cannot see it; the manager sees it but may not change the employee's expense
    assert error_codes(await _detach(shop, receipt, shop.as_("employee2"))) == ["NOT_FOUND"]
    assert error_codes(await _detach(shop, receipt, shop.as_("manager"))) == ["FORBIDDEN"]
    response = await gql_raw(shop.client, DETACH, {"receiptId": receipt}, as_=shop.keys["reader"])
    assert codes(response.json()) == ["FORBIDDEN"]
    assert await shop.event_count() == events
    assert (await _expense(shop, expense))["receipts"] == [{"id": receipt}]

    # the uploader sees the receipt but not the expense finance attached it to
    upload_only = await _unmatched(shop)
    others_expense = await new_expense(shop.client, shop.as_("employee2"))
    await _attach(shop, upload_only, others_expense, shop.as_("finance"))
    refused = await _detach(shop, upload_only, employee)
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [("FORBIDDEN", "receiptId")]
    assert (await _detach(shop, upload_only, shop.as_("employee2")))["userErrors"] == []
