"""Category mutations: createCategory, updateCategory, archiveCategory, upsertCategories.

Built on a business of this module's own plus a rival for cross-tenant checks. Every test
makes its own categories with unique names and codes, so the tests do not depend on each
other's order; refused calls also check that no category and no audit event changed.
"""

from typing import Any

import pytest

from resolvers.ids import encode_id
from tests.conftest import gql
from tests.graphql.mutations_catalog.org import (
    CATALOG_MATRIX,
    CATEGORY,
    ERRORS,
    UNKNOWN,
    UPSERT,
    at_once,
    attempt,
    audit_trail,
    call,
    call_unknown,
    category_census,
    cgid,
    check_last_actor,
    key_id,
    new_category,
    org_fixture,
    problems,
    rule_errors,
    scalar,
    stored_category,
    tag,
)

CREATE = f"mutation($input: CreateCategoryInput!) {{ p: createCategory(input: $input) {{ category {{ {CATEGORY} }} {ERRORS} }} }}"  # fmt: skip
UPDATE = f"mutation($id: ID!, $input: UpdateCategoryInput!) {{ p: updateCategory(id: $id, input: $input) {{ category {{ {CATEGORY} }} {ERRORS} }} }}"  # fmt: skip
ARCHIVE = f"mutation($id: ID!) {{ p: archiveCategory(id: $id) {{ category {{ {CATEGORY} }} {ERRORS} }} }}"  # fmt: skip
EXPENSE_CREATE = (
    "mutation($input: CreateExpenseInput!) { p: createExpense(input: $input)"
    f" {{ expense {{ id category {{ id }} }} {ERRORS} }} }}"
)
EXPENSE_UPDATE = (
    "mutation($id: ID!, $input: UpdateExpenseInput!) { p: updateExpense(id: $id, input: $input)"
    f" {{ expense {{ id category {{ id }} }} {ERRORS} }} }}"
)


org = org_fixture("Catco", 31)


# --- createCategory ---


async def test_create_a_category(client, engine, org):
    name, code = f"Travel {tag()}", f"GL-{tag()}"
    payload = await call(client, CREATE, org.credential("finance"),
                         input={"name": f"  {name} ", "glCode": code})  # fmt: skip
    assert payload["userErrors"] == []
    category = payload["category"]
    assert (category["name"], category["glCode"], category["archivedAt"]) == (name, code, None)
    id_ = int(await scalar(engine, "SELECT id FROM categories WHERE name = :n", n=name))
    assert category["id"] == cgid(id_)
    assert await stored_category(engine, id_) == (name, code, False)
    assert await audit_trail(engine, org.biz, "Category", id_) == [
        ("CREATED", org.biz.members["finance"], None, {"name": name, "glCode": code})
    ]


async def test_a_category_needs_no_gl_code(client, engine, org):
    name = f"Sundries {tag()}"
    payload = await call(client, CREATE, org.credential("admin"), input={"name": name})
    assert payload["userErrors"] == []
    assert payload["category"]["glCode"] is None


@pytest.mark.parametrize(
    ("name", "gl_code", "expected"),
    [
        ("", None, ("name", "INVALID_VALUE")),
        ("   ", "X1", ("name", "INVALID_VALUE")),
        ("x" * 201, None, ("name", "INVALID_VALUE")),
        ("Fine", "  ", ("glCode", "INVALID_VALUE")),
        ("Fine", "9" * 51, ("glCode", "INVALID_VALUE")),
        ("Travel", None, ("name", "DUPLICATE")),  # the business's own "Travel"
        ("Fine", "6100", ("glCode", "DUPLICATE")),  # Travel's GL code
    ],
)
async def test_invalid_categories_change_nothing(client, engine, org, name, gl_code, expected):
    input_ = {"name": name, "glCode": gl_code}
    found = await rule_errors(
        client, engine, org, category_census, CREATE, "category", input=input_
    )
    assert found == [expected]


async def test_an_archived_category_keeps_its_name_and_code(client, engine, org):
    name, code = f"Old {tag()}", tag()
    await new_category(engine, org, name, code, archived=True)
    for input_, field in (({"name": name}, "name"), ({"name": tag(), "glCode": code}, "glCode")):
        payload = await call(client, CREATE, org.credential("admin"), input=input_)
        assert problems(payload, "category") == [(field, "DUPLICATE")]
        assert "archived" in payload["userErrors"][0]["message"]


