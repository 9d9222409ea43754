"""Keyset pagination walked to the end, forwards and backwards, equals the same rows
ordered directly in SQL: every ExpenseOrder, each ExpenseFilter, nested connections,
the root lists, page info at the ends, totalCount, and the rejected arguments.
"""

import base64
import json
from typing import Any

import pytest

from tests.conftest import codes, gql, gql_raw, token
from tests.graphql.helpers_paging import (
    EXPENSE_ARGS,
    FILTERS,
    HAS_RECEIPT,
    LIVE,
    ORDERS,
    connection_query,
    expected_expenses,
    gid,
    order_input,
    sql_list,
    walk_both,
)

EXPENSES = connection_query("expenses", extra=EXPENSE_ARGS)


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o) for o in ORDERS])
async def test_every_ordering_walks_to_the_sql_order(client, engine, world, order):
    expected = await expected_expenses(engine, world.a, "admin", LIVE, order)
    sizes = (7, 13) if order[1] == "DESC" else (13, 7)
    assert len(expected) > 2 * max(sizes)
    variables = {"orderBy": order_input(order)}
    as_ = token(world.a, "admin")
    forward, backward, total = await walk_both(
        client, EXPENSES, as_=as_, sizes=sizes, variables=variables
    )
    assert forward == expected
    assert backward == expected
    assert total == len(expected)


async def test_the_world_has_ties_to_break(engine, world):
    """Guard the ordering tests: equal sort keys exist, so the id tie-break is exercised."""
    for column in ("spent_at", "created_at"):
        ties = await sql_list(
            engine,
            f"SELECT count(*) FROM (SELECT {column} FROM expenses WHERE business_id = :b"
            f" GROUP BY {column} HAVING count(*) > 1) t",
            b=world.a.id,
        )
        assert ties[0] > 5, column


@pytest.mark.parametrize("name", FILTERS)
async def test_each_filter_walks_to_the_sql_rows(client, engine, world, name):
    filter_, where = FILTERS[name](world.a)
    order = ORDERS[list(FILTERS).index(name) % len(ORDERS)]
    expected = await expected_expenses(engine, world.a, "admin", f"{LIVE} AND {where}", order)
    if where != "FALSE":
        assert 0 < len(expected) < 80, "a filter that keeps nothing or everything proves little"
    variables = {"filter": filter_, "orderBy": order_input(order)}
    forward, backward, total = await walk_both(
        client, EXPENSES, as_=token(world.a, "admin"), sizes=(7, 13), variables=variables
    )
    assert forward == backward == expected
    assert total == len(expected)


@pytest.mark.parametrize(
    "filter_", [{"includeDeleted": True}, {"includeDeleted": True, "statuses": ["DRAFT"]}]
)
async def test_include_deleted_walks_deleted_rows_too(client, engine, world, filter_):
    where = "e.status = 'DRAFT'" if "statuses" in filter_ else "TRUE"
    expected = await expected_expenses(engine, world.a, "admin", where, ("UPDATED_AT", "ASC"))
    deleted = await sql_list(
        engine,
        "SELECT count(*) FROM expenses WHERE business_id = :b AND deleted_at IS NOT NULL",
        b=world.a.id,
    )
    assert deleted[0] > 0
    variables = {"filter": filter_, "orderBy": order_input(("UPDATED_AT", "ASC"))}
    forward, backward, total = await walk_both(
        client, EXPENSES, as_=token(world.a, "admin"), sizes=(7, 13), variables=variables
    )
    assert forward == backward == expected
    assert total == len(expected)


@pytest.mark.parametrize(
    ("who", "order", "filtered", "sizes"),
    [
        ("manager", ("SPENT_AT", "DESC"), False, (7, 13)),
        ("manager", ("AMOUNT", "ASC"), True, (7, 13)),
        ("employee", ("UPDATED_AT", "ASC"), False, (2, 4)),
        ("employee", ("CREATED_AT", "DESC"), True, (3, 2)),
    ],
)
async def test_walks_by_role_see_exactly_their_rows(
    client, engine, world, who, order, filtered, sizes
):
    where, filter_ = (
        (f"{LIVE} AND {HAS_RECEIPT}", {"hasReceipt": True}) if filtered else (LIVE, None)
    )
    expected = await expected_expenses(engine, world.a, who, where, order)
    admin_sees = await expected_expenses(engine, world.a, "admin", where, order)
    assert max(sizes) < len(expected) < len(admin_sees)
    variables = {"filter": filter_, "orderBy": order_input(order)}
    forward, backward, total = await walk_both(
        client, EXPENSES, as_=token(world.a, who), sizes=sizes, variables=variables
    )
    assert forward == backward == expected
    assert total == len(expected)


