"""updateMember and deactivateMember: changes, unknown members, who may, and deactivation."""

from typing import Any

import pytest
from sqlalchemy import insert

from db.tables.expense import expenses
from db.tables.org import teams
from resolvers.ids import decode_id
from tests.conftest import codes, gql, gql_raw
from tests.graphql.mutations_catalog.helpers_calls import UNKNOWN, call
from tests.graphql.mutations_org.conftest import (
    MATRIX,
    audit_of,
    changed_by,
    errors,
    gid,
    missing,
    one,
)
from tests.graphql.mutations_org.helpers_members import (
    ADD,
    DEACTIVATE,
    UPDATE,
    VIEWER,
    add,
    archived_team,
    member_token,
    serial,
    stored,
)
from tests.world import ANCHOR

# --- updateMember ---


async def test_change_role_and_team(client, engine, org):
    member = await add(client, org)
    id_ = decode_id(member["id"])[1]
    eng = gid("Team", org.biz.teams["eng"])
    payload = await call(client, UPDATE, org.credential("admin"), id=member["id"],
                         input={"role": "FINANCE", "teamId": eng})  # fmt: skip
    assert payload["userErrors"] == []
    assert (payload["member"]["role"], payload["member"]["team"]) == ("FINANCE", {"id": eng})
    assert await stored(engine, id_) == ("FINANCE", org.biz.teams["eng"], False)
    # an omitted team stays; null takes the member out of it
    payload = await call(
        client, UPDATE, org.credential("admin"), id=member["id"], input={"role": "EMPLOYEE"}
    )
    assert payload["member"]["team"] == {"id": eng}
    payload = await call(
        client, UPDATE, org.credential("admin"), id=member["id"], input={"teamId": None}
    )
    assert payload["member"]["team"] is None
    assert await stored(engine, id_) == ("EMPLOYEE", None, False)
    events = await audit_of(engine, "Member", id_)
    assert [e.action for e in events] == ["ADDED", "UPDATED", "UPDATED", "UPDATED"]
    assert events[1].details == {
        "from": {"role": "EMPLOYEE", "team_id": org.biz.teams["sales"]},
        "to": {"role": "FINANCE", "team_id": org.biz.teams["eng"]},
        "unmanaged_team_ids": [],
    }


@pytest.mark.parametrize(
    ("input_", "expected"),
    [
        ({"teamId": "archived"}, ("teamId", "TEAM_ARCHIVED")),
        ({"teamId": "other"}, ("teamId", "NOT_FOUND")),
        ({"teamId": "never"}, ("teamId", "NOT_FOUND")),
    ],
)
async def test_invalid_member_updates_change_nothing(client, engine, org, input_, expected):
    member = await add(client, org)
    id_ = decode_id(member["id"])[1]
    before = await stored(engine, id_)
    team = {
        "archived": await archived_team(engine, org),
        "other": org.other.teams["eng"],
        "never": 999_999_999,
    }[input_["teamId"]]
    payload = await call(client, UPDATE, org.credential("admin"), id=member["id"],
                         input={"role": "MANAGER", "teamId": gid("Team", team)})  # fmt: skip
    assert errors(payload, "member") == [expected]
    assert await stored(engine, id_) == before
    assert len(await audit_of(engine, "Member", id_)) == 1  # ADDED only


async def test_a_member_may_stay_in_an_archived_team(client, engine, org):
    member = await add(client, org)
    team = await archived_team(engine, org)
    id_ = decode_id(member["id"])[1]
    async with engine.begin() as conn:  # moved before the team was archived
        await conn.exec_driver_sql(f"UPDATE members SET team_id = {team} WHERE id = {id_}")
    payload = await call(client, UPDATE, org.credential("admin"), id=member["id"],
                         input={"role": "MANAGER", "teamId": gid("Team", team)})  # fmt: skip
    assert payload["userErrors"] == [] and payload["member"]["role"] == "MANAGER"


@pytest.mark.parametrize("which", UNKNOWN)
@pytest.mark.parametrize("query", [UPDATE, DEACTIVATE])
async def test_unknown_members_are_not_found(client, engine, org, which, query):
    await missing(
        client, org, query, which, "Member", another_type=gid("Team", org.biz.teams["sales"]),
        other_business=org.other.members["employee"],
        input_={"role": "ADMIN"} if query is UPDATE else None,
    )  # fmt: skip
    assert await stored(engine, org.other.members["employee"]) == (
        "EMPLOYEE", org.other.teams["sales"], False
    )  # fmt: skip


@pytest.mark.parametrize("who", [*MATRIX, "other_admin"])
@pytest.mark.parametrize("query", [UPDATE, DEACTIVATE])
async def test_who_may_change_a_member(client, engine, org, who, query):
    member = await add(client, org)
    id_ = decode_id(member["id"])[1]
    variables: dict[str, Any] = {"id": member["id"]}
    if query is UPDATE:
        variables["input"] = {"role": "FINANCE"}
    done = await changed_by(
        client, org, who, query, "member", variables, lambda: stored(engine, id_)
    )
    assert len(await audit_of(engine, "Member", id_)) == (2 if done else 1)  # with ADDED


