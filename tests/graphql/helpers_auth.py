"""Shared helpers of the authorization tests: credentials by name, page walking, and the
visibility rules of DESIGN.md section 4 written again in plain SQL (never via db/visibility.py),
so the API's answers are checked against an independent statement of the rule.
"""

from collections.abc import Iterable
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.ids import decode_id, encode_id
from tests.conftest import gql, token
from tests.world import Biz, World

ROLES = ("admin", "finance", "manager", "manager2", "employee", "employee2", "engineer")
# every viewer of business A: its members by role key, and its full-read API key
VIEWERS_A = (*ROLES, "key")
NEVER_USED_ID = 999_999_999

NODE_TYPE_OF_LIST = {
    "expenses": "Expense",
    "cards": "Card",
    "members": "Member",
    "teams": "Team",
    "categories": "Category",
    "receipts": "Receipt",
}


def credential(world: World, who: str, biz: Biz | None = None) -> str:
    """Return the bearer credential of ``who``: a role key of ``biz`` (default A) or "key"."""
    biz = biz or world.a
    if who == "key":
        return world.keys["a_read"] if biz is world.a else world.keys["b_read"]
    return token(biz, who)


def gid(type_name: str, id_: int) -> str:
    """Return the global id of a row."""
    return encode_id(type_name, id_)


def row_id(global_id: str) -> int:
    """Return the row id of a global id."""
    return decode_id(global_id)[1]


def row_ids(global_ids: Iterable[str]) -> set[int]:
    """Return the row ids of global ids."""
    return {row_id(g) for g in global_ids}


async def walk(
    client: httpx.AsyncClient, field: str, *, as_: str, args: str = ""
) -> list[dict[str, Any]]:
    """Return every node of a root connection, walking pages of 100 by cursor."""
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    extra = f", {args}" if args else ""
    while True:
        data = await gql(
            client,
            f"query($after: String) {{ {field}(first: 100, after: $after{extra}) {{"
            " totalCount nodes { id } pageInfo { hasNextPage endCursor } } }",
            {"after": after},
            as_=as_,
        )
        page = data[field]
        nodes.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            assert page["totalCount"] == len(nodes), (field, page["totalCount"], len(nodes))
            return nodes
        after = page["pageInfo"]["endCursor"]


# Teams the member manages; only a MANAGER's managed teams widen what they see.
_MANAGED = (
    "(SELECT t.id FROM teams t JOIN members m ON m.id = t.manager_id"
    " WHERE t.business_id = :b AND t.manager_id = :me AND m.role = 'MANAGER')"
)
# Expenses by ownership (deleted ones included: deletion hides them from lists only).
_OWN_EXPENSES = (
    "(SELECT id FROM expenses WHERE business_id = :b"
    f" AND (:whole OR member_id = :me OR team_id IN {_MANAGED}))"
)
RULES = {
    "expenses": "SELECT id FROM expenses WHERE business_id = :b AND deleted_at IS NULL"
    f" AND (:whole OR member_id = :me OR team_id IN {_MANAGED})",
    "expenses_any": f"SELECT id FROM expenses WHERE id IN {_OWN_EXPENSES}",
    "members": "SELECT id FROM members WHERE business_id = :b"
    f" AND (:whole OR id = :me OR team_id IN {_MANAGED})",
    "cards": "SELECT id FROM cards WHERE business_id = :b"
    f" AND (:whole OR holder_id = :me OR team_id IN {_MANAGED})",
    "teams": "SELECT id FROM teams WHERE business_id = :b AND (:whole"
    f" OR id IN {_MANAGED} OR id = (SELECT team_id FROM members WHERE id = :me))",
    "categories": "SELECT id FROM categories WHERE business_id = :b",
    "receipts": "SELECT id FROM receipts WHERE business_id = :b AND (:whole"
    f" OR uploaded_by = :me OR expense_id IN {_OWN_EXPENSES}"
    " OR uploaded_by IN (SELECT id FROM members WHERE business_id = :b"
    f" AND team_id IN {_MANAGED}))",
}


async def expected_ids(engine: AsyncEngine, biz: Biz, who: str, rule: str) -> set[int]:
    """Return the ids of ``rule``'s table that ``who`` of ``biz`` may see, by the SQL rule."""
    me = biz.members.get(who, 0)  # 0: an API key, which is nobody
    async with engine.connect() as conn:
        role = "API_KEY"
        if who != "key":
            role = (
                await conn.execute(text("SELECT role FROM members WHERE id = :me"), {"me": me})
            ).scalar_one()
        statement = text(RULES[rule])
        whole = role in ("ADMIN", "FINANCE", "API_KEY")
        result = await conn.execute(statement, {"b": biz.id, "me": me, "whole": whole})
        return {row[0] for row in result}


async def sql_ids(engine: AsyncEngine, statement: str, **params: Any) -> set[int]:
    """Return the first column of a SQL statement as a set."""
    async with engine.connect() as conn:
        return {row[0] for row in await conn.execute(text(statement), params)}