# (viewer, parent type, table of tests/world.py Biz, key in it, SQL column, order, filter)
NESTED = [
    ("admin", "Team", "teams", "sales", "team_id", ("SPENT_AT", "DESC"), None),
    ("admin", "Team", "teams", "eng", "team_id", ("UPDATED_AT", "ASC"), None),
    ("admin", "Team", "teams", "sales", "team_id", ("CREATED_AT", "DESC"), "hasReceipt"),
    ("admin", "Member", "members", "employee", "member_id", ("AMOUNT", "DESC"), None),
    ("admin", "Member", "members", "admin", "member_id", ("CREATED_AT", "ASC"), "currencies"),
    ("admin", "Card", "cards", "employee2", "card_id", ("SPENT_AT", "ASC"), None),
    ("manager", "Team", "teams", "sales", "team_id", ("AMOUNT", "ASC"), None),
    ("manager", "Member", "members", "employee", "member_id", ("SPENT_AT", "DESC"), None),
    ("employee", "Card", "cards", "employee", "card_id", ("UPDATED_AT", "DESC"), None),
]


@pytest.mark.parametrize(("who", "parent", "table", "key", "column", "order", "name"), NESTED)
async def test_nested_connections_walk_to_the_sql_rows(
    client, engine, world, who, parent, table, key, column, order, name
):
    parent_id = getattr(world.a, table)[key]
    filter_, where = FILTERS[name](world.a) if name else (None, "TRUE")
    where = f"{LIVE} AND e.{column} = {parent_id} AND {where}"
    expected = await expected_expenses(engine, world.a, who, where, order)
    assert len(expected) > 3
    query = connection_query("expenses", extra=EXPENSE_ARGS, parent=parent)
    variables = {"parent": gid(parent, parent_id), "orderBy": order_input(order), "filter": filter_}
    forward, backward, total = await walk_both(
        client, query, as_=token(world.a, who), sizes=(3, 7), variables=variables
    )
    assert forward == backward == expected
    assert total == len(expected)


# (list field, who, extra SQL condition, order, page sizes)
LISTS = [
    ("cards", "admin", "TRUE", "created_at ASC, id ASC", (1, 3)),
    (
        "cards",
        "manager",
        "holder_id = :me OR team_id IN (SELECT id FROM teams WHERE manager_id = :me)",
        "created_at ASC, id ASC",
        (2, 1),
    ),
    ("members", "admin", "TRUE", "created_at ASC, id ASC", (2, 3)),
    (
        "members",
        "manager",
        "id = :me OR team_id IN (SELECT id FROM teams WHERE manager_id = :me)",
        "created_at ASC, id ASC",
        (1, 2),
    ),
    ("teams", "admin", "TRUE", "created_at ASC, id ASC", (1, 1)),
    ("categories", "admin", "TRUE", "created_at ASC, id ASC", (2, 1)),
    ("receipts", "admin", "TRUE", "uploaded_at DESC, id DESC", (7, 13)),
]


@pytest.mark.parametrize(("field", "who", "where", "order", "sizes"), LISTS)
async def test_root_lists_walk_to_the_sql_rows(
    client, engine, world, field, who, where, order, sizes
):
    statement = f"SELECT id FROM {field} WHERE business_id = :b AND ({where}) ORDER BY {order}"
    expected = await sql_list(engine, statement, b=world.a.id, me=world.a.members[who])
    assert len(expected) > max(sizes)
    query = connection_query(field)
    forward, backward, total = await walk_both(client, query, as_=token(world.a, who), sizes=sizes)
    assert forward == backward == expected
    assert total == len(expected)


