"""What the category, policy and card-issuing tests share: businesses of their own,
credentials by name, and the audit trail read back in SQL.

Every test module builds its own two businesses (tests.world._business): changes made
here never reach the shared ``world`` or another module's data.
"""

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables.org import categories
from resolvers.ids import encode_id
from tests.conftest import codes, gql, gql_raw, token
from tests.world import Biz, _business, insert_api_key

ERRORS = "userErrors { field code message }"
# key name -> scopes; "admin" may change the set-up, "write" may write expenses and cards
KEY_SCOPES = {
    "admin": ["admin"],
    "write": ["expenses:read", "expenses:write", "cards:read", "cards:write"],
    "read": ["expenses:read", "cards:read"],
    "cards": ["cards:read"],
}
MEMBERS = ("admin", "finance", "manager", "manager2", "employee", "employee2", "engineer")
# who may manage categories and policies: admins and finance, and keys with `admin`
ALLOWED = "allowed"
CATALOG_MATRIX = {
    "admin": ALLOWED,
    "finance": ALLOWED,
    "manager": "FORBIDDEN",
    "employee": "FORBIDDEN",
    "key:admin": ALLOWED,
    "key:write": "top:FORBIDDEN",  # no `admin` scope
    "anonymous": "top:UNAUTHENTICATED",
}


@dataclass
class Org:
    """A business of the module's own, another one, and the first one's API keys."""

    biz: Biz
    other: Biz
    keys: dict[str, str] = field(default_factory=dict)

    def credential(self, who: str) -> str | None:
        """Return the credential of a role key, ``key:<name>``, ``other_admin`` or ``anonymous``."""
        if who == "anonymous":
            return None
        if who.startswith("key:"):
            return self.keys[who[4:]]
        if who == "other_admin":
            return token(self.other, "admin")
        return token(self.biz, who)


# ids that must be NOT_FOUND: never used, malformed, another type's, another business's
UNKNOWN = ("never used", "malformed", "another type", "other business")


def unknown_id(which: str, type_name: str, *, another_type: str, other_business: int) -> str:
    """Return a ``type_name`` id that must be NOT_FOUND, of the ``which`` kind (UNKNOWN)."""
    return {
        "never used": encode_id(type_name, 999_999_999),
        "malformed": "not-an-id",
        "another type": another_type,
        "other business": encode_id(type_name, other_business),
    }[which]


async def build_org(engine: AsyncEngine, name: str, seed: int, home: str = "GBP") -> Org:
    """Insert two businesses (``name`` and its rival) and the first one's API keys."""
    rng = random.Random(seed)
    async with engine.begin() as conn:
        org = Org(
            biz=await _business(conn, f"{name} Ltd", home, 5, rng),
            other=await _business(conn, f"{name}rival Ltd", home, 5, rng),
        )
        for key, scopes in KEY_SCOPES.items():
            org.keys[key] = await insert_api_key(conn, org.biz, scopes)
    return org


async def call(client: httpx.AsyncClient, query: str, as_: str | None, **variables: Any) -> Any:
    """Run a mutation aliased ``p`` and return its payload (failing on top-level errors)."""
    return (await gql(client, query, variables, as_=as_))["p"]


async def refused(
    client: httpx.AsyncClient, query: str, as_: str | None, **variables: Any
) -> list[str]:
    """Run a mutation that must fail at the top level; return the error codes."""
    body = (await gql_raw(client, query, variables, as_=as_)).json()
    assert body.get("data") in (None, {"p": None}), body
    return codes(body)


def problems(payload: dict[str, Any], key: str) -> list[tuple[str | None, str]]:
    """Return (field, code) of every userError, checking the payload's object is empty."""
    assert payload[key] in (None, []), payload
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    """Return the one value of a SQL query."""
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    """Return every row of a SQL query."""
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def audit_trail(engine: AsyncEngine, biz: Biz, object_type: str, object_id: int) -> list[Any]:
    """Return (action, actor_member_id, actor_api_key_id, details) of an object, oldest first."""
    return await rows(
        engine,
        "SELECT action, actor_member_id, actor_api_key_id, details FROM audit_events"
        " WHERE business_id = :b AND object_type = :t AND object_id = :o ORDER BY at, id",
        b=biz.id, t=object_type, o=object_id,
    )  # fmt: skip


async def stored_row(engine: AsyncEngine, table: str, columns: str, row_id: int) -> tuple[Any, ...]:
    """Return ``columns`` of the row ``row_id`` of ``table`` as stored."""
    (row,) = await rows(engine, f"SELECT {columns} FROM {table} WHERE id = :i", i=row_id)
    return tuple(row)


async def census(engine: AsyncEngine, org: Org, table: str, columns: str = "*") -> tuple[Any, int]:
    """Return every row of ``table`` in the business as stored, and its number of audit events."""
    stored = await rows(
        engine, f"SELECT {columns} FROM {table} WHERE business_id = :b ORDER BY id", b=org.biz.id
    )
    return stored, await audit_count(engine, org.biz)


async def audit_count(engine: AsyncEngine, biz: Biz) -> int:
    """Return how many audit events the business has."""
    return int(
        await scalar(engine, "SELECT count(*) FROM audit_events WHERE business_id = :b", b=biz.id)
    )


async def key_id(engine: AsyncEngine, biz: Biz, key: str) -> int:
    """Return the row id of one of the org's API keys (named after its scopes)."""
    name = "+".join(KEY_SCOPES[key])
    return int(
        await scalar(
            engine, "SELECT id FROM api_keys WHERE business_id = :b AND name = :n", b=biz.id, n=name
        )
    )


def actor(org: Org, who: str) -> tuple[int | None, str | None]:
    """Return (member id, key name) expected as the audit actor of ``who``."""
    if who.startswith("key:"):
        return None, who[4:]
    return org.biz.members[who], None


# --- categories ---

CATEGORY = "id name glCode archivedAt createdAt"
UPSERT = f"mutation($input: [CategoryUpsertInput!]!) {{ p: upsertCategories(input: $input) {{ categories {{ {CATEGORY} }} {ERRORS} }} }}"  # fmt: skip


def tag() -> str:
    return uuid.uuid4().hex[:10]


def cgid(category_id: int) -> str:
    return encode_id("Category", category_id)


async def new_category(
    engine: AsyncEngine, org: Org, name: str, gl_code: str | None = None, *, archived: bool = False
) -> int:
    """Insert a category of the org's business; return its row id."""
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(categories)
            .values(business_id=org.biz.id, name=name, gl_code=gl_code,
                    archived_at=text("now()") if archived else None)
            .returning(categories.c.id)
        )  # fmt: skip
        return int(result.scalar_one())


async def stored_category(engine: AsyncEngine, category_id: int) -> tuple[str, str | None, bool]:
    """Return (name, gl_code, archived) of a category as stored."""
    (row,) = await rows(
        engine, "SELECT name, gl_code, archived_at FROM categories WHERE id = :i", i=category_id
    )
    return row.name, row.gl_code, row.archived_at is not None


async def category_census(engine: AsyncEngine, org: Org) -> tuple[Any, int]:
    """Return every category of the business as stored, and its number of audit events."""
    return await census(engine, org, "categories", "id, name, gl_code, archived_at")
