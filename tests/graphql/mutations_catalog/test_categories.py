"""Category mutations: createCategory, updateCategory, archiveCategory, upsertCategories.

Built on a business of this module's own plus a rival for cross-tenant checks. Every test
makes its own categories with unique names and codes, so the tests do not depend on each
other's order; refused calls also check that no category and no audit event changed.
"""

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables import categories
from resolvers.ids import encode_id
from tests.conftest import gql, gql_raw
from tests.graphql.mutations_catalog.org import (
    ERRORS,
    Org,
    actor,
    audit_count,
    audit_trail,
    build_org,
    call,
    key_id,
    problems,
    refused,
    rows,
    scalar,
)

CATEGORY = "id name glCode archivedAt createdAt"
CREATE = f"mutation($input: CreateCategoryInput!) {{ p: createCategory(input: $input) {{ category {{ {CATEGORY} }} {ERRORS} }} }}"  # fmt: skip
UPDATE = f"mutation($id: ID!, $input: UpdateCategoryInput!) {{ p: updateCategory(id: $id, input: $input) {{ category {{ {CATEGORY} }} {ERRORS} }} }}"  # fmt: skip
ARCHIVE = f"mutation($id: ID!) {{ p: archiveCategory(id: $id) {{ category {{ {CATEGORY} }} {ERRORS} }} }}"  # fmt: skip
UPSERT = f"mutation($input: [CategoryUpsertInput!]!) {{ p: upsertCategories(input: $input) {{ categories {{ {CATEGORY} }} {ERRORS} }} }}"  # fmt: skip
EXPENSE_CREATE = (
    "mutation($input: CreateExpenseInput!) { p: createExpense(input: $input)"
    f" {{ expense {{ id category {{ id }} }} {ERRORS} }} }}"
)
EXPENSE_UPDATE = (
    "mutation($id: ID!, $input: UpdateExpenseInput!) { p: updateExpense(id: $id, input: $input)"
    f" {{ expense {{ id category {{ id }} }} {ERRORS} }} }}"
)


@pytest.fixture(scope="module")
async def org(engine: AsyncEngine) -> Org:
    return await build_org(engine, "Catco", seed=31)


def tag() -> str:
    return uuid.uuid4().hex[:10]


def cgid(category_id: int) -> str:
    return encode_id("Category", category_id)


async def new_category(
    engine: AsyncEngine, org: Org, name: str, gl_code: str | None = None, *, archived: bool = False
) -> int:
    """Insert a category of the module's business; return its row id."""
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(categories)
            .values(business_id=org.biz.id, name=name, gl_code=gl_code,
                    archived_at=text("now()") if archived else None)
            .returning(categories.c.id)
        )  # fmt: skip
        return int(result.scalar_one())


async def stored(engine: AsyncEngine, category_id: int) -> tuple[str, str | None, bool]:
    """Return (name, gl_code, archived) of a category as stored."""
    (row,) = await rows(
        engine, "SELECT name, gl_code, archived_at FROM categories WHERE id = :i", i=category_id
    )
    return row.name, row.gl_code, row.archived_at is not None


async def census(engine: AsyncEngine, org: Org) -> tuple[Any, int]:
    """Return every category of the business as stored, and its number of audit events."""
    categories_ = await rows(
        engine,
        "SELECT id, name, gl_code, archived_at FROM categories WHERE business_id = :b ORDER BY id",
        b=org.biz.id,
    )
    return categories_, await audit_count(engine, org.biz)


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
    assert await stored(engine, id_) == (name, code, False)
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
    before = await census(engine, org)
    payload = await call(client, CREATE, org.credential("admin"),
                         input={"name": name, "glCode": gl_code})  # fmt: skip
    assert problems(payload, "category") == [expected]
    assert await census(engine, org) == before


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
        responses = await asyncio.gather(*(
            gql_raw(client, CREATE, {"input": {"name": name, "glCode": tag()}},
                    as_=org.credential(who))
            for who in ("admin", "finance")
        ))  # fmt: skip
        bodies = [r.json() for r in responses]
        assert all(
            r.status_code == 200 and "errors" not in b
            for r, b in zip(responses, bodies, strict=True)
        )
        outcomes = sorted(tuple(e["code"] for e in b["data"]["p"]["userErrors"]) for b in bodies)
        assert outcomes == [(), ("DUPLICATE",)]
        overlaps += _overlapped(statements.statements)
        assert await scalar(engine, "SELECT count(*) FROM categories WHERE name = :n", n=name) == 1
    assert overlaps, "the requests never raced: the test proved nothing"


