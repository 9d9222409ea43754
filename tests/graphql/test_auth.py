"""Authentication (who is asking) and API key scopes (what a key may read)."""

import base64
import json
import time
import warnings
from typing import Any

import jwt
import pytest
from sqlalchemy import delete, insert

from app.auth import new_api_key
from db.tables.org import members
from tests.conftest import SETTINGS, codes, gql, gql_raw, token
from tests.graphql.helpers_auth import NEVER_USED_ID, gid

ROOT_FIELDS = {
    "viewer": "viewer { credential }",
    "expenses": "expenses { totalCount }",
    "cards": "cards { totalCount }",
    "members": "members { totalCount }",
    "teams": "teams { totalCount }",
    "categories": "categories { totalCount }",
    "receipts": "receipts { totalCount }",
}
EXPENSES = "{ expenses(first: 1) { nodes { id } } }"


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


async def send(client: Any, authorization: str | None, query: str = EXPENSES) -> Any:
    headers = {} if authorization is None else {"Authorization": authorization}
    return await client.post("/graphql", json={"query": query}, headers=headers)


def assert_rejected(response: Any) -> dict[str, Any]:
    """Assert a 401 with UNAUTHENTICATED and nothing else; return the body."""
    body = response.json()
    assert response.status_code == 401, body
    assert body.get("data") is None, body
    assert codes(body) == ["UNAUTHENTICATED"], body
    return body


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


# --- API keys ---


def _with_secret(key: str, secret: str) -> str:
    egk, prefix, _ = key.split("_", 2)
    return f"{egk}_{prefix}_{secret}"


async def test_unknown_api_key_with_valid_format(client):
    _, key = new_api_key()
    body = assert_rejected(await send(client, f"Bearer {key}"))
    assert key.split("_", 2)[2] not in body["errors"][0]["message"]


async def test_api_key_with_known_prefix_but_wrong_secret(client, world):
    real = world.keys["a_read"]
    _, unknown = new_api_key()
    wrong = _with_secret(real, unknown.split("_", 2)[2])
    body = assert_rejected(await send(client, f"Bearer {wrong}"))
    # the same answer as a key whose prefix does not exist: prefixes cannot be probed
    other = assert_rejected(await send(client, f"Bearer {unknown}"))
    assert body["errors"] == other["errors"]
    message = body["errors"][0]["message"]
    assert real.split("_", 2)[2] not in message and wrong.split("_", 2)[2] not in message


@pytest.mark.parametrize(
    "key", ["egk_", "egk__", "egk_abc", "egk_abc_", "egk__secret", "egk_" + "a" * 5000]
)
async def test_truncated_api_keys(client, key):
    assert_rejected(await send(client, f"Bearer {key}"))


async def test_revoked_api_key(client, world):
    key = world.keys["a_revoked"]
    body = assert_rejected(await send(client, f"Bearer {key}"))
    message = body["errors"][0]["message"]
    assert "revoked" in message.lower()
    assert key not in message and key.split("_", 2)[2] not in message


async def test_revoked_key_with_wrong_secret_looks_unknown(client, world):
    wrong = _with_secret(world.keys["a_revoked"], new_api_key()[1].split("_", 2)[2])
    body = assert_rejected(await send(client, f"Bearer {wrong}"))
    _, unknown = new_api_key()
    assert body["errors"] == assert_rejected(await send(client, f"Bearer {unknown}"))["errors"]


async def test_valid_api_keys_authenticate(client, world):
    for name, scopes in (
        ("a_read", ["cards:read", "expenses:read", "receipts:read", "teams:read"]),
        ("a_expenses_only", ["expenses:read"]),
    ):
        data = await gql(
            client, "{ viewer { credential scopes member { id } } }", as_=world.keys[name]
        )
        assert data["viewer"] == {"credential": "API_KEY", "scopes": scopes, "member": None}


# --- API key scopes ---