async def test_page_edges_and_sizes(client, world):
    as_ = token(world.a, "admin")
    empty = (await gql(client, EXPENSES, {"first": 0}, as_=as_))["conn"]
    assert empty["edges"] == []
    assert empty["pageInfo"]["startCursor"] is None
    everything = (await gql(client, EXPENSES, {"first": 100}, as_=as_))["conn"]
    assert len(everything["edges"]) == everything["totalCount"] <= 100
    assert everything["pageInfo"]["hasNextPage"] is False
    default = (await gql(client, EXPENSES, {}, as_=as_))["conn"]
    assert len(default["edges"]) == 20
    assert default["pageInfo"]["hasNextPage"] is True
    assert default["pageInfo"]["hasPreviousPage"] is False
    tail = (await gql(client, EXPENSES, {"last": 5}, as_=as_))["conn"]
    assert tail["edges"] == everything["edges"][-5:]
    assert tail["pageInfo"]["hasNextPage"] is False
    assert tail["pageInfo"]["hasPreviousPage"] is True


def _cursor(raw: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


GARBAGE = {
    "word": "garbage",
    "empty": "",
    "not-base64": "!!!!",
    "null": _cursor(None),
    "object": _cursor({"a": 1}),
    "bad-date": _cursor(["spent_at", "yesterday", 1]),
    "naive-date": _cursor(["spent_at", "2026-06-01T12:00:00", 1]),
    "string-id": _cursor(["spent_at", "2026-06-01T12:00:00+00:00", "1"]),
    "id-beyond-bigint": _cursor(["spent_at", "2026-06-01T12:00:00+00:00", 10**20]),
    "other-column": _cursor(["email", "a@b.c", 1]),
}


@pytest.mark.parametrize("cursor", GARBAGE.values(), ids=GARBAGE.keys())
@pytest.mark.parametrize("arg", ["after", "before"])
async def test_garbage_cursors_are_bad_user_input(client, world, arg, cursor):
    body = (await gql_raw(client, EXPENSES, {arg: cursor}, as_=token(world.a, "admin"))).json()
    assert codes(body) == ["BAD_USER_INPUT"], body


@pytest.mark.parametrize("value", [10**20, 1e300, float("inf")], ids=["int", "float", "infinity"])
async def test_amount_cursor_values_beyond_bigint_are_bad_user_input(client, world, value):
    variables = {
        "after": _cursor(["home_amount_minor", value, 1]),
        "orderBy": {"field": "AMOUNT", "direction": "ASC"},
    }
    body = (await gql_raw(client, EXPENSES, variables, as_=token(world.a, "admin"))).json()
    assert codes(body) == ["BAD_USER_INPUT"], body


ROOT_CARDS = connection_query("cards")
TEAM_EXPENSES = connection_query("expenses", extra=EXPENSE_ARGS, parent="Team")


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (EXPENSES, {"first": 101}),
        (EXPENSES, {"first": -1}),
        (EXPENSES, {"last": -1}),
        (EXPENSES, {"last": 101}),
        (EXPENSES, {"first": 2, "last": 2}),
        (ROOT_CARDS, {"first": 101}),
        (ROOT_CARDS, {"first": 1, "last": 1}),
        (TEAM_EXPENSES, {"first": 101}),
        (TEAM_EXPENSES, {"last": -1}),
    ],
)
async def test_bad_page_arguments_are_bad_user_input(client, world, query, variables):
    if "parent" in query:
        variables = {**variables, "parent": gid("Team", world.a.teams["sales"])}
    body = (await gql_raw(client, query, variables, as_=token(world.a, "admin"))).json()
    assert codes(body) == ["BAD_USER_INPUT"], body


async def test_a_cursor_of_another_ordering_is_bad_user_input(client, world):
    as_ = token(world.a, "admin")
    by_amount = {"orderBy": {"field": "AMOUNT", "direction": "DESC"}}
    page = (await gql(client, EXPENSES, {"first": 2, **by_amount}, as_=as_))["conn"]
    cursor = page["pageInfo"]["endCursor"]
    assert (await gql(client, EXPENSES, {"first": 2, "after": cursor, **by_amount}, as_=as_))[
        "conn"
    ]["edges"]
    for variables in (
        {"first": 2, "after": cursor},
        {"last": 2, "before": cursor, "orderBy": {"field": "UPDATED_AT", "direction": "DESC"}},
    ):
        body = (await gql_raw(client, EXPENSES, variables, as_=as_)).json()
        assert codes(body) == ["BAD_USER_INPUT"], body
    receipts = (await gql(client, connection_query("receipts"), {"first": 1}, as_=as_))["conn"]
    body = (
        await gql_raw(client, ROOT_CARDS, {"after": receipts["pageInfo"]["endCursor"]}, as_=as_)
    ).json()
    assert codes(body) == ["BAD_USER_INPUT"], body