async def test_two_upserts_of_one_name_at_once_one_wins(client, engine, org):
    for _ in range(3):
        name = f"Race {tag()}"
        responses = await asyncio.gather(*(
            gql_raw(client, UPSERT, {"input": [{"glCode": tag(), "name": name}]},
                    as_=org.credential(who))
            for who in ("admin", "key:admin")
        ))  # fmt: skip
        bodies = [r.json() for r in responses]
        assert all(
            r.status_code == 200 and "errors" not in b
            for r, b in zip(responses, bodies, strict=True)
        )
        outcomes = sorted(
            tuple((e["field"], e["code"]) for e in b["data"]["p"]["userErrors"]) for b in bodies
        )
        assert outcomes == [(), (("input.0.name", "DUPLICATE"),)]
        assert await scalar(engine, "SELECT count(*) FROM categories WHERE name = :n", n=name) == 1


# --- who may: every mutation, every kind of caller ---

ALLOWED = "allowed"
MATRIX = {
    "admin": ALLOWED,
    "finance": ALLOWED,
    "manager": "FORBIDDEN",
    "employee": "FORBIDDEN",
    "key:admin": ALLOWED,
    "key:write": "top:FORBIDDEN",  # no `admin` scope
    "anonymous": "top:UNAUTHENTICATED",
}


async def _attempt(client, engine, org, mutation: str, who: str) -> tuple[Any, int]:
    """Run ``mutation`` as ``who`` on a fresh category; return (payload or codes, its id)."""
    id_ = await new_category(engine, org, f"Matrix {tag()}", tag())
    query, variables = {
        "create": (CREATE, {"input": {"name": f"New {tag()}"}}),
        "update": (UPDATE, {"id": cgid(id_), "input": {"name": f"Renamed {tag()}"}}),
        "archive": (ARCHIVE, {"id": cgid(id_)}),
        "upsert": (UPSERT, {"input": [{"glCode": tag(), "name": f"Pushed {tag()}"}]}),
    }[mutation]
    if MATRIX[who].startswith("top:"):
        return await refused(client, query, org.credential(who), **variables), id_
    return await call(client, query, org.credential(who), **variables), id_


@pytest.mark.parametrize("mutation", ["create", "update", "archive", "upsert"])
@pytest.mark.parametrize("who", list(MATRIX))
async def test_who_may_manage_categories(client, engine, org, who, mutation):
    before = await census(engine, org)
    result, id_ = await _attempt(client, engine, org, mutation, who)
    expected = MATRIX[who]
    if expected == ALLOWED:
        assert result["userErrors"] == []
        member, key = actor(org, who)
        events = await rows(
            engine, "SELECT actor_member_id, actor_api_key_id FROM audit_events"
            " WHERE business_id = :b AND object_type = 'Category' ORDER BY id DESC LIMIT 1",
            b=org.biz.id,
        )  # fmt: skip
        assert events == [(member, await key_id(engine, org.biz, key) if key else None)]
        return
    if expected.startswith("top:"):
        assert result == [expected[4:]]
    else:
        key = "categories" if mutation == "upsert" else "category"
        assert problems(result, key) == [(None, expected)]
    after = await census(engine, org)
    assert [r for r in after[0] if r.id != id_] == [r for r in before[0]]
    assert after[1] == before[1]


def _foreign_ids(org: Org) -> dict[str, str]:
    return {
        "never used": cgid(999_999_999),
        "malformed": "not-an-id",
        "an expense": encode_id("Expense", org.biz.expense_ids[0]),
        "other business": cgid(org.other.categories["Travel"]),
    }


