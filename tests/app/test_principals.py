"""A known query by id starts under its credential's last principal (app/lane.py speculated).

With no credential cache (EXPENSEGRAPH_CREDENTIAL_CACHE_MS 0, the tests' setting; the cache
has tests/app/test_credential_cache.py) the credential is read on every request, in the same
statement as the query's first reads; what those read is used only when the credential read
gives the same principal.
Each test changes a credential between requests (a role, a deactivation, a revocation) and
checks the answer against an app that never saw the credential before.
"""

import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth import MAX_REMEMBERED_CHARS, LastPrincipals
from app.limits import LimitSettings
from resolvers.context import Principal
from resolvers.ids import encode_id
from tests.conftest import SETTINGS, app_client, gql_raw, token
from tests.world import World

DETAIL = (
    "query Detail($id: ID!) { node(id: $id) { ... on Expense { id merchantName"
    " amount { amount currency } member { id name } card { id last4 } receipts { id fileName } } } }"
)
BUCKET = 100_000
# a bucket that does not refill while a test runs: what is left says what was taken
STILL = dataclasses.replace(
    SETTINGS, limits=LimitSettings(max_cost=10**6, bucket_size=BUCKET, restore_rate=1e-9)
)


def _principal(id_: int, role: str = "ADMIN") -> Principal:
    return Principal(kind="member", id=id_, business_id=1, home_currency="GBP",
                     permissions=frozenset(), role=role)  # fmt: skip


def test_remembers_the_newest_principals_within_its_limit() -> None:
    last = LastPrincipals(limit=2)
    last.remember("Bearer a", _principal(1))
    last.remember("Bearer b", _principal(2))
    last.remember("Bearer a", _principal(1, "EMPLOYEE"))  # read again: a new role, kept
    last.remember("Bearer c", _principal(3))  # the oldest goes: b
    assert last.guess("Bearer a") == _principal(1, "EMPLOYEE")
    assert last.guess("Bearer b") is None and last.guess("Bearer c") == _principal(3)
    last.forget("Bearer c")
    assert last.guess("Bearer c") is None
    long = "Bearer " + "x" * MAX_REMEMBERED_CHARS
    last.remember(long, _principal(4))
    last.remember(None, _principal(5))
    last.remember("Bearer d", None)
    assert last.guess(long) is None and last.guess(None) is None and last.guess("Bearer d") is None


@pytest.fixture
async def log_lines() -> AsyncIterator[list[dict[str, Any]]]:
    """The request log lines written while the test runs."""
    lines: list[dict[str, Any]] = []

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(record.getMessage()))

    logger, handler = logging.getLogger("expensegraph.request"), Lines(logging.INFO)
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)


async def _others_expense(engine: AsyncEngine, world: World, member: str) -> str:
    """Return the global id of an expense of business A that ``member`` did not spend."""
    async with engine.connect() as conn:
        found = await conn.scalar(
            text("SELECT min(id) FROM expenses WHERE business_id = :b AND member_id <> :m"
                 " AND team_id IS DISTINCT FROM (SELECT team_id FROM members WHERE id = :m)"),
            {"b": world.a.id, "m": world.a.members[member]},
        )  # fmt: skip
    return encode_id("Expense", found)


async def _set(engine: AsyncEngine, sql: str, **values: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(sql), values)


async def _fresh_answer(engine, database_url, query, variables, as_) -> tuple[int, Any]:
    """Return (status, body) of an app that has never seen the credential or the query."""
    async with app_client(STILL, engine, database_url) as fresh:
        response = await gql_raw(fresh, query, variables, as_=as_)
    return response.status_code, response.json()


@pytest.mark.parametrize("kind", ["user token", "API key"])
async def test_a_node_query_reads_its_credential_in_the_same_statement(
    engine: AsyncEngine, database_url: str, world: World, log_lines: list[dict[str, Any]], kind: str
) -> None:
    admin = token(world.a, "admin") if kind == "user token" else world.keys["a_read"]
    variables = {"id": encode_id("Expense", world.a.expense_ids[0])}
    listing = "{ expenses(first: 3) { nodes { id member { name } card { last4 } } } }"
    teams = "{ teams(first: 3) { nodes { id name } } }"
    async with app_client(STILL, engine, database_url) as client:
        bodies = [(await gql_raw(client, DETAIL, variables, as_=admin)).json() for _ in range(3)]
        for query in (listing, listing, listing, teams, teams, teams):
            await gql_raw(client, query, as_=admin)
    assert bodies[0]["data"]["node"]["member"] and bodies[1]["data"] == bodies[0]["data"]
    assert bodies[2]["data"] == bodies[0]["data"]
    detail, lists, team_lists = log_lines[:3], log_lines[3:6], log_lines[6:]
    # the first taught the lane; then credential, expense and its references in one
    # statement (the references go with the expense's read, db/sent_together.py)
    assert [line["sql_round_trips"] for line in detail] == [2, 1, 1]
    assert len({line["sql_statements"] for line in detail}) == 1  # the same reads each time
    # an expense list's read is planned at each run: the credential read goes alone first;
    # the list's references go with its read
    assert [line["sql_round_trips"] for line in lists] == [2, 2, 2]
    # a list of a business's teams is planned once: one statement with the credential read
    assert [line["sql_round_trips"] for line in team_lists] == [2, 1, 1]


