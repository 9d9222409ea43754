"""API keys: authenticating with one (unknown, wrong, truncated, revoked), and what its
scopes let it read."""

import pytest

from app.auth import new_api_key
from tests.conftest import codes, gql, gql_raw
from tests.graphql.helpers_auth import gid
from tests.graphql.helpers_authentication import assert_rejected, send

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
