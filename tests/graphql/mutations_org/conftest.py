"""Shared by the organisation mutation tests: a business of the module's own, credentials
by name (roles of tests/world.py, API keys, another business's admin), stored rows and
audit events read back in plain SQL.
"""

import random
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.ids import encode_id
from tests.conftest import gql
from tests.graphql.mutations_catalog.org import Org, unknown_id
from tests.world import _business, insert_api_key

ERRORS = "userErrors { field code message }"
# who may: every credential of the role matrix, and what each gets
ALLOWED, NOT_FOUND, FORBIDDEN = "allowed", "NOT_FOUND", "FORBIDDEN"
MATRIX = {
    "admin": ALLOWED,
    "key:admin": ALLOWED,
    "finance": FORBIDDEN,
    "manager": FORBIDDEN,
    "employee": FORBIDDEN,
}


async def make_org(engine: AsyncEngine, name: str, seed: int) -> Org:
    """Insert a business called ``name`` (and another one) with an admin key and a read key."""
    rng = random.Random(seed)
    async with engine.begin() as conn:
        org = Org(
            biz=await _business(conn, f"{name} Ltd", "GBP", 5, rng),
            other=await _business(conn, f"{name}other Ltd", "USD", 5, rng),
        )
        org.keys["admin"] = await insert_api_key(conn, org.biz, ["admin"])
        org.keys["read"] = await insert_api_key(
            conn, org.biz, ["expenses:read", "cards:read", "teams:read", "cards:write"]
        )
    return org


def gid(type_name: str, id_: int) -> str:
    return encode_id(type_name, id_)


async def call(client: Any, query: str, as_: str | None, **variables: Any) -> dict[str, Any]:
    """Run a mutation and return its payload ``p`` (failing on any top-level error)."""
    return (await gql(client, query, variables, as_=as_))["p"]


async def call_unknown(
    client: Any,
    org: Org,
    query: str,
    which: str,
    type_name: str,
    *,
    another_type: str,
    other_business: int,
    input_: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run ``query`` as the admin on a ``type_name`` id of the ``which`` kind (UNKNOWN)."""
    global_id = unknown_id(
        which, type_name, another_type=another_type, other_business=other_business
    )
    variables: dict[str, Any] = {"id": global_id}
    if input_ is not None:
        variables["input"] = input_
    return await call(client, query, org.credential("admin"), **variables)


def errors(payload: dict[str, Any], key: str) -> list[tuple[str | None, str]]:
    """Return (field, code) of every userError, checking that no ``key`` object came back."""
    assert payload[key] is None, payload
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def one(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    """Return the one row of a SQL statement."""
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).one()


async def audit_of(engine: AsyncEngine, object_type: str, object_id: int) -> list[Any]:
    """Return the audit events of one object, oldest first."""
    async with engine.connect() as conn:
        result = await conn.execute(
            text(
                "SELECT * FROM audit_events WHERE object_type = :t AND object_id = :i"
                " ORDER BY at, id"
            ),
            {"t": object_type, "i": object_id},
        )
        return list(result.all())


async def audit_count(engine: AsyncEngine, business_id: int) -> int:
    """Return how many audit events the business has."""
    row = await one(
        engine, "SELECT count(*) AS n FROM audit_events WHERE business_id = :b", b=business_id
    )
    return int(row.n)
