"""createApiKey and revokeApiKey: admins only, the secret shown once and stored as a hash,
a revoked key refused from the very next request. On a business of this module's own.
"""

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth import hash_secret, new_api_key
from db.permissions import ALL_PERMISSIONS, Permission
from db.tables.api import api_keys
from resolvers.ids import encode_id
from tests.conftest import codes, gql, gql_raw
from tests.graphql.mutations_catalog.helpers_calls import ERRORS, call
from tests.graphql.mutations_catalog.helpers_orgs import Org, build_org
from tests.world import Biz

KEY = "id name prefix scopes createdAt lastUsedAt revokedAt"
CREATE = (
    "mutation($name: String!, $scopes: [ApiKeyScope!]!) {"
    f" p: createApiKey(name: $name, scopes: $scopes) {{ apiKey {{ {KEY} }} secret {ERRORS} }} }}"
)
REVOKE = (
    f"mutation($id: ID!) {{ p: revokeApiKey(id: $id) {{ apiKey {{ {KEY} }} secret {ERRORS} }} }}"
)
VIEWER = "{ viewer { credential scopes } }"


@dataclass
class Keyco(Org):
    """The module's business, another one, API keys by name and their row ids."""

    key_ids: dict[str, int] = field(default_factory=dict)


async def _key(conn: Any, biz: Biz, scopes: list[str]) -> tuple[str, int]:
    prefix, key = new_api_key()
    result = await conn.execute(
        insert(api_keys).values(
            business_id=biz.id, name="+".join(scopes), prefix=prefix,
            secret_hash=hash_secret(key), scopes=scopes,
        ).returning(api_keys.c.id)
    )  # fmt: skip
    return key, int(result.scalar_one())


@pytest.fixture(scope="module")
async def co(engine: AsyncEngine) -> Keyco:
    org = await build_org(engine, "Keyco", 29, rival="Keyother", rival_home="USD", keys={})
    co = Keyco(biz=org.biz, other=org.other)
    async with engine.begin() as conn:
        for name, biz, scopes in (
            ("admin", co.biz, ["admin"]),
            ("write", co.biz, ["expenses:read", "expenses:write", "cards:read", "cards:write"]),
            ("other", co.other, ["expenses:read"]),
        ):
            co.keys[name], co.key_ids[name] = await _key(conn, biz, scopes)
    return co


def errors(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    """Return (field, code) of every userError, checking that nothing else came back."""
    assert payload["apiKey"] is None and payload["secret"] is None, payload
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def key_rows(engine: AsyncEngine, business_id: int) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT * FROM api_keys WHERE business_id = :b ORDER BY id"), {"b": business_id}
        )
        return list(result.all())


async def create(
    client: Any, co: Keyco, name: str, scopes: list[str], who: str = "admin"
) -> dict[str, Any]:
    payload = await call(client, CREATE, co.credential(who), name=name, scopes=scopes)
    assert payload["userErrors"] == [], payload
    return payload


async def authenticates(client: Any, key: str) -> bool:
    """Return True when ``key`` is accepted, False on the 401 of a bad credential."""
    response = await gql_raw(client, VIEWER, as_=key)
    if response.status_code == 401:
        assert codes(response.json()) == ["UNAUTHENTICATED"]
        return False
    assert response.status_code == 200 and "errors" not in response.json(), response.json()
    return True


# --- createApiKey ---


