"""The last-admin rule of updateMember and deactivateMember, on single-admin businesses."""

import asyncio
import random

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth import issue_token
from resolvers.ids import decode_id
from tests.conftest import SETTINGS, gql_raw
from tests.graphql.mutations_catalog.helpers_calls import call
from tests.graphql.mutations_catalog.helpers_orgs import Org
from tests.graphql.mutations_org.conftest import audit_count, errors, gid, one
from tests.graphql.mutations_org.helpers_members import ADD, DEACTIVATE, UPDATE, serial, stored
from tests.world import _business, insert_api_key


@pytest.fixture
async def solo(engine: AsyncEngine) -> Org:
    """A business with one admin (tests.world's roster) and an admin key."""
    async with engine.begin() as conn:
        biz = await _business(conn, f"Solo{next(serial)} Ltd", "GBP", 1, random.Random(5))
        org = Org(biz=biz, other=biz)
        org.keys["admin"] = await insert_api_key(conn, biz, ["admin"])
    return org


@pytest.mark.parametrize("who", ["admin", "key:admin"])
async def test_the_last_admin_stays(client, engine, solo, who):
    admin = gid("Member", solo.biz.members["admin"])
    payload = await call(client, DEACTIVATE, solo.credential(who), id=admin)
    assert errors(payload, "member") == [("id", "LAST_ADMIN")]
    payload = await call(client, UPDATE, solo.credential(who), id=admin, input={"role": "FINANCE"})
    assert errors(payload, "member") == [("role", "LAST_ADMIN")]
    assert await stored(engine, solo.biz.members["admin"]) == ("ADMIN", None, False)
    assert await audit_count(engine, solo.biz.id) == 0
    # a change that keeps the role is no change at all
    payload = await call(client, UPDATE, solo.credential(who), id=admin, input={"role": "ADMIN"})
    assert payload["userErrors"] == []


async def test_an_admin_may_step_down_once_another_admin_exists(client, engine, solo):
    me = gid("Member", solo.biz.members["admin"])
    second = await call(client, ADD, solo.credential("admin"), input={
        "email": "second@solo.test", "name": "Second", "role": "ADMIN"})  # fmt: skip
    payload = await call(client, UPDATE, solo.credential("admin"), id=me, input={"role": "FINANCE"})
    assert payload["userErrors"] == [] and payload["member"]["role"] == "FINANCE"
    # the second admin is now the last one
    second_id = second["member"]["id"]
    payload = await call(client, DEACTIVATE, solo.credential("key:admin"), id=second_id)
    assert errors(payload, "member") == [("id", "LAST_ADMIN")]


async def test_two_admins_cannot_deactivate_each_other_at_once(client, engine, solo):
    second = await call(client, ADD, solo.credential("admin"), input={
        "email": "rival@solo.test", "name": "Rival", "role": "ADMIN"})  # fmt: skip
    second_id = decode_id(second["member"]["id"])[1]
    first = solo.biz.members["admin"]
    rival_token = issue_token(SETTINGS, business_id=solo.biz.id, member_id=second_id)
    first_token = solo.credential("admin")
    responses = await asyncio.gather(
        gql_raw(client, DEACTIVATE, {"id": gid("Member", second_id)}, as_=first_token),
        gql_raw(client, DEACTIVATE, {"id": gid("Member", first)}, as_=rival_token),
    )
    outcomes = []
    for response in responses:
        if response.status_code == 401:  # its sender was deactivated before it began
            outcomes.append("refused")
            continue
        payload = response.json()["data"]["p"]
        outcomes.append(payload["userErrors"][0]["code"] if payload["userErrors"] else "done")
    assert outcomes.count("done") == 1, outcomes
    admins = await one(engine, "SELECT count(*) AS n FROM members WHERE business_id = :b"
                       " AND role = 'ADMIN' AND deactivated_at IS NULL", b=solo.biz.id)  # fmt: skip
    assert admins.n == 1
