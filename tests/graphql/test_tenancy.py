"""Nobody sees another business: another tenant's id answers exactly like an id that never
existed (same message, same code: no existence oracle), in ``node``, ``nodes`` and filters.
"""

from typing import Any

import pytest

from tests.conftest import codes, gql, gql_raw, token
from tests.graphql.helpers_auth import (
    NEVER_USED_ID,
    NODE_TYPE_OF_LIST,
    credential,
    expected_ids,
    gid,
    row_ids,
    sql_ids,
    walk,
)
from tests.world import Biz

NODE = "query($id: ID!) { node(id: $id) { id __typename } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
NODE_TYPES = ("Expense", "Member", "Team", "Card", "Category", "Receipt", "Business")


def some_id(biz: Biz, type_name: str) -> int:
    """Return the id of one row of ``type_name`` in ``biz``."""
    return {
        "Expense": biz.expense_ids[1],
        "Member": biz.members["employee"],
        "Team": biz.teams["sales"],
        "Card": biz.cards["employee"],
        "Category": biz.categories["Travel"],
        "Receipt": biz.receipt_ids[0],
        "Business": biz.id,
    }[type_name]


async def node_body(client: Any, global_id: str, as_: str) -> dict[str, Any]:
    response = await gql_raw(client, NODE, {"id": global_id}, as_=as_)
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("who", ["admin", "key"])
@pytest.mark.parametrize("type_name", NODE_TYPES)
async def test_node_of_other_business_is_like_a_missing_id(client, world, type_name, who):
    as_ = credential(world, who)
    other = await node_body(client, gid(type_name, some_id(world.b, type_name)), as_)
    missing = await node_body(client, gid(type_name, NEVER_USED_ID), as_)
    assert other["data"] == {"node": None}
    assert codes(other) == ["NOT_FOUND"]
    assert other == missing  # same query text, so the whole answers must match
    # control: the same kind of object of the viewer's own business resolves
    own = await node_body(client, gid(type_name, some_id(world.a, type_name)), as_)
    own_id = gid(type_name, some_id(world.a, type_name))
    assert own["data"] == {"node": {"id": own_id, "__typename": type_name}}


@pytest.mark.parametrize("type_name", NODE_TYPES)
async def test_nodes_of_other_business_are_like_missing_ids(client, world, type_name):
    ids = [
        gid(type_name, some_id(world.b, type_name)),
        gid(type_name, NEVER_USED_ID),
        gid(type_name, some_id(world.a, type_name)),
    ]
    body = (await gql_raw(client, NODES, {"ids": ids}, as_=token(world.a, "admin"))).json()
    assert body["data"] == {"nodes": [None, None, {"id": ids[2]}]}
    by_index = {e["path"][1]: e for e in body["errors"]}
    assert sorted(by_index) == [0, 1]
    assert by_index[0]["message"] == by_index[1]["message"]
    assert by_index[0]["extensions"] == by_index[1]["extensions"] == {"code": "NOT_FOUND"}


async def test_b_admin_cannot_fetch_any_of_a(client, world):
    as_ = token(world.b, "admin")
    ids = [gid(t, some_id(world.a, t)) for t in NODE_TYPES]
    missing = [gid(t, NEVER_USED_ID) for t in NODE_TYPES]
    body = (await gql_raw(client, NODES, {"ids": ids}, as_=as_)).json()
    body_missing = (await gql_raw(client, NODES, {"ids": missing}, as_=as_)).json()
    assert body["data"] == {"nodes": [None] * len(ids)}
    assert codes(body) == ["NOT_FOUND"] * len(ids)
    key = lambda e: e["path"][1]  # noqa: E731
    assert sorted(body["errors"], key=key) == sorted(body_missing["errors"], key=key)


# --- filters: ids of another business match no rows, never that business's rows ---

FILTERS = [
    # (root field, filter argument, node type of the ids, the B row it names)
    ("expenses", "memberIds", "Member", lambda b: b.members["employee"]),
    ("expenses", "teamIds", "Team", lambda b: b.teams["sales"]),
    ("expenses", "cardIds", "Card", lambda b: b.cards["employee"]),
    ("expenses", "categoryIds", "Category", lambda b: b.categories["Travel"]),
    ("cards", "holderIds", "Member", lambda b: b.members["employee"]),
    ("cards", "teamIds", "Team", lambda b: b.teams["sales"]),
    ("members", "teamIds", "Team", lambda b: b.teams["sales"]),
]


def filter_query(field: str, argument: str) -> str:
    return (
        f"query($ids: [ID!]) {{ {field}(first: 100, filter: {{{argument}: $ids}})"
        " { totalCount nodes { id } } }"
    )


