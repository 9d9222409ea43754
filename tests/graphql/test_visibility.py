"""Authorization matrix of business A: who sees which rows, in root lists, nested lists,
references and ``node``. The expected sets come from plain SQL (tests/graphql/helpers_auth.py).
"""

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import codes, gql, gql_raw
from tests.graphql.helpers_auth import (
    NEVER_USED_ID,
    NODE_TYPE_OF_LIST,
    ROLES,
    VIEWERS_A,
    credential,
    expected_ids,
    gid,
    row_id,
    row_ids,
    sql_ids,
    walk,
)

LISTS = tuple(NODE_TYPE_OF_LIST)


@pytest.mark.parametrize("who", VIEWERS_A)
@pytest.mark.parametrize("field", LISTS)
async def test_root_list_is_exactly_what_the_rule_allows(client, engine, world, field, who):
    nodes = await walk(client, field, as_=credential(world, who))
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids)), "a row appears twice across pages"
    assert row_ids(ids) == await expected_ids(engine, world.a, who, field)


@pytest.mark.parametrize("field", ("expenses", "cards", "members", "teams", "receipts"))
async def test_the_matrix_discriminates(engine, world, field):
    """Guard the matrix itself: roles must actually see different, non-empty sets."""
    seen = {who: await expected_ids(engine, world.a, who, field) for who in VIEWERS_A}
    assert all(seen.values()), seen
    assert seen["admin"] == seen["finance"] == seen["key"]
    assert all(ids <= seen["admin"] for ids in seen.values())
    assert len({frozenset(ids) for ids in seen.values()}) >= 3, seen


async def test_role_sets_match_the_rule_in_words(engine, world):
    """Spot-check the SQL rule against the roster of tests/world.py."""
    a = world.a
    assert await expected_ids(engine, a, "employee", "members") == {a.members["employee"]}
    assert await expected_ids(engine, a, "employee", "cards") == {a.cards["employee"]}
    assert await expected_ids(engine, a, "employee", "teams") == {a.teams["sales"]}
    assert await expected_ids(engine, a, "engineer", "teams") == {a.teams["eng"]}
    assert await expected_ids(engine, a, "manager", "teams") == {a.teams["sales"]}
    sales = {a.members[k] for k in ("manager", "employee", "employee2")}
    assert await expected_ids(engine, a, "manager", "members") == sales
    eng = {a.members[k] for k in ("manager2", "engineer")}
    assert await expected_ids(engine, a, "manager2", "members") == eng
    cards = {a.cards[k] for k in ("manager", "employee", "employee2")}
    assert await expected_ids(engine, a, "manager", "cards") == cards


async def _check_list(
    engine: AsyncEngine,
    nodes: list[Any],
    visible: set[int],
    table: str,
    column: str,
    parent_id: int,
) -> set[int]:
    """Check that ``nodes`` are the ``visible`` rows of ``table`` whose ``column`` is ``parent_id``."""
    sql = f"SELECT id FROM {table} WHERE {column} = :p"
    expected = visible & await sql_ids(engine, sql, p=parent_id)
    assert row_ids(n["id"] for n in nodes) == expected
    return expected


async def _check_expenses(
    engine: AsyncEngine, page: dict[str, Any], visible: set[int], column: str, parent_id: int
) -> None:
    """Check a nested expense connection: the visible expenses whose ``column`` is the parent."""
    expected = await _check_list(engine, page["nodes"], visible, "expenses", column, parent_id)
    assert page["totalCount"] == len(expected)


TEAM_TREE = """{ teams(first: 100) { nodes { id
  members { id }
  expenses(first: 100) { totalCount nodes { id } pageInfo { hasNextPage } }
} } }"""


async def _seen_by(
    client: Any, engine: AsyncEngine, world: Any, who: str, query: str, *rules: str
) -> tuple[dict[str, Any], dict[str, set[int]]]:
    """Return the answer to ``query`` as ``who`` of A, and the ids each of ``rules`` lets
    ``who`` see."""
    data = await gql(client, query, as_=credential(world, who))
    return data, {rule: await expected_ids(engine, world.a, who, rule) for rule in rules}


@pytest.mark.parametrize("who", VIEWERS_A)
async def test_team_members_and_expenses_apply_visibility(client, engine, world, who):
    data, visible = await _seen_by(
        client, engine, world, who, TEAM_TREE, "teams", "members", "expenses"
    )
    teams = data["teams"]["nodes"]
    assert row_ids(t["id"] for t in teams) == visible["teams"]
    members, expenses = visible["members"], visible["expenses"]
    for team in teams:
        team_id = row_id(team["id"])
        await _check_list(engine, team["members"], members, "members", "team_id", team_id)
        assert not team["expenses"]["pageInfo"]["hasNextPage"]
        await _check_expenses(engine, team["expenses"], expenses, "team_id", team_id)


