"""Shared by the organisation mutation tests: a business of the module's own, credentials
by name (roles of tests/world.py, API keys, another business's admin), stored rows and
audit events read back in plain SQL.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.ids import encode_id
from tests.graphql.mutations_catalog.helpers_calls import ALLOWED, call, call_unknown
from tests.graphql.mutations_catalog.helpers_orgs import Org, build_org, org_by_module

# who may: every credential of the role matrix, and what each gets
NOT_FOUND, FORBIDDEN = "NOT_FOUND", "FORBIDDEN"
MATRIX = {
    "admin": ALLOWED,
    "key:admin": ALLOWED,
    "finance": FORBIDDEN,
    "manager": FORBIDDEN,
    "employee": FORBIDDEN,
}


async def make_org(engine: AsyncEngine, name: str, seed: int) -> Org:
    """Insert a business called ``name`` (and another one) with an admin key and a read key."""
    read = ["expenses:read", "cards:read", "teams:read", "cards:write"]
    keys = {"admin": ["admin"], "read": read}
    return await build_org(engine, name, seed, rival=f"{name}other", rival_home="USD", keys=keys)


# each test module's business of its own: Memberco for the member tests, Teamco for the team ones
org = org_by_module({"test_member": ("Memberco", 43), "test_team": ("Teamco", 41)}, make=make_org)


def gid(type_name: str, id_: int) -> str:
    return encode_id(type_name, id_)


def refusal(who: str) -> tuple[str | None, str] | None:
    """Return the userError ``who`` gets changing an object of the module's business, or None
    when ``who`` may (``who``: a credential of MATRIX or ``other_admin``)."""
    if who == "other_admin":  # our ids are unknown in their business
        return "id", NOT_FOUND
    return None if MATRIX[who] == ALLOWED else (None, MATRIX[who])


async def changed_by(
    client: Any, org: Org, who: str, query: str, key: str, variables: dict[str, Any],
    state: Callable[[], Awaitable[Any]],
) -> bool:  # fmt: skip
    """Run ``query`` as ``who`` on an object of the module's business and check the outcome
    refusal() says: done, and its ``state()`` changed, or refused, and unchanged. Return
    whether it was done."""
    before = await state()
    payload = await call(client, query, org.credential(who), **variables)
    refused = refusal(who)
    if refused is None:
        assert payload["userErrors"] == []
        assert await state() != before
    else:
        assert errors(payload, key) == [refused]
        assert await state() == before
    return refused is None


async def missing(
    client: Any, org: Org, query: str, which: str, type_name: str, *, another_type: str,
    other_business: int, input_: dict[str, Any] | None,
) -> None:  # fmt: skip
    """Run ``query`` as the admin on a ``type_name`` id of the ``which`` kind (UNKNOWN) and
    check that it is missing: NOT_FOUND, with no object back."""
    payload = await call_unknown(
        client, org, query, which, type_name, another_type=another_type,
        other_business=other_business, input_=input_,
    )  # fmt: skip
    assert errors(payload, type_name.lower()) == [("id", NOT_FOUND)]


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


async def counted(engine: AsyncEngine, org: Org, table: str) -> tuple[int, int]:
    """Return how many rows of ``table`` and how many audit events the business has."""
    row = await one(
        engine, f"SELECT count(*) AS n FROM {table} WHERE business_id = :b", b=org.biz.id
    )
    return int(row.n), await audit_count(engine, org.biz.id)