@pytest.mark.parametrize("query", [UPDATE, ARCHIVE])
@pytest.mark.parametrize("which", ["never used", "malformed", "an expense", "other business"])
async def test_unknown_categories_are_not_found(client, engine, org, query, which):
    variables: dict[str, Any] = {"id": _foreign_ids(org)[which]}
    if query is UPDATE:
        variables["input"] = {"name": "Hijacked"}
    before = await census(engine, org)
    payload = await call(client, query, org.credential("admin"), **variables)
    assert problems(payload, "category") == [("id", "NOT_FOUND")]
    assert payload["userErrors"][0]["message"] == "No category with that id."
    assert await stored(engine, org.other.categories["Travel"]) == ("Travel", "6100", False)
    assert await census(engine, org) == before


# --- updateCategory ---


async def test_update_renames_and_recodes(client, engine, org):
    id_ = await new_category(engine, org, f"Before {tag()}", "OLD-1" + tag())
    old_name, old_code, _ = await stored(engine, id_)
    name, code = f"After {tag()}", f"NEW-{tag()}"
    payload = await call(client, UPDATE, org.credential("key:admin"), id=cgid(id_),
                         input={"name": name, "glCode": code})  # fmt: skip
    assert payload["userErrors"] == []
    assert (payload["category"]["name"], payload["category"]["glCode"]) == (name, code)
    assert await stored(engine, id_) == (name, code, False)
    (event,) = await audit_trail(engine, org.biz, "Category", id_)
    assert event == (
        "UPDATED", None, await key_id(engine, org.biz, "admin"),
        {"before": {"name": old_name, "glCode": old_code}, "after": {"name": name, "glCode": code}},
    )  # fmt: skip


async def test_update_keeps_what_is_left_out_and_null_removes_the_code(client, engine, org):
    name = f"Keep {tag()}"
    id_ = await new_category(engine, org, name, tag())
    _, code, _ = await stored(engine, id_)
    payload = await call(client, UPDATE, org.credential("admin"), id=cgid(id_), input={})
    assert payload["userErrors"] == []
    assert await stored(engine, id_) == (name, code, False)
    assert await audit_trail(engine, org.biz, "Category", id_) == []  # nothing changed
    payload = await call(client, UPDATE, org.credential("admin"), id=cgid(id_),
                         input={"glCode": None})  # fmt: skip
    assert payload["category"]["glCode"] is None
    assert await stored(engine, id_) == (name, None, False)


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
    before = await census(engine, org)
    payload = await call(client, UPDATE, org.credential("admin"), id=cgid(id_), input=input_)
    assert problems(payload, "category") == [expected]
    assert await census(engine, org) == before


async def test_an_archived_category_can_be_renamed_and_stays_archived(client, engine, org):
    id_ = await new_category(engine, org, f"Gone {tag()}", tag(), archived=True)
    name = f"Gone (old) {tag()}"
    payload = await call(
        client, UPDATE, org.credential("admin"), id=cgid(id_), input={"name": name}
    )
    assert payload["userErrors"] == []
    assert payload["category"]["archivedAt"] is not None
    assert (await stored(engine, id_))[::2] == (name, True)


# --- archiveCategory, and expenses refusing an archived category ---


async def test_archive_a_category(client, engine, org):
    id_ = await new_category(engine, org, f"Retire {tag()}", tag())
    payload = await call(client, ARCHIVE, org.credential("finance"), id=cgid(id_))
    assert payload["userErrors"] == []
    assert payload["category"]["archivedAt"] is not None
    assert (await stored(engine, id_))[2] is True
    assert await audit_trail(engine, org.biz, "Category", id_) == [
        ("ARCHIVED", org.biz.members["finance"], None, {})
    ]
    # still listed (history), with its archivedAt
    data = await gql(client, "query($id: ID!) { node(id: $id) { ... on Category { archivedAt } } }",
                     {"id": cgid(id_)}, as_=org.credential("employee"))  # fmt: skip
    assert data["node"]["archivedAt"] == payload["category"]["archivedAt"]
    before = await census(engine, org)
    again = await call(client, ARCHIVE, org.credential("finance"), id=cgid(id_))
    assert problems(again, "category") == [("id", "INVALID_TRANSITION")]
    assert await census(engine, org) == before


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