# --- deactivateMember ---


async def test_a_deactivated_member_is_refused_at_once_and_keeps_their_history(client, engine, org):
    member = await add(client, org)
    id_ = decode_id(member["id"])[1]
    own = member_token(org, member)
    async with engine.begin() as conn:
        await conn.execute(insert(expenses).values(
            business_id=org.biz.id, member_id=id_, team_id=org.biz.teams["sales"],
            merchant_name="Before leaving", amount_minor=1234, currency="GBP",
            home_amount_minor=1234, home_currency="GBP", fx_rate=1, spent_at=ANCHOR,
            status="SUBMITTED",
        ))  # fmt: skip
    await gql(client, VIEWER, as_=own)  # the token works (and is cached as verified)
    count_query = "query($id: ID!) { node(id: $id) { ... on Team { memberCount } } }"
    sales = {"id": gid("Team", org.biz.teams["sales"])}
    before = (await gql(client, count_query, sales, as_=org.credential("admin")))["node"]
    payload = await call(client, DEACTIVATE, org.credential("admin"), id=member["id"])
    assert payload["userErrors"] == [] and payload["member"]["deactivatedAt"] is not None
    assert await stored(engine, id_) == ("EMPLOYEE", org.biz.teams["sales"], True)
    # refused from the very next request
    response = await gql_raw(client, VIEWER, as_=own)
    assert response.status_code == 401
    assert codes(response.json()) == ["UNAUTHENTICATED"]
    # their history stays, they stay in lists, and no longer count among active members
    query = (
        "query($id: ID!) { node(id: $id) { ... on Member { deactivatedAt"
        " expenses { nodes { merchantName member { id } } } } } }"
    )
    data = await gql(client, query, {"id": member["id"]}, as_=org.credential("finance"))
    assert data["node"]["deactivatedAt"] is not None
    assert data["node"]["expenses"]["nodes"] == [
        {"merchantName": "Before leaving", "member": {"id": member["id"]}}
    ]
    listed = await gql(client, "{ members(first: 100) { nodes { id deactivatedAt } } }",
                       as_=org.credential("admin"))  # fmt: skip
    assert member["id"] in [n["id"] for n in listed["members"]["nodes"]]
    after = (await gql(client, count_query, sales, as_=org.credential("admin")))["node"]
    assert after["memberCount"] == before["memberCount"] - 1
    [_, deactivated] = await audit_of(engine, "Member", id_)
    assert deactivated.action == "DEACTIVATED"
    assert deactivated.actor_member_id == org.biz.members["admin"]
    # deactivating twice, changing or adding them again: userErrors
    again = await call(client, DEACTIVATE, org.credential("admin"), id=member["id"])
    assert errors(again, "member") == [("id", "INVALID_TRANSITION")]
    update = await call(
        client, UPDATE, org.credential("admin"), id=member["id"], input={"role": "ADMIN"}
    )
    assert errors(update, "member") == [("id", "MEMBER_DEACTIVATED")]
    readd = await call(client, ADD, org.credential("admin"), input={
        "email": member["email"].upper(), "name": "Back again", "role": "EMPLOYEE"})  # fmt: skip
    assert errors(readd, "member") == [("email", "DUPLICATE")]
    assert "deactivated" in readd["userErrors"][0]["message"]
    assert len(await audit_of(engine, "Member", id_)) == 2


async def test_a_managers_teams_lose_their_manager(client, engine, org):
    manager = await add(client, org, role="MANAGER")
    demoted = await add(client, org, role="MANAGER")
    team_ids = []
    async with engine.begin() as conn:
        for who in (manager, demoted):
            result = await conn.execute(
                insert(teams).values(business_id=org.biz.id, name=f"Managed {next(serial)}",
                                     manager_id=decode_id(who["id"])[1]).returning(teams.c.id)
            )  # fmt: skip
            team_ids.append(result.scalar_one())
    await call(client, DEACTIVATE, org.credential("admin"), id=manager["id"])
    payload = await call(
        client, UPDATE, org.credential("admin"), id=demoted["id"], input={"role": "EMPLOYEE"}
    )
    assert payload["userErrors"] == []
    for team_id in team_ids:
        row = await one(engine, "SELECT manager_id FROM teams WHERE id = :i", i=team_id)
        assert row.manager_id is None
    [_, event] = await audit_of(engine, "Member", decode_id(manager["id"])[1])
    assert event.details == {"unmanaged_team_ids": [team_ids[0]]}
    [_, event] = await audit_of(engine, "Member", decode_id(demoted["id"])[1])
    assert event.details["unmanaged_team_ids"] == [team_ids[1]]
