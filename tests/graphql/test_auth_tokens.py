"""Authentication (who is asking): no credential, a malformed one, and user tokens refused
or accepted."""

import base64
import json
import time
import warnings
from typing import Any

import jwt
import pytest
from sqlalchemy import delete, insert

from db.tables.org import members
from tests.conftest import SETTINGS, codes, gql, token
from tests.graphql.helpers_auth import NEVER_USED_ID, gid
from tests.graphql.helpers_authentication import assert_rejected, send

ROOT_FIELDS = {
    "viewer": "viewer { credential }",
    "expenses": "expenses { totalCount }",
    "cards": "cards { totalCount }",
    "members": "members { totalCount }",
    "teams": "teams { totalCount }",
    "categories": "categories { totalCount }",
    "receipts": "receipts { totalCount }",
}


def claims(world: Any, **overrides: Any) -> dict[str, Any]:
    """Return valid token claims for A's admin, with ``overrides`` (None removes a claim)."""
    now = int(time.time())
    base = {
        "iss": SETTINGS.jwt_issuer,
        "aud": SETTINGS.jwt_audience,
        "sub": str(world.a.members["admin"]),
        "bid": world.a.id,
        "iat": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def signed(
    payload: dict[str, Any], secret: str = SETTINGS.jwt_secret, algorithm: str = "HS256"
) -> str:
    """Return ``payload`` signed with ``secret`` (the app's by default)."""
    with warnings.catch_warnings():
        # HS512 wants a longer key than the test secret: irrelevant, the app must refuse it
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(payload, secret, algorithm=algorithm)


# --- no credential: refused before validation (401), nothing but introspection runs ---


async def test_no_credential_refuses_every_root_field_at_once(client, statements):
    query = "{ " + " ".join(ROOT_FIELDS.values()) + " }"
    statements.reset()
    body = assert_rejected(await send(client, None, query))
    assert len(body["errors"]) == 1 and "path" not in body["errors"][0]
    assert statements.count == 0  # refused before validation, let alone SQL


@pytest.mark.parametrize("field", list(ROOT_FIELDS))
async def test_no_credential_single_root_field(client, field):
    assert_rejected(await send(client, None, "{ " + ROOT_FIELDS[field] + " }"))


async def test_no_credential_node_and_nodes(client, world):
    expense = gid("Expense", world.a.expense_ids[1])
    assert_rejected(await send(client, None, f'{{ node(id: "{expense}") {{ id }} }}'))
    assert_rejected(await send(client, None, f'{{ nodes(ids: ["{expense}"]) {{ id }} }}'))


async def test_no_credential_introspection_still_runs(client):
    body = (await send(client, None, "{ __typename __schema { queryType { name } } }")).json()
    assert body["data"]["__schema"]["queryType"]["name"] == "Query" and "errors" not in body


@pytest.mark.parametrize(
    "query",
    [
        '{ node(id: "not-an-id") { id } }',
        '{ node(id: "RXhwZW5zZUV2ZW50OjE") { id } }',  # ExpenseEvent:1, not fetchable
        '{ cards(filter: {holderIds: ["not-an-id"]}) { totalCount } }',
    ],
)
async def test_no_credential_wins_over_argument_errors(client, query):
    """Every root field of an anonymous request is UNAUTHENTICATED, whatever its arguments."""
    body = (await send(client, None, query)).json()
    assert codes(body) == ["UNAUTHENTICATED"], body


# --- a bad credential: HTTP 401, no data ---


@pytest.mark.parametrize(
    "authorization",
    ["Basic YWRtaW46YWRtaW4=", "Token abc", "Bearer", "Bearer    ", "", "abc", "Bearerabc"],
)
async def test_malformed_authorization_header(client, authorization):
    assert_rejected(await send(client, authorization))


async def test_non_bearer_scheme_with_a_valid_token(client, world):
    assert_rejected(await send(client, f"Token {token(world.a, 'admin')}"))
    assert_rejected(await send(client, f"Basic {token(world.a, 'admin')}"))


async def test_bearer_scheme_is_case_insensitive(client, world):
    response = await send(client, f"bearer {token(world.a, 'admin')}")
    assert response.status_code == 200
    assert "errors" not in response.json()


@pytest.mark.parametrize("garbage", ["not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.", "x" * 5000])
async def test_garbage_token(client, garbage):
    assert_rejected(await send(client, f"Bearer {garbage}"))


def bad_tokens(world: Any) -> dict[str, str]:
    """Return tokens that are each wrong in one way, by what is wrong."""
    now = int(time.time())
    a = world.a
    return {
        "expired": signed(claims(world, iat=now - 7200, exp=now - 3600)),
        "wrong secret": signed(claims(world), secret="another-secret-" + "y" * 32),
        "wrong audience": signed(claims(world, aud="someone-else")),
        "wrong issuer": signed(claims(world, iss="evil-issuer")),
        "no exp": signed(claims(world, exp=None)),
        "no sub": signed(claims(world, sub=None)),
        "no bid": signed(claims(world, bid=None)),
        "no aud": signed(claims(world, aud=None)),
        "no iss": signed(claims(world, iss=None)),
        "alg none": jwt.encode(claims(world), None, algorithm="none"),  # type: ignore[arg-type]
        "HS512": signed(claims(world), algorithm="HS512"),
        "non-numeric sub": signed(claims(world, sub="admin")),
        "non-numeric bid": signed(claims(world, bid="alpha")),
        "nonexistent member": signed(claims(world, sub=str(NEVER_USED_ID))),
        "member of B, bid of A": signed(claims(world, sub=str(world.b.members["admin"]))),
        "member of A, bid of B": signed(claims(world, bid=world.b.id)),
        "bid of no business": signed(claims(world, bid=NEVER_USED_ID)),
        "member of A, bid of A, tampered payload": _tampered(token(a, "employee"), world),
    }


def _tampered(good: str, world: Any) -> str:
    """Return ``good`` with its payload replaced (sub -> admin) but its signature kept."""
    header, _, signature = good.split(".")
    payload = base64.urlsafe_b64encode(json.dumps(claims(world)).encode()).decode().rstrip("=")
    return f"{header}.{payload}.{signature}"


@pytest.mark.parametrize(
    "case",
    [
        "expired", "wrong secret", "wrong audience", "wrong issuer", "no exp", "no sub",
        "no bid", "no aud", "no iss", "alg none", "HS512", "non-numeric sub",
        "non-numeric bid", "nonexistent member", "member of B, bid of A",
        "member of A, bid of B", "bid of no business",
        "member of A, bid of A, tampered payload",
    ],
)  # fmt: skip
async def test_invalid_user_token(client, world, case):
    bad = bad_tokens(world)[case]
    body = assert_rejected(await send(client, f"Bearer {bad}"))
    assert bad not in body["errors"][0]["message"]


async def test_expired_token_says_so(client, world):
    body = assert_rejected(await send(client, f"Bearer {bad_tokens(world)['expired']}"))
    assert "expired" in body["errors"][0]["message"].lower()


async def test_crafted_valid_token_is_accepted(client, world):
    """Control for the cases above: the same claims, correctly signed, do work."""
    data = await gql(client, "{ viewer { credential } }", as_=signed(claims(world)))
    assert data == {"viewer": {"credential": "MEMBER"}}


async def test_token_of_a_deleted_member(client, engine, world):
    async with engine.begin() as conn:
        member_id = (
            await conn.execute(
                insert(members)
                .values(
                    business_id=world.a.id, name="Leaver", role="ADMIN", email="leaver@alpha.test"
                )
                .returning(members.c.id)
            )
        ).scalar_one()
    try:
        leaver = signed(claims(world, sub=str(member_id)))
        data = await gql(client, "{ viewer { member { email } } }", as_=leaver)
        assert data["viewer"]["member"]["email"] == "leaver@alpha.test"
    finally:
        async with engine.begin() as conn:
            await conn.execute(delete(members).where(members.c.id == member_id))
    assert_rejected(await send(client, f"Bearer {leaver}"))


async def test_role_comes_from_the_database_not_the_token(client, world):
    """A token claiming a role is ignored: an employee stays an employee."""
    forged = signed(claims(world, sub=str(world.a.members["employee"]), role="ADMIN"))
    data = await gql(client, "{ viewer { member { role } } members { totalCount } }", as_=forged)
    assert data["viewer"]["member"]["role"] == "EMPLOYEE"
    assert data["members"]["totalCount"] == 1


async def test_get_requests_are_authenticated_too(client, world):
    params = {"query": "{ viewer { credential } }"}
    response = await client.get("/graphql", params=params)
    assert codes(response.json()) == ["UNAUTHENTICATED"]
    assert response.json()["data"] is None
    bad = signed(claims(world, aud="someone-else"))
    assert_rejected(
        await client.get("/graphql", params=params, headers={"Authorization": f"Bearer {bad}"})
    )
    good = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    response = await client.get("/graphql", params=params, headers=good)
    assert response.json()["data"] == {"viewer": {"credential": "MEMBER"}}
