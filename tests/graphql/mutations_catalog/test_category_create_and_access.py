"""createCategory (rules, races), who may call each category mutation, unknown category ids."""

from typing import Any

import pytest

from resolvers.ids import encode_id
from tests.conftest import gql
from tests.graphql.mutations_catalog.helpers_calls import (
    CATALOG_MATRIX,
    ERRORS,
    UNKNOWN,
    at_once,
    attempt,
    call,
    call_unknown,
    problems,
    rule_errors,
)
from tests.graphql.mutations_catalog.helpers_categories import (
    ARCHIVE,
    CREATE,
    UPDATE,
    UPSERT,
    category_census,
    cgid,
    new_category,
    stored_category,
)
from tests.graphql.mutations_catalog.helpers_orgs import tag
from tests.graphql.mutations_catalog.helpers_records import audit_trail, check_last_actor, scalar

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
