"""A credential read stands for the fast lane's queries for a while (app/auth.py LastPrincipals).

Within EXPENSEGRAPH_CREDENTIAL_CACHE_MS of its read, a known query sent with the same
``Authorization`` header runs under the principal read then, without a credential read;
a write in the process, a token's expiry and the end of the window each end that. A
request that writes always reads its credential. The other tests run with the window at 0.
"""

import asyncio
import dataclasses
import math
import time

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth import LastPrincipals, stands_until
from app.settings import ConfigError, Settings
from resolvers.context import Principal
from resolvers.ids import encode_id
from tests.conftest import SETTINGS, StatementCounter, app_client, gql_raw, token
from tests.world import World, insert_api_key

DETAIL = "query Detail($id: ID!) { node(id: $id) { ... on Expense { id merchantName } } }"
LISTING = "{ expenses(first: 2) { nodes { id } } }"
TEAMS = "{ teams(first: 3) { nodes { id name } } }"
CREATE_KEY = (
    'mutation { createApiKey(name: "cache test", scopes: [EXPENSES_READ]) { secret'
    " userErrors { code } } }"
)
# what only a credential read sends: a member's managed teams, or the API key by its prefix
CREDENTIAL_READS = ("managed_teams", "api_keys")
WINDOW = dataclasses.replace(SETTINGS, credential_cache_s=60.0)


def _reads_credential(statements: StatementCounter) -> bool:
    return any(mark in sql for sql in statements.statements for mark in CREDENTIAL_READS)


async def _new_key(engine: AsyncEngine, world: World) -> tuple[str, str]:
    """Return a new API key of business A that reads expenses, and its prefix."""
    async with engine.begin() as conn:
        key = await insert_api_key(conn, world.a, ["expenses:read"])
    return key, key.split("_")[1]


async def _revoke(engine: AsyncEngine, prefix: str) -> None:
    async with engine.begin() as conn:  # elsewhere: another worker, the CLI, an operator
        await conn.execute(text("UPDATE api_keys SET revoked_at = now() WHERE prefix = :p"),
                           {"p": prefix})  # fmt: skip


def _variables(world: World) -> dict[str, str]:
    return {"id": encode_id("Expense", world.a.expense_ids[0])}


@pytest.mark.parametrize("query", [DETAIL, LISTING, TEAMS])
async def test_a_known_query_in_the_window_reads_no_credential(
    engine: AsyncEngine,
    database_url: str,
    world: World,
    statements: StatementCounter,
    query: str,
) -> None:
    admin = token(world.a, "admin")
    variables = _variables(world) if query == DETAIL else None
    async with app_client(WINDOW, engine, database_url) as client:
        statements.reset()
        first = (await gql_raw(client, query, variables, as_=admin)).json()  # teaches the lane
        assert _reads_credential(statements)
        statements.reset()
        again = [(await gql_raw(client, query, variables, as_=admin)).json() for _ in "ab"]
        assert statements.count > 0 and not _reads_credential(statements)
        # an unknown document (the reference path's) reads its credential as before
        statements.reset()
        await gql_raw(client, "{ viewer { credential } }", as_=admin)
        assert _reads_credential(statements)
    for body in again:
        assert body["data"] == first["data"] and "errors" not in body