FORBIDDEN_FOR_EXPENSES_ONLY = {
    "cards": "{ cards { nodes { id } } }",
    "receipts": "{ receipts { nodes { id } } }",
    "teams": "{ teams { nodes { id } } }",
    "members": "{ members { nodes { id } } }",
    "Expense.receipts": "{ expenses(first: 1) { nodes { id receipts { id } } } }",
    "Member.cards": "{ expenses(first: 1) { nodes { id member { id cards { id } } } } }",
    "Team.members": "{ expenses(first: 1, filter: {statuses: [SUBMITTED]})"
    " { nodes { id team { id members { id } } } } }",
}


@pytest.mark.parametrize("field", list(FORBIDDEN_FOR_EXPENSES_ONLY))
async def test_expenses_only_key_is_forbidden(client, world, field):
    response = await gql_raw(
        client, FORBIDDEN_FOR_EXPENSES_ONLY[field], as_=world.keys["a_expenses_only"]
    )
    body = response.json()
    assert response.status_code == 200
    assert codes(body) == ["FORBIDDEN"], body
    if field == "Team.members":  # Expense.team is nullable: only the team collapses
        assert body["data"]["expenses"]["nodes"][0]["team"] is None
    else:  # the non-null parents collapse up to the root: nothing leaks
        assert body["data"] is None


@pytest.mark.parametrize("type_name", ["Card", "Receipt", "Team", "Member"])
async def test_expenses_only_key_node_is_forbidden(client, world, type_name):
    ids = {
        "Card": world.a.cards["employee"],
        "Receipt": world.a.receipt_ids[0],
        "Team": world.a.teams["sales"],
        "Member": world.a.members["employee"],
    }
    body = (
        await gql_raw(
            client,
            f'{{ node(id: "{gid(type_name, ids[type_name])}") {{ id }} }}',
            as_=world.keys["a_expenses_only"],
        )
    ).json()
    assert body["data"] == {"node": None}
    assert codes(body) == ["FORBIDDEN"]


async def test_expenses_only_key_reads_expenses(client, world):
    data = await gql(
        client,
        "{ categories { nodes { id } } expenses(first: 5) { totalCount nodes { id"
        " events { action } member { id expenses(first: 1) { totalCount } }"
        " team { id expenses(first: 1) { totalCount } }"
        " card { id expenses(first: 1) { totalCount } } category { name } } } }",
        as_=world.keys["a_expenses_only"],
    )
    assert len(data["categories"]["nodes"]) == 3
    assert len(data["expenses"]["nodes"]) == 5
    node = gid("Expense", world.a.expense_ids[1])
    found = await gql(
        client, f'{{ node(id: "{node}") {{ id }} }}', as_=world.keys["a_expenses_only"]
    )
    assert found == {"node": {"id": node}}


async def test_read_key_reads_everything(client, world):
    data = await gql(
        client,
        "{ expenses(first: 5) { nodes { id receipts { id } events { action }"
        " member { cards { id } } team { members { id } } } }"
        " cards { nodes { id holder { id } expenses(first: 1) { totalCount } } }"
        " members { nodes { id cards { id } team { id } } }"
        " teams { nodes { id manager { id } members { id } expenses(first: 1) { totalCount } } }"
        " receipts { nodes { id expense { id } uploadedBy { id } } }"
        " categories { nodes { id } } }",
        as_=world.keys["a_read"],
    )
    assert all(data[field]["nodes"] for field in data)
    ids = [
        gid("Card", world.a.cards["employee"]),
        gid("Receipt", world.a.receipt_ids[0]),
        gid("Team", world.a.teams["sales"]),
        gid("Member", world.a.members["employee"]),
        gid("Category", world.a.categories["Travel"]),
        gid("Expense", world.a.expense_ids[1]),
        gid("Business", world.a.id),
    ]
    found = await gql(
        client, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids},
        as_=world.keys["a_read"],
    )  # fmt: skip
    assert [n["id"] for n in found["nodes"]] == ids


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