async def test_a_role_changed_since_the_last_request_is_the_one_answered(
    engine: AsyncEngine, database_url: str, world: World, log_lines: list[dict[str, Any]]
) -> None:
    employee, member = token(world.a, "employee"), world.a.members["employee"]
    variables = {"id": await _others_expense(engine, world, "employee")}
    role = "UPDATE members SET role = :role WHERE id = :m"
    async with app_client(STILL, engine, database_url) as client:
        try:
            await _set(engine, role, role="ADMIN", m=member)
            seen = [(await gql_raw(client, DETAIL, variables, as_=employee)).json() for _ in "ab"]
            await _set(engine, role, role="EMPLOYEE", m=member)
            response = await gql_raw(client, DETAIL, variables, as_=employee)
            again = await gql_raw(client, DETAIL, variables, as_=employee)
        finally:
            await _set(engine, role, role="EMPLOYEE", m=member)
    assert seen[0]["data"]["node"]["id"] == variables["id"] == seen[1]["data"]["node"]["id"]
    # as the employee it is now, as an app that never saw the token answers
    fresh = _without_cost(await _fresh_answer(engine, database_url, DETAIL, variables, employee))
    assert fresh[1]["data"]["node"] is None
    for answer in (response, again):
        assert _without_cost((answer.status_code, answer.json())) == fresh
    # the run as an admin was thrown away, its debit refunded: only the answer's cost is taken
    assert _available(response.json()) == _available(seen[1]) - _actual(response.json())
    # the discarded run's statements were sent (and logged) before the request's own
    assert log_lines[2]["sql_round_trips"] > log_lines[3]["sql_round_trips"]


@pytest.mark.parametrize("change", ["deactivated", "revoked"])
async def test_a_credential_no_longer_valid_is_refused_though_remembered(
    engine: AsyncEngine, database_url: str, world: World, change: str
) -> None:
    if change == "deactivated":
        credential, row = token(world.a, "employee2"), world.a.members["employee2"]
        invalidate = "UPDATE members SET deactivated_at = now() WHERE id = :row"
        restore = "UPDATE members SET deactivated_at = NULL WHERE id = :row"
    else:
        credential = world.keys["a_read"]
        async with engine.connect() as conn:
            row = await conn.scalar(
                text("SELECT id FROM api_keys WHERE prefix = :p"),
                {"p": credential.split("_")[1]},
            )
        invalidate = "UPDATE api_keys SET revoked_at = now() WHERE id = :row"
        restore = "UPDATE api_keys SET revoked_at = NULL WHERE id = :row"
    # one it may see: the lane learns a document from an answer without errors
    async with engine.connect() as conn:
        seen = await conn.scalar(
            text("SELECT min(id) FROM expenses WHERE business_id = :b AND member_id = :m"),
            {"b": world.a.id, "m": world.a.members["employee2"]},
        )
    variables = {"id": encode_id("Expense", seen)}
    async with app_client(STILL, engine, database_url) as client:
        try:
            for _ in "ab":
                before = await gql_raw(client, DETAIL, variables, as_=credential)
                assert before.json()["data"]["node"]["id"] == variables["id"]
            await _set(engine, invalidate, row=row)
            refused = [await gql_raw(client, DETAIL, variables, as_=credential) for _ in "ab"]
            fresh = await _fresh_answer(engine, database_url, DETAIL, variables, credential)
        finally:
            await _set(engine, restore, row=row)
        # valid again: answered, and nothing was taken from its bucket for the refusals
        answered = (await gql_raw(client, DETAIL, variables, as_=credential)).json()
    assert fresh[0] == 401 and fresh[1]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    for response in refused:
        assert (response.status_code, response.json()) == fresh
    assert _available(answered) == _available(before.json()) - _actual(answered)


def _available(body: dict[str, Any]) -> int:
    return int(body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"])


def _actual(body: dict[str, Any]) -> int:
    return int(body["extensions"]["cost"]["actualQueryCost"])


def _without_cost(answer: tuple[int, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """Return (status, body) without what depends on the bucket's past: its points left."""
    status, body = answer
    return status, {**body, "extensions": {**body["extensions"], "cost": {
        **body["extensions"]["cost"], "throttleStatus": None}}}  # fmt: skip
