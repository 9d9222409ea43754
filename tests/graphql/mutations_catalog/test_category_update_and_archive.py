"""updateCategory, archiveCategory, and expenses refusing an archived category."""

import pytest

from tests.conftest import gql
from tests.graphql.mutations_catalog.helpers_calls import ERRORS, call, problems, rule_errors
from tests.graphql.mutations_catalog.helpers_categories import (
    ARCHIVE,
    UPDATE,
    category_census,
    cgid,
    new_category,
    stored_category,
)
from tests.graphql.mutations_catalog.helpers_orgs import tag
from tests.graphql.mutations_catalog.helpers_records import audit_trail, key_id, scalar

EXPENSE_CREATE = (
    "mutation($input: CreateExpenseInput!) { p: createExpense(input: $input)"
    f" {{ expense {{ id category {{ id }} }} {ERRORS} }} }}"
)
EXPENSE_UPDATE = (
    "mutation($id: ID!, $input: UpdateExpenseInput!) { p: updateExpense(id: $id, input: $input)"
    f" {{ expense {{ id category {{ id }} }} {ERRORS} }} }}"
)


# --- updateCategory ---


async def test_update_renames_and_recodes(client, engine, org):
    id_ = await new_category(engine, org, f"Before {tag()}", "OLD-1" + tag())
    old_name, old_code, _ = await stored_category(engine, id_)
    name, code = f"After {tag()}", f"NEW-{tag()}"
    payload = await call(client, UPDATE, org.credential("key:admin"), id=cgid(id_),
                         input={"name": name, "glCode": code})  # fmt: skip
    assert payload["userErrors"] == []
    assert (payload["category"]["name"], payload["category"]["glCode"]) == (name, code)
    assert await stored_category(engine, id_) == (name, code, False)
    (event,) = await audit_trail(engine, org.biz, "Category", id_)
    assert event == (
        "UPDATED", None, await key_id(engine, org.biz, "admin"),
        {"before": {"name": old_name, "glCode": old_code}, "after": {"name": name, "glCode": code}},
    )  # fmt: skip


async def test_update_keeps_what_is_left_out_and_null_removes_the_code(client, engine, org):
    name = f"Keep {tag()}"
    id_ = await new_category(engine, org, name, tag())
    _, code, _ = await stored_category(engine, id_)
    payload = await call(client, UPDATE, org.credential("admin"), id=cgid(id_), input={})
    assert payload["userErrors"] == []
    assert await stored_category(engine, id_) == (name, code, False)
    assert await audit_trail(engine, org.biz, "Category", id_) == []  # nothing changed
    payload = await call(client, UPDATE, org.credential("admin"), id=cgid(id_),
                         input={"glCode": None})  # fmt: skip
    assert payload["category"]["glCode"] is None
    assert await stored_category(engine, id_) == (name, None, False)


@pytest.mark.parametrize(
    ("input_", "expected"),
    [
        ({"name": ""}, ("name", "INVALID_VALUE")),
        ({"glCode": ""}, ("glCode", "INVALID_VALUE")),
        ({"name": "Meals"}, ("name", "DUPLICATE")),
        ({"glCode": "6300"}, ("glCode", "DUPLICATE")),
    ],
)
async def test_invalid_updates_change_nothing(client, engine, org, input_, expected):
    id_ = await new_category(engine, org, f"Stay {tag()}", tag())
    found = await rule_errors(
        client, engine, org, category_census, UPDATE, "category", id=cgid(id_), input=input_
    )
    assert found == [expected]


async def test_an_archived_category_can_be_renamed_and_stays_archived(client, engine, org):
    id_ = await new_category(engine, org, f"Gone {tag()}", tag(), archived=True)
    name = f"Gone (old) {tag()}"
    payload = await call(
        client, UPDATE, org.credential("admin"), id=cgid(id_), input={"name": name}
    )
    assert payload["userErrors"] == []
    assert payload["category"]["archivedAt"] is not None
    assert (await stored_category(engine, id_))[::2] == (name, True)


# --- archiveCategory, and expenses refusing an archived category ---