async def test_a_revocation_elsewhere_holds_for_writes_at_once_and_for_reads_after_a_write(
    engine: AsyncEngine, database_url: str, world: World
) -> None:
    key, prefix = await _new_key(engine, world)
    other, other_prefix = await _new_key(engine, world)
    variables = _variables(world)
    async with app_client(WINDOW, engine, database_url) as client:
        for credential in (key, other, key, other):  # learnt, then read and remembered
            assert (await gql_raw(client, DETAIL, variables, as_=credential)).status_code == 200
        await _revoke(engine, prefix)
        await _revoke(engine, other_prefix)
        # a read in the window runs under the reading: the documented bound
        assert (await gql_raw(client, DETAIL, variables, as_=key)).status_code == 200
        # a write reads its credential: refused, and the header's reading forgotten
        refused = await gql_raw(client, CREATE_KEY, as_=key)
        assert refused.status_code == 401
        assert (await gql_raw(client, DETAIL, variables, as_=key)).status_code == 401
        assert (await gql_raw(client, DETAIL, variables, as_=other)).status_code == 200
        # any write in this process ends every reading: the other revoked key too
        created = await gql_raw(client, CREATE_KEY, as_=token(world.a, "admin"))
        assert created.json()["data"]["createApiKey"]["secret"]
        after = await gql_raw(client, DETAIL, variables, as_=other)
    assert after.status_code == 401
    assert after.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_reading_ends_with_its_window_and_with_its_token(
    engine: AsyncEngine, database_url: str, world: World
) -> None:
    key, prefix = await _new_key(engine, world)
    short = dataclasses.replace(SETTINGS, credential_cache_s=0.5)
    expiring = token(world.a, "admin", ttl_s=2)
    variables = _variables(world)
    async with app_client(short, engine, database_url) as client:
        for _ in "abc":
            assert (await gql_raw(client, DETAIL, variables, as_=key)).status_code == 200
        await _revoke(engine, prefix)
        await asyncio.sleep(0.6)
        assert (await gql_raw(client, DETAIL, variables, as_=key)).status_code == 401
    async with app_client(WINDOW, engine, database_url) as client:
        for _ in "ab":
            assert (await gql_raw(client, DETAIL, variables, as_=expiring)).status_code == 200
        expiry = stands_until(f"Bearer {expiring}", SETTINGS)
        await asyncio.sleep(expiry - time.time() + 0.05)  # the reading stood until then
        response = await gql_raw(client, DETAIL, variables, as_=expiring)
    assert response.status_code == 401
    assert "expired" in response.json()["errors"][0]["message"]


def _principal(id_: int) -> Principal:
    return Principal(kind="api_key", id=id_, business_id=1, home_currency="GBP",
                     permissions=frozenset())  # fmt: skip


def test_a_reading_begun_before_a_write_does_not_stand() -> None:
    last = LastPrincipals(fresh_for_s=60)
    before = last.reading()
    last.written()  # committed while the credential was being read
    last.remember("Bearer a", _principal(1), before, math.inf)
    assert last.fresh("Bearer a") is None and last.guess("Bearer a") == _principal(1)
    last.remember("Bearer a", _principal(1), last.reading(), math.inf)
    assert last.fresh("Bearer a") == _principal(1)
    last.remember("Bearer b", _principal(2), last.reading(), time.time() - 1)  # expired
    off = LastPrincipals()  # no window: a guess only
    off.remember("Bearer a", _principal(1), off.reading(), math.inf)
    assert last.fresh("Bearer b") is None and off.fresh("Bearer a") is None
    assert off.guess("Bearer a") == _principal(1)


def test_what_a_reading_may_stand_until(world: World) -> None:
    admin = token(world.a, "admin")
    expiry = stands_until(f"Bearer {admin}", SETTINGS)
    assert time.time() < expiry <= time.time() + SETTINGS.token_ttl_s
    assert stands_until(f"Bearer {world.keys['a_read']}", SETTINGS) == math.inf
    assert stands_until("Bearer not-a-token", SETTINGS) == -math.inf


@pytest.mark.parametrize(
    ("value", "seconds"), [(None, 1.0), ("0", 0.0), ("250", 0.25), ("60000", 60.0)]
)
def test_the_window_is_set_in_milliseconds(value: str | None, seconds: float) -> None:
    env = {"EXPENSEGRAPH_JWT_SECRET": "x" * 32}
    if value is not None:
        env["EXPENSEGRAPH_CREDENTIAL_CACHE_MS"] = value
    assert Settings.from_env(env).credential_cache_s == seconds


@pytest.mark.parametrize("value", ["-1", "60001", "1.5"])
def test_a_window_out_of_range_is_refused_at_start(value: str) -> None:
    env = {"EXPENSEGRAPH_JWT_SECRET": "x" * 32, "EXPENSEGRAPH_CREDENTIAL_CACHE_MS": value}
    with pytest.raises(ConfigError, match="EXPENSEGRAPH_CREDENTIAL_CACHE_MS"):
        Settings.from_env(env)