async def test_create_returns_the_secret_once_and_stores_only_its_hash(client, engine, co):
    before = await key_rows(engine, co.biz.id)
    payload = await create(
        client, co, "  Ledgerly sync  ", ["CARDS_READ", "EXPENSES_READ", "CARDS_READ"]
    )
    key, secret = payload["apiKey"], payload["secret"]
    assert key["name"] == "Ledgerly sync"
    assert key["scopes"] == ["EXPENSES_READ", "CARDS_READ"]  # deduplicated, in a fixed order
    assert key["revokedAt"] is None and key["lastUsedAt"] is None and key["createdAt"]
    assert secret.startswith(f"egk_{key['prefix']}_") and len(secret) > 40
    rows = await key_rows(engine, co.biz.id)
    assert len(rows) == len(before) + 1
    row = rows[-1]
    assert key["id"] == encode_id("ApiKey", row.id)
    assert (row.prefix, row.scopes) == (key["prefix"], ["expenses:read", "cards:read"])
    assert row.created_by == co.biz.members["admin"]
    assert bytes(row.secret_hash) == hashlib.sha256(secret.encode()).digest()
    stored = " ".join(str(v) for v in row)
    assert secret.split("_", 2)[2] not in stored
    # the key works at once, with exactly its scopes
    viewer = await gql(client, VIEWER, as_=secret)
    assert viewer["viewer"] == {"credential": "API_KEY", "scopes": ["cards:read", "expenses:read"]}
    cards = await gql(client, "{ cards { totalCount } }", as_=secret)
    assert cards["cards"]["totalCount"] == len(co.biz.cards)
    body = (await gql_raw(client, "{ teams { totalCount } }", as_=secret)).json()
    assert codes(body) == ["FORBIDDEN"]


async def test_the_secret_is_never_shown_again(client, co):
    payload = await create(client, co, "once", ["ADMIN"])
    revoked = await call(client, REVOKE, co.credential("admin"), id=payload["apiKey"]["id"])
    assert revoked["secret"] is None
    assert payload["secret"].split("_", 2)[2] not in str(revoked)


async def test_an_admin_key_may_create_keys(client, engine, co):
    payload = await create(client, co, "made by a key", ["EXPENSES_WRITE"], who="key:admin")
    row = (await key_rows(engine, co.biz.id))[-1]
    assert row.created_by is None  # no member made it
    assert await authenticates(client, payload["secret"])


@pytest.mark.parametrize("who", ["finance", "manager", "employee"])
async def test_only_admins_create_keys(client, engine, co, who):
    before = await key_rows(engine, co.biz.id)
    payload = await call(client, CREATE, co.credential(who), name="mine", scopes=["ADMIN"])
    assert errors(payload) == [(None, "FORBIDDEN")]
    assert await key_rows(engine, co.biz.id) == before


async def test_a_key_without_the_admin_scope_is_refused_at_the_top(client, engine, co):
    before = await key_rows(engine, co.biz.id)
    body = (
        await gql_raw(client, CREATE, {"name": "x", "scopes": ["ADMIN"]}, as_=co.keys["write"])
    ).json()
    assert codes(body) == ["FORBIDDEN"] and body["data"] == {"p": None}
    assert await key_rows(engine, co.biz.id) == before


async def test_anonymous_callers_cannot_create_keys(client, engine, co):
    before = await key_rows(engine, co.biz.id)
    body = (await gql_raw(client, CREATE, {"name": "x", "scopes": ["ADMIN"]}, as_=None)).json()
    assert codes(body) == ["UNAUTHENTICATED"]
    assert await key_rows(engine, co.biz.id) == before


@pytest.mark.parametrize(
    ("name", "scopes", "expected"),
    [
        ("", ["ADMIN"], ("name", "INVALID_VALUE")),
        ("   ", ["ADMIN"], ("name", "INVALID_VALUE")),
        ("x" * 201, ["ADMIN"], ("name", "INVALID_VALUE")),
        ("fine", [], ("scopes", "INVALID_VALUE")),
    ],
)
async def test_invalid_keys_are_not_created(client, engine, co, name, scopes, expected):
    before = await key_rows(engine, co.biz.id)
    payload = await call(client, CREATE, co.credential("admin"), name=name, scopes=scopes)
    assert errors(payload) == [expected]
    assert await key_rows(engine, co.biz.id) == before


async def test_unknown_scopes_are_malformed_requests(client, co):
    body = (
        await gql_raw(client, CREATE, {"name": "x", "scopes": ["ROOT"]}, as_=co.credential("admin"))
    ).json()
    assert codes(body) == ["BAD_USER_INPUT"]


