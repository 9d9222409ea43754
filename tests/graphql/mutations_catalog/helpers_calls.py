"""Calling the mutations of the category, policy, card and organisation tests, and checking
their outcome: payloads, userErrors, top-level refusals, unknown ids, who-may matrices and
concurrent calls.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.ids import encode_id
from tests.conftest import codes, gql, gql_raw
from tests.graphql.mutations_catalog.helpers_orgs import Org

ERRORS = "userErrors { field code message }"
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
