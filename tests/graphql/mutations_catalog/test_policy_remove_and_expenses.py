"""removePolicy, and expenses checked against the policies as they change."""

from resolvers.ids import encode_id
from tests.conftest import gql
from tests.graphql.mutations_catalog.helpers_calls import ERRORS, call, problems
from tests.graphql.mutations_catalog.helpers_orgs import tag
from tests.graphql.mutations_catalog.helpers_policies import (
    LIST,
    REMOVE,
    SET,
    gbp,
    live_category,
    new_policy,
    pgid,
    policy_census,
    stored,
)
from tests.graphql.mutations_catalog.helpers_records import audit_trail, scalar

CREATE_EXPENSE = f"mutation($input: CreateExpenseInput!) {{ p: createExpense(input: $input) {{ expense {{ id }} {ERRORS} }} }}"  # fmt: skip


async def test_remove_a_policy(client, engine, org):
    name = f"Short-lived {tag()}"
    id_ = await new_policy(client, org, name=name)
    listed = await gql(client, LIST, as_=org.credential("employee"))
    assert name in [p["name"] for p in listed["viewer"]["business"]["policies"]]
    payload = await call(client, REMOVE, org.credential("finance"), id=pgid(id_))
    assert payload["userErrors"] == []
    assert payload["policy"]["active"] is False
    assert (await stored(engine, id_))[4] is False
    assert [a for a, *_ in await audit_trail(engine, org.biz, "Policy", id_)] == [
        "CREATED",
        "REMOVED",
    ]
    listed = await gql(client, LIST, as_=org.credential("employee"))
    assert name not in [p["name"] for p in listed["viewer"]["business"]["policies"]]
    before = await policy_census(engine, org)
    for query, variables in (
        (REMOVE, {"id": pgid(id_)}),
        (SET, {"input": {"id": pgid(id_), "name": name, "maxAmount": gbp("9")}}),
    ):
        payload = await call(client, query, org.credential("finance"), **variables)
        assert problems(payload, "policy") == [("id", "INVALID_TRANSITION")]
    assert await policy_census(engine, org) == before


async def test_expenses_are_checked_against_a_policy_from_the_next_read_on(client, engine, org):
    meals = org.biz.categories["Meals"]
    expense = await scalar(
        engine, "SELECT min(id) FROM expenses WHERE business_id = :b AND category_id = :c"
        " AND home_amount_minor > 100 AND deleted_at IS NULL", b=org.biz.id, c=meals,
    )  # fmt: skip
    name = f"Meals cap {tag()}"
    read = "query($id: ID!) { node(id: $id) { ... on Expense { policyViolations { code policyName } } } }"
    variables = {"id": encode_id("Expense", expense)}
    data = await gql(client, read, variables, as_=org.credential("admin"))
    assert name not in [v["policyName"] for v in data["node"]["policyViolations"]]
    input_ = {"name": name, "categoryId": encode_id("Category", meals), "maxAmount": gbp("1")}
    payload = await call(client, SET, org.credential("admin"), input=input_)
    data = await gql(client, read, variables, as_=org.credential("admin"))
    assert {"code": "AMOUNT_OVER_LIMIT", "policyName": name} in data["node"]["policyViolations"]
    await call(client, REMOVE, org.credential("admin"), id=payload["policy"]["id"])
    data = await gql(client, read, variables, as_=org.credential("admin"))
    assert name not in [v["policyName"] for v in data["node"]["policyViolations"]]


async def test_a_submission_in_the_same_request_is_checked_against_the_new_policy(
    client, engine, org
):
    category = await live_category(engine, org)
    draft = await call(client, CREATE_EXPENSE, org.credential("admin"), input={
        "amount": gbp("20"), "spentAt": "2026-05-03T09:00:00Z", "merchantName": "Printer",
        "categoryId": encode_id("Category", category),
    })  # fmt: skip
    assert draft["userErrors"] == []
    name = f"Receipts always {tag()}"
    query = (
        "mutation($id: ID!, $input: SetPolicyInput!) {"
        ' a: updateExpense(id: $id, input: {description: "toner"}) { expense { policyViolations { policyName } } }'
        f" p: setPolicy(input: $input) {{ policy {{ id }} {ERRORS} }}"
        f" b: submitExpense(id: $id) {{ expense {{ status }} {ERRORS} }} }}"
    )
    input_ = {"name": name, "categoryId": encode_id("Category", category),
              "receiptRequiredAbove": gbp("0")}  # fmt: skip
    data = await gql(client, query, {"id": draft["expense"]["id"], "input": input_},
                     as_=org.credential("admin"))  # fmt: skip
    # the policies were loaded before the change, and the submission still sees it
    assert name not in [v["policyName"] for v in data["a"]["expense"]["policyViolations"]]
    assert data["p"]["userErrors"] == []
    assert [e["code"] for e in data["b"]["userErrors"]] == ["RECEIPT_REQUIRED"]
    assert name in data["b"]["userErrors"][0]["message"]
    await call(client, REMOVE, org.credential("admin"), id=data["p"]["policy"]["id"])