@pytest.mark.parametrize("who", ["admin", "key"])
@pytest.mark.parametrize(("field", "argument", "type_name", "pick"), FILTERS)
async def test_filter_by_other_business_ids_matches_nothing(
    client, world, field, argument, type_name, pick, who
):
    as_ = credential(world, who)
    query = filter_query(field, argument)
    other = await gql(client, query, {"ids": [gid(type_name, pick(world.b))]}, as_=as_)
    missing = await gql(client, query, {"ids": [gid(type_name, NEVER_USED_ID)]}, as_=as_)
    assert other == missing == {field: {"totalCount": 0, "nodes": []}}


@pytest.mark.parametrize(("field", "argument", "type_name", "pick"), FILTERS)
async def test_filter_mixing_both_businesses_returns_only_own_rows(
    client, engine, world, field, argument, type_name, pick
):
    as_ = token(world.a, "admin")
    query = filter_query(field, argument)
    own_only = await gql(client, query, {"ids": [gid(type_name, pick(world.a))]}, as_=as_)
    both = [gid(type_name, pick(world.b)), gid(type_name, pick(world.a))]
    mixed = await gql(client, query, {"ids": both}, as_=as_)
    assert mixed == own_only
    assert own_only[field]["totalCount"] > 0
    own_rows = await sql_ids(engine, f"SELECT id FROM {field} WHERE business_id = :a", a=world.a.id)
    assert row_ids(n["id"] for n in mixed[field]["nodes"]) <= own_rows


async def test_nested_expenses_filter_with_other_business_ids(client, world):
    as_ = token(world.a, "admin")
    query = (
        "query($id: ID!, $ids: [ID!]) { node(id: $id) { ... on Team {"
        " expenses(first: 100, filter: {memberIds: $ids}) { totalCount nodes { id } } } } }"
    )
    team = gid("Team", world.a.teams["sales"])
    other = await gql(
        client, query, {"id": team, "ids": [gid("Member", world.b.members["employee"])]}, as_=as_
    )
    missing = await gql(client, query, {"id": team, "ids": [gid("Member", NEVER_USED_ID)]}, as_=as_)
    assert other == missing == {"node": {"expenses": {"totalCount": 0, "nodes": []}}}


# --- business B's credentials see exactly business B ---


@pytest.mark.parametrize("who", ["admin", "key"])
@pytest.mark.parametrize("field", list(NODE_TYPE_OF_LIST))
async def test_b_sees_only_b(client, engine, world, field, who):
    nodes = await walk(client, field, as_=credential(world, who, world.b))
    got = row_ids(n["id"] for n in nodes)
    assert got == await expected_ids(engine, world.b, who, field)
    everything_of_a = await sql_ids(
        engine, f"SELECT id FROM {field} WHERE business_id = :a", a=world.a.id
    )
    assert everything_of_a and not got & everything_of_a


@pytest.mark.parametrize("field", list(NODE_TYPE_OF_LIST))
async def test_a_admin_sees_none_of_b(client, engine, world, field):
    nodes = await walk(client, field, as_=token(world.a, "admin"))
    everything_of_b = await sql_ids(
        engine, f"SELECT id FROM {field} WHERE business_id = :b", b=world.b.id
    )
    assert everything_of_b and not row_ids(n["id"] for n in nodes) & everything_of_b


VIEWER = "{ viewer { credential business { id name homeCurrency } } }"


@pytest.mark.parametrize(
    ("biz_name", "who", "credential_kind"),
    [
        ("a", "admin", "MEMBER"),
        ("a", "finance", "MEMBER"),
        ("a", "manager", "MEMBER"),
        ("a", "engineer", "MEMBER"),
        ("a", "a_read", "API_KEY"),
        ("a", "a_expenses_only", "API_KEY"),
        ("b", "admin", "MEMBER"),
        ("b", "employee", "MEMBER"),
        ("b", "b_read", "API_KEY"),
    ],
)
async def test_viewer_business_follows_the_credential(
    client, world, biz_name, who, credential_kind
):
    biz = getattr(world, biz_name)
    as_ = world.keys[who] if credential_kind == "API_KEY" else token(biz, who)
    data = await gql(client, VIEWER, as_=as_)
    expected_name = {"a": "Alpha Ltd", "b": "Beta Inc"}[biz_name]
    assert data["viewer"] == {
        "credential": credential_kind,
        "business": {
            "id": gid("Business", biz.id),
            "name": expected_name,
            "homeCurrency": biz.home,
        },
    }


async def test_scope_check_answers_alike_for_own_and_other_business(client, world):
    """A key without cards:read gets FORBIDDEN for any card id: the error reveals nothing."""
    as_ = world.keys["a_expenses_only"]
    own = await node_body(client, gid("Card", world.a.cards["employee"]), as_)
    other = await node_body(client, gid("Card", world.b.cards["employee"]), as_)
    missing = await node_body(client, gid("Card", NEVER_USED_ID), as_)
    assert own == other == missing
    assert codes(own) == ["FORBIDDEN"]