def test_every_permission_is_stored_in_a_stable_order():
    assert sorted(ALL_PERMISSIONS) == sorted(Permission)


# --- revokeApiKey ---


async def test_a_revoked_key_fails_from_the_next_request(client, engine, co):
    secret = (await create(client, co, "to revoke", ["EXPENSES_READ"]))["secret"]
    row_id = (await key_rows(engine, co.biz.id))[-1].id
    key_id = encode_id("ApiKey", row_id)
    assert await authenticates(client, secret)
    payload = await call(client, REVOKE, co.credential("admin"), id=key_id)
    assert payload["userErrors"] == []
    assert payload["apiKey"]["id"] == key_id and payload["apiKey"]["revokedAt"]
    response = await gql_raw(client, VIEWER, as_=secret)
    assert response.status_code == 401
    assert codes(response.json()) == ["UNAUTHENTICATED"]
    assert "revoked" in response.json()["errors"][0]["message"]
    # a second revocation is refused and keeps the first one's time
    revoked_at = {r.id: r.revoked_at for r in await key_rows(engine, co.biz.id)}[row_id]
    again = await call(client, REVOKE, co.credential("admin"), id=key_id)
    assert errors(again) == [("id", "INVALID_TRANSITION")]
    assert {r.id: r.revoked_at for r in await key_rows(engine, co.biz.id)}[row_id] == revoked_at
    assert revoked_at is not None


async def test_a_key_may_revoke_itself_and_its_children_live_on(client, engine, co):
    payload = await create(client, co, "self-revoking", ["ADMIN"])
    secret, own_id = payload["secret"], payload["apiKey"]["id"]
    child = await call(client, CREATE, secret, name="child", scopes=["TEAMS_READ"])
    assert child["userErrors"] == []
    revoked = await call(client, REVOKE, secret, id=own_id)
    assert revoked["userErrors"] == []
    assert not await authenticates(client, secret)
    assert await authenticates(client, child["secret"])


@pytest.mark.parametrize("who", ["finance", "manager", "employee"])
async def test_only_admins_revoke_keys(client, co, who):
    key_id = encode_id("ApiKey", co.key_ids["write"])
    payload = await call(client, REVOKE, co.credential(who), id=key_id)
    assert errors(payload) == [(None, "FORBIDDEN")]
    assert await authenticates(client, co.keys["write"])


async def test_a_key_without_the_admin_scope_cannot_revoke(client, co):
    body = (
        await gql_raw(
            client, REVOKE, {"id": encode_id("ApiKey", co.key_ids["admin"])}, as_=co.keys["write"]
        )
    ).json()
    assert codes(body) == ["FORBIDDEN"]
    assert await authenticates(client, co.keys["admin"])


@pytest.mark.parametrize(
    "which", ["never used", "malformed", "a card id", "padded", "other business"]
)
async def test_unknown_keys_are_not_found(client, co, which):
    other = encode_id("ApiKey", co.key_ids["other"])
    global_id = {
        "never used": encode_id("ApiKey", 999_999_999),
        "malformed": "not-an-id",
        "a card id": encode_id("Card", co.biz.cards["employee"]),
        "padded": encode_id("ApiKey", co.key_ids["write"]) + "==",
        "other business": other,
    }[which]
    payload = await call(client, REVOKE, co.credential("admin"), id=global_id)
    assert errors(payload) == [("id", "NOT_FOUND")]
    assert payload["userErrors"][0]["message"] == "No API key with that id."
    assert await authenticates(client, co.keys["other"])
    assert await authenticates(client, co.keys["write"])


async def test_api_key_ids_are_not_node_ids(client, co):
    body = (
        await gql_raw(
            client, "query($id: ID!) { node(id: $id) { id } }",
            {"id": encode_id("ApiKey", co.key_ids["write"])}, as_=co.credential("admin"),
        )
    ).json()  # fmt: skip
    assert codes(body) == ["BAD_USER_INPUT"]