async def test_archive_a_category(client, engine, org):
    id_ = await new_category(engine, org, f"Retire {tag()}", tag())
    payload = await call(client, ARCHIVE, org.credential("finance"), id=cgid(id_))
    assert payload["userErrors"] == []
    assert payload["category"]["archivedAt"] is not None
    assert (await stored_category(engine, id_))[2] is True
    assert await audit_trail(engine, org.biz, "Category", id_) == [
        ("ARCHIVED", org.biz.members["finance"], None, {})
    ]
    # still listed (history), with its archivedAt
    data = await gql(client, "query($id: ID!) { node(id: $id) { ... on Category { archivedAt } } }",
                     {"id": cgid(id_)}, as_=org.credential("employee"))  # fmt: skip
    assert data["node"]["archivedAt"] == payload["category"]["archivedAt"]
    before = await category_census(engine, org)
    again = await call(client, ARCHIVE, org.credential("finance"), id=cgid(id_))
    assert problems(again, "category") == [("id", "INVALID_TRANSITION")]
    assert await category_census(engine, org) == before


async def test_expenses_cannot_take_an_archived_category(client, engine, org):
    id_ = await new_category(engine, org, f"Closed {tag()}", tag(), archived=True)
    spend = {"amount": {"amount": "12.50", "currency": "GBP"}, "spentAt": "2026-05-01T10:00:00Z",
             "merchantName": "Archived Cafe"}  # fmt: skip
    expenses_before = await scalar(
        engine, "SELECT count(*) FROM expenses WHERE business_id = :b", b=org.biz.id
    )
    payload = await call(client, EXPENSE_CREATE, org.credential("employee"),
                         input={**spend, "categoryId": cgid(id_)})  # fmt: skip
    assert problems(payload, "expense") == [("categoryId", "CATEGORY_ARCHIVED")]
    assert (
        await scalar(engine, "SELECT count(*) FROM expenses WHERE business_id = :b", b=org.biz.id)
        == expenses_before
    )
    draft = await call(client, EXPENSE_CREATE, org.credential("employee"), input=spend)
    assert draft["userErrors"] == []
    payload = await call(client, EXPENSE_UPDATE, org.credential("employee"),
                         id=draft["expense"]["id"], input={"categoryId": cgid(id_)})  # fmt: skip
    assert problems(payload, "expense") == [("categoryId", "CATEGORY_ARCHIVED")]


async def test_expenses_keep_a_category_archived_after_them(client, engine, org):
    id_ = await new_category(engine, org, f"Kept {tag()}", tag())
    spend = {"amount": {"amount": "3", "currency": "GBP"}, "spentAt": "2026-05-02T10:00:00Z",
             "merchantName": "Kiosk", "categoryId": cgid(id_)}  # fmt: skip
    draft = await call(client, EXPENSE_CREATE, org.credential("employee"), input=spend)
    assert draft["userErrors"] == []
    await call(client, ARCHIVE, org.credential("admin"), id=cgid(id_))
    query = "query($id: ID!) { node(id: $id) { ... on Expense { category { id archivedAt } } } }"
    data = await gql(client, query, {"id": draft["expense"]["id"]}, as_=org.credential("employee"))
    assert data["node"]["category"]["id"] == cgid(id_)
    assert data["node"]["category"]["archivedAt"] is not None
    # editing the expense without touching its category is still allowed
    payload = await call(client, EXPENSE_UPDATE, org.credential("employee"),
                         id=draft["expense"]["id"], input={"description": "kiosk"})  # fmt: skip
    assert payload["userErrors"] == []


async def test_archive_then_create_expense_in_one_request(client, engine, org):
    id_ = await new_category(engine, org, f"Same request {tag()}", tag())
    query = (
        "mutation($id: ID!, $input: CreateExpenseInput!) {"
        f" a: archiveCategory(id: $id) {{ {ERRORS} }}"
        f" b: createExpense(input: $input) {{ expense {{ id }} {ERRORS} }} }}"
    )
    spend = {"amount": {"amount": "3", "currency": "GBP"}, "spentAt": "2026-05-02T10:00:00Z",
             "merchantName": "Kiosk", "categoryId": cgid(id_)}  # fmt: skip
    data = await gql(client, query, {"id": cgid(id_), "input": spend}, as_=org.credential("admin"))
    assert data["a"]["userErrors"] == []
    assert [e["code"] for e in data["b"]["userErrors"]] == ["CATEGORY_ARCHIVED"]
