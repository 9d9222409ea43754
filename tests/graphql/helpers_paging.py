"""Shared helpers of the paging, statement-count and money tests: connection queries,
walking a connection to its end by cursor in either direction, expected rows in plain SQL,
and inserting extra businesses (never touching the shared world's rows).
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.queries.expenses import EXPENSE_ORDERS
from resolvers.ids import decode_id, encode_id
from tests.conftest import gql
from tests.world import ANCHOR, Biz

CONNECTION = (
    "totalCount edges { cursor node { id } }"
    " pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
)
EXPENSE_ARGS = {"filter": "ExpenseFilter", "orderBy": "ExpenseOrder"}
ORDER_COLUMNS = {field: column.name for field, column in EXPENSE_ORDERS.items()}


def gid(type_name: str, id_: int) -> str:
    """Return the global id of a row."""
    return encode_id(type_name, id_)


def connection_query(
    field: str, *, extra: dict[str, str] | None = None, parent: str | None = None
) -> str:
    """Return a query of one page of ``field``: at the root, or under ``node(id: $parent)``.

    The connection is aliased ``conn``; ``extra`` adds arguments (name -> GraphQL type).
    """
    args = {"first": "Int", "after": "String", "last": "Int", "before": "String", **(extra or {})}
    defs = ", ".join(f"${name}: {type_}" for name, type_ in args.items())
    call = ", ".join(f"{name}: ${name}" for name in args)
    inner = f"conn: {field}({call}) {{ {CONNECTION} }}"
    if parent is None:
        return f"query({defs}) {{ {inner} }}"
    return (
        f"query({defs}, $parent: ID!) {{ node(id: $parent) {{ ... on {parent} {{ {inner} }} }} }}"
    )


def _connection(data: dict[str, Any]) -> dict[str, Any]:
    holder = data["node"] if "node" in data else data
    return holder["conn"]


async def walk(
    client: httpx.AsyncClient,
    query: str,
    *,
    as_: str,
    size: int,
    forward: bool,
    variables: dict[str, Any] | None = None,
) -> tuple[list[int], int]:
    """Return the row ids of every page, in list order, and the totalCount of the first page.

    Walks with first/after (``forward``) or last/before, checking page sizes, cursors and
    pageInfo on every page: the side walked towards says whether more follow, the other
    side is true exactly when a cursor was passed (a row lies at the cursor).
    """
    ids: list[int] = []
    cursor: str | None = None
    totals: set[int] = set()
    for _ in range(1000):
        page_vars = (
            {"first": size, "after": cursor} if forward else {"last": size, "before": cursor}
        )
        conn = _connection(await gql(client, query, {**(variables or {}), **page_vars}, as_=as_))
        edges, info = conn["edges"], conn["pageInfo"]
        totals.add(conn["totalCount"])
        page = [decode_id(edge["node"]["id"])[1] for edge in edges]
        ahead, behind = (
            ("hasNextPage", "hasPreviousPage") if forward else ("hasPreviousPage", "hasNextPage")
        )
        assert info[behind] is (cursor is not None), (info, cursor)
        assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
        assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
        ids = ids + page if forward else page + ids
        if not info[ahead]:
            assert len(page) <= size
            assert len(totals) == 1, totals
            return ids, totals.pop()
        assert len(page) == size, (len(page), size)
        cursor = info["endCursor"] if forward else info["startCursor"]
    raise AssertionError("the walk never ended")


async def walk_both(
    client: httpx.AsyncClient,
    query: str,
    *,
    as_: str,
    sizes: tuple[int, int],
    variables: dict[str, Any] | None = None,
) -> tuple[list[int], list[int], int]:
    """Return (forward ids, backward ids, totalCount) of walks with the two page sizes."""
    forward, total = await walk(
        client, query, as_=as_, size=sizes[0], forward=True, variables=variables
    )
    backward, total_back = await walk(
        client, query, as_=as_, size=sizes[1], forward=False, variables=variables
    )
    assert total == total_back
    return forward, backward, total


async def sql_list(engine: AsyncEngine, statement: str, **params: Any) -> list[int]:
    """Return the first column of a SQL statement, in order."""
    async with engine.connect() as conn:
        return [row[0] for row in await conn.execute(text(statement), params)]


def expense_sql(where: str, field: str = "SPENT_AT", direction: str = "DESC") -> str:
    """Return SQL of the ids of business ``:b``'s expenses matching ``where``, in API order."""
    column = ORDER_COLUMNS[field]
    return (
        f"SELECT e.id FROM expenses e WHERE e.business_id = :b AND ({where})"
        f" ORDER BY e.{column} {direction}, e.id {direction}"
    )


# The expenses a member sees, by role; ``:me`` is the member (DESIGN.md section 4).
EXPENSE_VISIBILITY = {
    "admin": "TRUE",
    "finance": "TRUE",
    "manager": "e.member_id = :me OR e.team_id IN"
    " (SELECT t.id FROM teams t WHERE t.business_id = :b AND t.manager_id = :me)",
    "employee": "e.member_id = :me",
}