MEMBER_TREE = """{ members(first: 100) { nodes { id
  cards { id expenses(first: 100) { totalCount nodes { id } } }
  expenses(first: 100) { totalCount nodes { id } }
} } }"""


@pytest.mark.parametrize("who", VIEWERS_A)
async def test_member_cards_and_expenses_apply_visibility(client, engine, world, who):
    data, visible = await _seen_by(client, engine, world, who, MEMBER_TREE, "cards", "expenses")
    cards, expenses = visible["cards"], visible["expenses"]
    for member in data["members"]["nodes"]:
        member_id = row_id(member["id"])
        await _check_list(engine, member["cards"], cards, "cards", "holder_id", member_id)
        await _check_expenses(engine, member["expenses"], expenses, "member_id", member_id)
        for card in member["cards"]:
            card_id = row_id(card["id"])
            await _check_expenses(engine, card["expenses"], expenses, "card_id", card_id)


RECEIPT_TREE = """{ receipts(first: 100) { nodes { id expense { id }
  uploadedBy { id cards { id } expenses(first: 100) { totalCount nodes { id } } }
} } }"""


@pytest.mark.parametrize("who", VIEWERS_A)
async def test_receipt_expense_is_null_unless_the_expense_is_visible(client, engine, world, who):
    data, seen = await _seen_by(client, engine, world, who, RECEIPT_TREE, "expenses_any")
    visible = seen["expenses_any"]
    receipts = data["receipts"]["nodes"]
    assert receipts
    attached = await _pairs(
        engine, "SELECT id, expense_id FROM receipts WHERE business_id = :b", world
    )
    for receipt in receipts:
        expense_id = attached[row_id(receipt["id"])]
        shown = receipt["expense"]
        if expense_id is not None and expense_id in visible:
            assert shown == {"id": gid("Expense", expense_id)}
        else:
            assert shown is None, (who, receipt["id"], expense_id)


async def test_receipts_reach_invisible_uploader_without_leaking(client, engine, world):
    """employee2 and manager2 see receipts uploaded by `employee`, whom they cannot see:
    the reference resolves, but the uploader's cards and expenses stay hidden."""
    for who in ("employee2", "manager2"):
        data, visible = await _seen_by(
            client, engine, world, who, RECEIPT_TREE, "cards", "expenses"
        )
        uploaders = {r["uploadedBy"]["id"] for r in data["receipts"]["nodes"]}
        assert uploaders == {gid("Member", world.a.members["employee"])}
        visible_cards, visible_expenses = visible["cards"], visible["expenses"]
        for receipt in data["receipts"]["nodes"]:
            uploader = receipt["uploadedBy"]
            assert row_ids(c["id"] for c in uploader["cards"]) <= visible_cards
            assert uploader["cards"] == []
            got = row_ids(e["id"] for e in uploader["expenses"]["nodes"])
            assert got <= visible_expenses
            assert uploader["expenses"]["totalCount"] == len(got)


async def _pairs(engine: Any, statement: str, world: Any) -> dict[int, int | None]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(statement), {"b": world.a.id})
        return {row[0]: row[1] for row in rows}


NODE = "query($id: ID!) { node(id: $id) { id __typename } }"


async def _first_id(engine: Any, statement: str, **params: Any) -> int:
    ids = await sql_ids(engine, statement, **params)
    assert ids, statement
    return min(ids)


async def _not_found_message(client, as_: str, type_name: str) -> dict[str, Any]:
    response = await gql_raw(client, NODE, {"id": gid(type_name, NEVER_USED_ID)}, as_=as_)
    return response.json()["errors"][0]


