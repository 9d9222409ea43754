"""What the category, policy and card-issuing tests share: businesses of their own,
credentials by name, and the audit trail read back in SQL.

Every test module builds its own two businesses (tests.world._business): changes made
here never reach the shared ``world`` or another module's data.
"""

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import Table, insert, text
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


# what a refused call must leave as it was: the rows of a table, and the audit events
Census = Callable[[AsyncEngine, Org], Awaitable[Any]]

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


async def build_org(
    engine: AsyncEngine,
    name: str,
    seed: int,
    home: str = "GBP",
    *,
    rival: str = "",
    rival_home: str = "",
    keys: dict[str, list[str]] = KEY_SCOPES,
) -> Org:
    """Insert two businesses (``name`` and its ``rival``, by default ``name`` + "rival") and
    the first one's API keys (name -> scopes)."""
    rng = random.Random(seed)
    async with engine.begin() as conn:
        org = Org(
            biz=await _business(conn, f"{name} Ltd", home, 5, rng),
            other=await _business(
                conn, f"{rival or name + 'rival'} Ltd", rival_home or home, 5, rng
            ),
        )
        for key, scopes in keys.items():
            org.keys[key] = await insert_api_key(conn, org.biz, scopes)
    return org


async def inserted(engine: AsyncEngine, table: Table, **values: Any) -> int:
    """Insert a row into ``table`` in a transaction of its own; return its id."""
    async with engine.begin() as conn:
        result = await conn.execute(insert(table).values(**values).returning(table.c.id))
        return int(result.scalar_one())


def org_fixture(
    name: str, seed: int, make: Callable[[AsyncEngine, str, int], Awaitable[Org]] | None = None
) -> Any:
    """Return a test module's ``org`` fixture: its own two businesses, made once by ``make``
    (default build_org)."""

    @pytest.fixture(scope="module")
    async def org(engine: AsyncEngine) -> Org:
        return await (make or build_org)(engine, name, seed)

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


async def call_unknown(
    client: httpx.AsyncClient,
    org: Org,
    query: str,
    which: str,
    type_name: str,
    *,
    another_type: str,
    other_business: int,
    input_: dict[str, Any] | None = None,
) -> Any:
    """Run ``query`` as the admin on a ``type_name`` id of the ``which`` kind (UNKNOWN)."""
    global_id = unknown_id(
        which, type_name, another_type=another_type, other_business=other_business
    )
    variables: dict[str, Any] = {"id": global_id}
    if input_ is not None:
        variables["input"] = input_
    return await call(client, query, org.credential("admin"), **variables)


async def attempt(
    client: httpx.AsyncClient, query: str, org: Org, who: str, expected: str, key: str,
    **variables: Any,
) -> Any:  # fmt: skip
    """Run ``query`` as ``who`` and check the outcome a who-may matrix ``expected``.

    ALLOWED: no userError, and the payload is returned. "top:<code>": refused at the top
    level. "<code>" or "<field>:<code>": that one userError, with no ``key`` object. A
    refusal returns None.
    """
    if expected.startswith("top:"):
        assert await refused(client, query, org.credential(who), **variables) == [expected[4:]]
        return None
    payload = await call(client, query, org.credential(who), **variables)
    if expected == ALLOWED:
        assert payload["userErrors"] == [], payload
        return payload
    field, _, code = expected.rpartition(":")
    assert problems(payload, key) == [(field or None, code)]
    return None


def problems(payload: dict[str, Any], key: str) -> list[tuple[str | None, str]]:
    """Return (field, code) of every userError, checking the payload's object is empty."""
    assert payload[key] in (None, []), payload
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def rule_errors(
    client: httpx.AsyncClient, engine: AsyncEngine, org: Org, census_of: Census, query: str,
    key: str, **variables: Any,
) -> list[tuple[str | None, str]]:  # fmt: skip
    """Run ``query`` as the admin; return (field, code) of every userError, checking that no
    ``key`` object came back and that ``census_of`` the business is as it was."""
    before = await census_of(engine, org)
    payload = await call(client, query, org.credential("admin"), **variables)
    found = problems(payload, key)
    assert await census_of(engine, org) == before
    return found


async def at_once(
    client: httpx.AsyncClient, query: str, org: Org, calls: Iterable[tuple[str, Any]]
) -> list[Any]:
    """Send ``query`` as each (who, variables) of ``calls`` at the same time; return their
    payloads ``p``, checking that each answered 200 with no top-level error."""
    responses = await asyncio.gather(*(
        gql_raw(client, query, variables, as_=org.credential(who)) for who, variables in calls
    ))  # fmt: skip
    bodies = [response.json() for response in responses]
    assert all(
        response.status_code == 200 and "errors" not in body
        for response, body in zip(responses, bodies, strict=True)
    ), bodies
    return [body["data"]["p"] for body in bodies]


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


async def actor_ids(engine: AsyncEngine, org: Org, who: str) -> tuple[int | None, int | None]:
    """Return (member id, API key id) expected as the audit actor of ``who``."""
    if who.startswith("key:"):
        return None, await key_id(engine, org.biz, who[4:])
    return org.biz.members[who], None


async def check_last_actor(engine: AsyncEngine, org: Org, object_type: str, who: str) -> None:
    """Check that the business's latest audit event on ``object_type`` was done by ``who``."""
    (event,) = await rows(
        engine, "SELECT actor_member_id, actor_api_key_id FROM audit_events"
        " WHERE business_id = :b AND object_type = :t ORDER BY id DESC LIMIT 1",
        b=org.biz.id, t=object_type,
    )  # fmt: skip
    assert tuple(event) == await actor_ids(engine, org, who)


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
    archived_at = text("now()") if archived else None
    return await inserted(
        engine, categories, business_id=org.biz.id, name=name, gl_code=gl_code,
        archived_at=archived_at,
    )  # fmt: skip


async def stored_category(engine: AsyncEngine, category_id: int) -> tuple[str, str | None, bool]:
    """Return (name, gl_code, archived) of a category as stored."""
    (row,) = await rows(
        engine, "SELECT name, gl_code, archived_at FROM categories WHERE id = :i", i=category_id
    )
    return row.name, row.gl_code, row.archived_at is not None


async def category_census(engine: AsyncEngine, org: Org) -> tuple[Any, int]:
    """Return every category of the business as stored, and its number of audit events."""
    return await census(engine, org, "categories", "id, name, gl_code, archived_at")