# --- upsertCategories ---


async def test_upsert_creates_renames_and_unarchives_by_gl_code(client, engine, org):
    t = tag()
    renamed = await new_category(engine, org, f"A {t}", f"A-{t}")
    revived = await new_category(engine, org, f"B {t}", f"B-{t}", archived=True)
    same = await new_category(engine, org, f"C {t}", f"C-{t}")
    push = [
        {"glCode": f"D-{t}", "name": f"D {t}"},
        {"glCode": f"A-{t}", "name": f"A renamed {t}"},
        {"glCode": f" B-{t} ", "name": f"B {t}"},
        {"glCode": f"C-{t}", "name": f"C {t}"},
    ]
    payload = await call(client, UPSERT, org.credential("key:admin"), input=push)
    assert payload["userErrors"] == []
    got = [(c["glCode"], c["name"], c["archivedAt"]) for c in payload["categories"]]
    assert got == [(p["glCode"].strip(), p["name"], None) for p in push]
    created = int(await scalar(engine, "SELECT id FROM categories WHERE gl_code = :c", c=f"D-{t}"))
    assert [c["id"] for c in payload["categories"]] == [
        cgid(i) for i in (created, renamed, revived, same)
    ]
    assert await stored(engine, created) == (f"D {t}", f"D-{t}", False)
    assert await stored(engine, renamed) == (f"A renamed {t}", f"A-{t}", False)
    assert await stored(engine, revived) == (f"B {t}", f"B-{t}", False)
    key = await key_id(engine, org.biz, "admin")
    via = {"via": "upsertCategories"}
    assert await audit_trail(engine, org.biz, "Category", created) == [
        ("CREATED", None, key, {"name": f"D {t}", "glCode": f"D-{t}", **via})
    ]
    assert await audit_trail(engine, org.biz, "Category", renamed) == [
        ("UPDATED", None, key, {"name": f"A renamed {t}", "glCode": f"A-{t}", "previousName": f"A {t}", **via})
    ]  # fmt: skip
    assert await audit_trail(engine, org.biz, "Category", revived) == [
        ("UPDATED", None, key, {"name": f"B {t}", "glCode": f"B-{t}", "unarchived": True, **via})
    ]
    assert await audit_trail(engine, org.biz, "Category", same) == []  # unchanged: not written


async def test_pushing_the_same_chart_twice_changes_nothing_the_second_time(client, engine, org):
    t = tag()
    push = [{"glCode": f"{n}-{t}", "name": f"Account {n} {t}"} for n in range(5)]
    first = await call(client, UPSERT, org.credential("admin"), input=push)
    before = await census(engine, org)
    second = await call(client, UPSERT, org.credential("admin"), input=push)
    assert second == first
    assert await census(engine, org) == before


def _bad_pushes(t: str) -> dict[str, tuple[list[dict[str, str]], list[tuple[str, str]]]]:
    ok = {"glCode": f"OK-{t}", "name": f"Ok {t}"}
    return {
        "a code twice": (
            [ok, {"glCode": f"X-{t}", "name": f"X {t}"}, {"glCode": f"X-{t}", "name": f"Y {t}"}],
            [("input.2.glCode", "DUPLICATE")],
        ),
        "a name twice": (
            [{"glCode": f"X-{t}", "name": f"X {t}"}, ok, {"glCode": f"Y-{t}", "name": f"X {t}"}],
            [("input.2.name", "DUPLICATE")],
        ),
        "an empty code": ([ok, {"glCode": "  ", "name": f"X {t}"}], [("input.1.glCode", "INVALID_VALUE")]),
        "an empty name": ([{"glCode": f"X-{t}", "name": ""}, ok], [("input.0.name", "INVALID_VALUE")]),
        "a name held by another code": (
            [ok, {"glCode": f"X-{t}", "name": "Meals"}], [("input.1.name", "DUPLICATE")]
        ),
        "a swap of two names": (
            [{"glCode": "6100", "name": "Meals"}, {"glCode": "6200", "name": "Travel"}],
            [("input.0.name", "DUPLICATE"), ("input.1.name", "DUPLICATE")],
        ),
        "every problem at once": (
            [{"glCode": "", "name": ""}, ok, {"glCode": f"OK-{t}", "name": "Software"}],
            [("input.0.glCode", "INVALID_VALUE"), ("input.0.name", "INVALID_VALUE"),
             ("input.2.glCode", "DUPLICATE")],
        ),
    }  # fmt: skip