async def test_a_refused_create_leaves_the_request_usable(client, engine, org):
    """The unique violation rolls back its own savepoint only: the sibling mutation stays."""
    name = f"Twice {tag()}"
    query = (
        "mutation($name: String!) {"
        f" a: createCategory(input: {{name: $name}}) {{ category {{ name }} {ERRORS} }}"
        f" b: createCategory(input: {{name: $name}}) {{ category {{ name }} {ERRORS} }} }}"
    )
    data = await gql(client, query, {"name": name}, as_=org.credential("admin"))
    assert data["a"] == {"category": {"name": name}, "userErrors": []}
    assert data["b"]["category"] is None
    assert [e["code"] for e in data["b"]["userErrors"]] == ["DUPLICATE"]
    assert await scalar(engine, "SELECT count(*) FROM categories WHERE name = :n", n=name) == 1


def _overlapped(sql: list[str]) -> bool:
    """Return True when both inserts were sent before either request committed its savepoint."""
    kinds = ["insert" if q.startswith("INSERT INTO categories") else q.split()[0] for q in sql]
    return "RELEASE" in kinds and kinds[: kinds.index("RELEASE")].count("insert") == 2


async def test_two_creates_of_one_name_at_once_one_wins(client, engine, statements, org):
    overlaps = 0
    for _ in range(5):
        name = f"Race {tag()}"
        statements.reset()
        payloads = await at_once(client, CREATE, org, [
            (who, {"input": {"name": name, "glCode": tag()}}) for who in ("admin", "finance")
        ])  # fmt: skip
        outcomes = sorted(tuple(e["code"] for e in p["userErrors"]) for p in payloads)
        assert outcomes == [(), ("DUPLICATE",)]
        overlaps += _overlapped(statements.statements)
        assert await scalar(engine, "SELECT count(*) FROM categories WHERE name = :n", n=name) == 1
    assert overlaps, "the requests never raced: the test proved nothing"


# --- who may: every mutation, every kind of caller ---

MATRIX = CATALOG_MATRIX


def _matrix_case(mutation: str, id_: int) -> tuple[str, dict[str, Any]]:
    """Return the query and variables of ``mutation`` (the category ``id_`` where it takes one)."""
    cases: dict[str, tuple[str, dict[str, Any]]] = {
        "create": (CREATE, {"input": {"name": f"New {tag()}"}}),
        "update": (UPDATE, {"id": cgid(id_), "input": {"name": f"Renamed {tag()}"}}),
        "archive": (ARCHIVE, {"id": cgid(id_)}),
        "upsert": (UPSERT, {"input": [{"glCode": tag(), "name": f"Pushed {tag()}"}]}),
    }
    return cases[mutation]


@pytest.mark.parametrize("mutation", ["create", "update", "archive", "upsert"])
@pytest.mark.parametrize("who", list(MATRIX))
async def test_who_may_manage_categories(client, engine, org, who, mutation):
    before = await category_census(engine, org)
    id_ = await new_category(engine, org, f"Matrix {tag()}", tag())
    query, variables = _matrix_case(mutation, id_)
    key = "categories" if mutation == "upsert" else "category"
    if await attempt(client, query, org, who, MATRIX[who], key, **variables) is not None:
        await check_last_actor(engine, org, "Category", who)
        return
    after = await category_census(engine, org)
    assert [r for r in after[0] if r.id != id_] == [r for r in before[0]]
    assert after[1] == before[1]


@pytest.mark.parametrize("query", [UPDATE, ARCHIVE])
@pytest.mark.parametrize("which", UNKNOWN)
async def test_unknown_categories_are_not_found(client, engine, org, query, which):
    before = await category_census(engine, org)
    payload = await call_unknown(
        client, org, query, which, "Category",
        another_type=encode_id("Expense", org.biz.expense_ids[0]),
        other_business=org.other.categories["Travel"],
        input_={"name": "Hijacked"} if query is UPDATE else None,
    )  # fmt: skip
    assert problems(payload, "category") == [("id", "NOT_FOUND")]
    assert payload["userErrors"][0]["message"] == "No category with that id."
    assert await stored_category(engine, org.other.categories["Travel"]) == (
        "Travel",
        "6100",
        False,
    )
    assert await category_census(engine, org) == before


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
