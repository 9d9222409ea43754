"""The receipts to chase: expenses a policy wants a receipt for and that have none.

The `receiptMissing` filter must agree, expense for expense, with the `receiptMissing`
field (computed from the policies in Python), for `expenses` and for `spendSummary`.
"""

from tests.conftest import gql, token

PAGE = "query($f: ExpenseFilter) { expenses(first: 100, filter: $f) { totalCount nodes { id receiptMissing } } }"  # fmt: skip
SUMMARY = "query($f: ExpenseFilter) { spendSummary(groupBy: [], filter: $f) { count } }"


async def test_the_filter_agrees_with_the_field(client, world) -> None:
    admin = token(world.a, "admin")
    everything = (await gql(client, PAGE, as_=admin))["expenses"]
    assert everything["totalCount"] <= 100  # one page holds them all
    wanted = {n["id"] for n in everything["nodes"] if n["receiptMissing"]}
    assert wanted and len(wanted) < everything["totalCount"]  # the world has both kinds
    missing = (await gql(client, PAGE, {"f": {"receiptMissing": True}}, as_=admin))["expenses"]
    present = (await gql(client, PAGE, {"f": {"receiptMissing": False}}, as_=admin))["expenses"]
    assert {n["id"] for n in missing["nodes"]} == wanted
    assert all(not n["receiptMissing"] for n in present["nodes"])
    assert missing["totalCount"] + present["totalCount"] == everything["totalCount"]
    summary = await gql(client, SUMMARY, {"f": {"receiptMissing": True}}, as_=admin)
    assert summary["spendSummary"][0]["count"] == len(wanted)


async def test_an_employee_chases_only_their_own(client, world) -> None:
    employee = token(world.a, "employee")
    mine = (await gql(client, PAGE, {"f": {"receiptMissing": True}}, as_=employee))["expenses"]
    assert all(n["receiptMissing"] for n in mine["nodes"])
    everyone = await gql(client, PAGE, {"f": {"receiptMissing": True}}, as_=token(world.a, "admin"))
    assert mine["totalCount"] <= everyone["expenses"]["totalCount"]