@pytest.mark.parametrize(
    "case",
    ["a code twice", "a name twice", "an empty code", "an empty name",
     "a name held by another code", "a swap of two names", "every problem at once"],
)  # fmt: skip
async def test_a_bad_push_writes_nothing(client, engine, org, case):
    push, expected = _bad_pushes(tag())[case]
    before = await census(engine, org)
    payload = await call(client, UPSERT, org.credential("admin"), input=push)
    assert problems(payload, "categories") == expected
    assert await census(engine, org) == before


def _chart(n: int) -> list[dict[str, str]]:
    t = tag()
    return [{"glCode": f"{t}-{k:03d}", "name": f"Account {k} {t}"} for k in range(n)]


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        ({"glCode": ""}, ("input.499.glCode", "INVALID_VALUE")),
        ({"name": "Travel"}, ("input.499.name", "DUPLICATE")),  # found in the database
        ({"glCode": "same"}, ("input.499.glCode", "DUPLICATE")),  # same as item 0
    ],
)
async def test_a_bad_item_at_index_499_leaves_nothing_written(client, engine, org, spoil, expected):
    push = _chart(500)
    if spoil.get("glCode") == "same":
        spoil = {"glCode": push[0]["glCode"]}
    push[499] |= spoil
    before = await census(engine, org)
    payload = await call(client, UPSERT, org.credential("admin"), input=push)
    assert problems(payload, "categories") == [expected]
    assert await census(engine, org) == before


async def test_more_than_500_items_are_refused(client, engine, org):
    before = await census(engine, org)
    payload = await call(client, UPSERT, org.credential("admin"), input=_chart(501))
    assert problems(payload, "categories") == [("input", "INVALID_VALUE")]
    assert await census(engine, org) == before


async def test_an_empty_push_is_a_no_op(client, engine, org):
    before = await census(engine, org)
    payload = await call(client, UPSERT, org.credential("admin"), input=[])
    assert payload == {"categories": [], "userErrors": []}
    assert await census(engine, org) == before


async def test_upsert_costs_the_same_statements_for_1_and_500_items(
    client, engine, statements, org
):
    counts = []
    for n in (1, 500):
        push = _chart(n)
        statements.reset()
        payload = await call(client, UPSERT, org.credential("admin"), input=push)
        counts.append(len(statements.statements))
        assert payload["userErrors"] == []
        assert [c["glCode"] for c in payload["categories"]] == [p["glCode"] for p in push]
        written = await scalar(
            engine, "SELECT count(*) FROM categories WHERE business_id = :b AND gl_code = ANY(:c)",
            b=org.biz.id, c=[p["glCode"] for p in push],
        )  # fmt: skip
        events = await scalar(
            engine, "SELECT count(*) FROM audit_events a JOIN categories c ON c.id = a.object_id"
            " AND a.object_type = 'Category' WHERE c.business_id = :b AND c.gl_code = ANY(:c)",
            b=org.biz.id, c=[p["glCode"] for p in push],
        )  # fmt: skip
        assert (written, events) == (n, n)
    # authentication, SAVEPOINT, the holders of the codes and names (locked), the upsert
    # with its audit events, RELEASE
    assert counts == [5, 5]