def visible_expenses(biz: Biz, who: str) -> tuple[str, dict[str, Any]]:
    """Return the SQL condition for ``who``'s visible expenses, and its parameters."""
    return EXPENSE_VISIBILITY[who], {"b": biz.id, "me": biz.members[who]}


async def insert_id(conn: AsyncConnection, table: Any, **values: Any) -> int:
    """Insert one row and return its id."""
    statement = insert(table).values(**values).returning(table.c.id)
    return int((await conn.execute(statement)).scalar_one())


async def insert_ids(conn: AsyncConnection, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows in one statement and return their ids, in order."""
    result = await conn.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    )
    return [row[0] for row in result]


ORDERS = [
    (f, d) for f in ("SPENT_AT", "AMOUNT", "UPDATED_AT", "CREATED_AT") for d in ("ASC", "DESC")
]
LIVE = "e.deleted_at IS NULL"
HAS_RECEIPT = (
    "EXISTS (SELECT 1 FROM receipts r WHERE r.business_id = e.business_id AND r.expense_id = e.id)"
)


def _in(column: str, ids: list[int]) -> str:
    return f"{column} IN ({', '.join(map(str, ids))})"


def _at(hours: int) -> str:
    return (ANCHOR - timedelta(hours=hours)).isoformat()


Case = Callable[[Biz], tuple[dict[str, Any], str]]


def _by_ids(field: str, type_name: str, column: str, ids: Callable[[Biz], list[int]]) -> Case:
    """Return the case of filtering by ``field``: the global ids of rows of A, ``column`` in SQL."""
    return lambda a: ({field: [gid(type_name, i) for i in ids(a)]}, _in(column, ids(a)))


# ExpenseFilter cases: name -> (the filter for business A, the same condition in SQL)
FILTERS: dict[str, Case] = {
    "statuses": lambda a: (
        {"statuses": ["SUBMITTED", "REIMBURSED"]},
        "e.status IN ('SUBMITTED', 'REIMBURSED')",
    ),
    "currencies": lambda a: ({"currencies": ["JPY", "BHD"]}, "e.currency IN ('JPY', 'BHD')"),
    "memberIds": _by_ids(
        "memberIds",
        "Member",
        "e.member_id",
        lambda a: [a.members["employee"], a.members["engineer"]],
    ),
    "teamIds": _by_ids("teamIds", "Team", "e.team_id", lambda a: [a.teams["eng"]]),
    "cardIds": _by_ids(
        "cardIds", "Card", "e.card_id", lambda a: [a.cards["employee"], a.cards["manager"]]
    ),
    "categoryIds": _by_ids(
        "categoryIds", "Category", "e.category_id", lambda a: [a.categories["Meals"]]
    ),
    "minAmount": lambda a: ({"minAmount": "250.5"}, "e.home_amount_minor >= 25050"),
    "maxAmount": lambda a: ({"maxAmount": "99.99"}, "e.home_amount_minor <= 9999"),
    "amountRange": lambda a: (
        {"minAmount": "100", "maxAmount": "1000.00"},
        "e.home_amount_minor BETWEEN 10000 AND 100000",
    ),
    "merchantSearch": lambda a: (
        {"merchantSearch": "AIR"},
        "strpos(lower(e.merchant_name), 'air') > 0",
    ),
    "merchantSearchSpace": lambda a: (
        {"merchantSearch": "a m"},
        "strpos(lower(e.merchant_name), 'a m') > 0",
    ),
    "merchantSearchPercent": lambda a: ({"merchantSearch": "%"}, "FALSE"),
    "merchantSearchUnderscore": lambda a: ({"merchantSearch": "U_er"}, "FALSE"),
    "hasReceipt": lambda a: ({"hasReceipt": True}, HAS_RECEIPT),
    "hasNoReceipt": lambda a: ({"hasReceipt": False}, f"NOT {HAS_RECEIPT}"),
    "spentRange": lambda a: (
        {"spentAfter": _at(21 * 20), "spentBefore": _at(21 * 4)},
        f"e.spent_at >= '{_at(21 * 20)}' AND e.spent_at < '{_at(21 * 4)}'",
    ),
    "updatedSince": lambda a: ({"updatedSince": _at(300)}, f"e.updated_at >= '{_at(300)}'"),
    "combined": lambda a: (
        {"statuses": ["DRAFT", "APPROVED", "REJECTED"], "hasReceipt": True, "merchantSearch": "u"},
        f"e.status IN ('DRAFT', 'APPROVED', 'REJECTED') AND {HAS_RECEIPT}"
        " AND strpos(lower(e.merchant_name), 'u') > 0",
    ),
}


async def expected_expenses(
    engine: AsyncEngine, biz: Biz, who: str, where: str, order: tuple[str, str]
) -> list[int]:
    """Return the ids of the expenses ``who`` sees that match ``where``, in API order."""
    visible, params = visible_expenses(biz, who)
    return await sql_list(engine, expense_sql(f"({visible}) AND ({where})", *order), **params)


def order_input(order: tuple[str, str]) -> dict[str, str]:
    """Return the ExpenseOrder input of (field, direction)."""
    return {"field": order[0], "direction": order[1]}