async def _invisible_cases(engine, world) -> list[tuple[str, str, int]]:
    a = world.a
    of_member = "SELECT id FROM expenses WHERE member_id = :m"
    e2_expense = await _first_id(engine, of_member, m=a.members["employee2"])
    eng_expense = await _first_id(
        engine, "SELECT id FROM expenses WHERE team_id = :t", t=a.teams["eng"]
    )
    admin_expense = await _first_id(engine, of_member, m=a.members["admin"])
    e_receipt = await _first_id(
        engine,
        "SELECT r.id FROM receipts r JOIN expenses e ON e.id = r.expense_id WHERE e.member_id = :m",
        m=a.members["employee"],
    )
    by_viewer = {
        "employee": [("Expense", e2_expense), ("Card", a.cards["employee2"]),
                     ("Member", a.members["employee2"]), ("Team", a.teams["eng"]),
                     ("Expense", admin_expense)],
        "employee2": [("Receipt", e_receipt), ("Member", a.members["manager"])],
        "manager": [("Expense", eng_expense), ("Card", a.cards["engineer"]),
                    ("Member", a.members["engineer"]), ("Member", a.members["admin"]),
                    ("Team", a.teams["eng"]), ("Expense", admin_expense)],
        "manager2": [("Expense", e2_expense), ("Team", a.teams["sales"]), ("Receipt", e_receipt)],
        "engineer": [("Card", a.cards["manager"])],
    }  # fmt: skip
    return [(who, type_name, id_) for who, cases in by_viewer.items() for type_name, id_ in cases]


async def test_node_of_invisible_object_is_not_found_like_a_missing_id(client, engine, world):
    for who, type_name, id_ in await _invisible_cases(engine, world):
        as_ = credential(world, who)
        response = await gql_raw(client, NODE, {"id": gid(type_name, id_)}, as_=as_)
        body = response.json()
        assert response.status_code == 200
        assert body["data"] == {"node": None}, (who, type_name, body)
        assert codes(body) == ["NOT_FOUND"]
        missing = await _not_found_message(client, as_, type_name)
        assert body["errors"][0]["message"] == missing["message"]
        assert body["errors"][0]["extensions"] == missing["extensions"]


async def test_the_same_ids_are_visible_to_admin(client, engine, world):
    """Positive control for the NOT_FOUND cases: the ids exist and admins see them."""
    for _who, type_name, id_ in await _invisible_cases(engine, world):
        data = await gql(client, NODE, {"id": gid(type_name, id_)}, as_=credential(world, "admin"))
        assert data["node"] == {"id": gid(type_name, id_), "__typename": type_name}


@pytest.mark.parametrize("who", ROLES)
async def test_node_returns_every_visible_row(client, engine, world, who):
    """node/nodes agree with the lists: each visible row resolves, typed right."""
    ids = []
    for field, type_name in NODE_TYPE_OF_LIST.items():
        ids += [gid(type_name, i) for i in sorted(await expected_ids(engine, world.a, who, field))]
    for start in range(0, len(ids), 100):
        chunk = ids[start : start + 100]
        data = await gql(
            client,
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            {"ids": chunk},
            as_=credential(world, who),
        )
        assert [n["id"] for n in data["nodes"]] == chunk


async def test_viewer_member_is_self(client, world):
    for who in ROLES:
        data = await gql(
            client, "{ viewer { credential member { id role } } }", as_=credential(world, who)
        )
        assert data["viewer"]["credential"] == "MEMBER"
        assert data["viewer"]["member"]["id"] == gid("Member", world.a.members[who])


FILTERED = [
    # (viewer, root field, filter argument, node type, the row named, which is invisible)
    ("employee", "expenses", "memberIds", "Member", lambda a: a.members["employee2"]),
    ("employee", "expenses", "cardIds", "Card", lambda a: a.cards["employee2"]),
    ("manager", "expenses", "teamIds", "Team", lambda a: a.teams["eng"]),
    ("manager", "expenses", "memberIds", "Member", lambda a: a.members["admin"]),
    ("employee", "cards", "holderIds", "Member", lambda a: a.members["employee2"]),
    ("manager", "cards", "teamIds", "Team", lambda a: a.teams["eng"]),
    ("employee", "members", "teamIds", "Team", lambda a: a.teams["eng"]),
    ("manager2", "members", "teamIds", "Team", lambda a: a.teams["sales"]),
]


@pytest.mark.parametrize(("who", "field", "argument", "type_name", "pick"), FILTERED)
async def test_filter_by_invisible_ids_matches_nothing(
    client, world, who, field, argument, type_name, pick
):
    query = (
        f"query($ids: [ID!]) {{ {field}(first: 100, filter: {{{argument}: $ids}})"
        " { totalCount nodes { id } } }"
    )
    ids = {"ids": [gid(type_name, pick(world.a))]}
    data = await gql(client, query, ids, as_=credential(world, who))
    assert data == {field: {"totalCount": 0, "nodes": []}}
    admin = await gql(client, query, ids, as_=credential(world, "admin"))
    assert admin[field]["totalCount"] > 0  # control: the rows exist
