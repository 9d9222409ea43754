"""addMember, updateMember and deactivateMember, on a business of the module's own; the
last-admin rule on businesses of their own. Denied calls also check that nothing changed.
"""

import asyncio
import random
from itertools import count
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth import issue_token
from db.tables.expense import expenses
from db.tables.org import teams
from resolvers.ids import decode_id
from tests.conftest import SETTINGS, codes, gql, gql_raw
from tests.graphql.mutations_catalog.org import (
    ALLOWED,
    ERRORS,
    UNKNOWN,
    Org,
    at_once,
    call,
    call_unknown,
    inserted,
    org_fixture,
)
from tests.graphql.mutations_org.conftest import (
    MATRIX,
    audit_count,
    audit_of,
    changed_by,
    errors,
    gid,
    make_org,
    one,
)
from tests.world import _business, insert_api_key

MEMBER = "id name email role createdAt deactivatedAt team { id }"
ADD = (
    "mutation($input: AddMemberInput!) {"
    f" p: addMember(input: $input) {{ member {{ {MEMBER} }} {ERRORS} }} }}"
)
UPDATE = (
    "mutation($id: ID!, $input: UpdateMemberInput!) {"
    f" p: updateMember(id: $id, input: $input) {{ member {{ {MEMBER} }} {ERRORS} }} }}"
)
DEACTIVATE = (
    f"mutation($id: ID!) {{ p: deactivateMember(id: $id) {{ member {{ {MEMBER} }} {ERRORS} }} }}"
)
VIEWER = "{ viewer { member { email } } }"
_n = count()


org = org_fixture("Memberco", 43, make=make_org)


async def add(client: Any, org: Org, role: str = "EMPLOYEE", team: str | None = "sales",
              who: str = "admin") -> dict[str, Any]:  # fmt: skip
    """Add a fresh member through the API and return it."""
    n = next(_n)
    team_id = gid("Team", org.biz.teams[team]) if team else None
    payload = await call(client, ADD, org.credential(who), input={
        "email": f"person{n}@memberco.test", "name": f"Person {n}", "role": role, "teamId": team_id,
    })  # fmt: skip
    assert payload["userErrors"] == [], payload
    return payload["member"]


def member_token(org: Org, member: dict[str, Any]) -> str:
    return issue_token(SETTINGS, business_id=org.biz.id, member_id=decode_id(member["id"])[1])


async def stored(engine: AsyncEngine, member_id: int) -> tuple[str, int | None, bool]:
    row = await one(
        engine, "SELECT role, team_id, deactivated_at FROM members WHERE id = :i", i=member_id
    )
    return row.role, row.team_id, row.deactivated_at is not None


async def archived_team(engine: AsyncEngine, org: Org) -> int:
    return await inserted(
        engine, teams, business_id=org.biz.id, name=f"Archived {next(_n)}", archived_at=ANCHOR
    )


from tests.world import ANCHOR  # noqa: E402

# --- addMember ---


@pytest.mark.parametrize("who", ["admin", "key:admin"])
async def test_add_a_member(client, engine, org, who):
    team = gid("Team", org.biz.teams["eng"])
    payload = await call(client, ADD, org.credential(who), input={
        "email": f"  New.Person+{who}@MemberCo.TEST ", "name": " New Person ", "role": "MANAGER",
        "teamId": team,
    })  # fmt: skip
    assert payload["userErrors"] == []
    member = payload["member"]
    assert member["email"] == f"new.person+{who}@memberco.test"
    assert (member["name"], member["role"], member["team"]) == (
        "New Person",
        "MANAGER",
        {"id": team},
    )
    assert member["deactivatedAt"] is None
    id_ = decode_id(member["id"])[1]
    assert await stored(engine, id_) == ("MANAGER", org.biz.teams["eng"], False)
    [event] = await audit_of(engine, "Member", id_)
    assert event.action == "ADDED" and event.business_id == org.biz.id
    assert event.details == {"email": member["email"], "name": "New Person", "role": "MANAGER",
                             "team_id": org.biz.teams["eng"]}  # fmt: skip
    # the new member signs in at once, and counts in the team
    data = await gql(client, VIEWER, as_=member_token(org, member))
    assert data["viewer"]["member"]["email"] == member["email"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"email": "not-an-email"}, ("email", "INVALID_VALUE")),
        ({"email": "two@@memberco.test"}, ("email", "INVALID_VALUE")),
        ({"email": "no-domain@memberco"}, ("email", "INVALID_VALUE")),
        ({"email": "x" * 250 + "@memberco.test"}, ("email", "INVALID_VALUE")),
        ({"email": "ADMIN@memberco.test"}, ("email", "DUPLICATE")),  # tests.world's admin
        ({"name": "  "}, ("name", "INVALID_VALUE")),
        ({"teamId": "never"}, ("teamId", "NOT_FOUND")),
        ({"teamId": "other"}, ("teamId", "NOT_FOUND")),
        ({"teamId": "a member"}, ("teamId", "NOT_FOUND")),
        ({"teamId": "archived"}, ("teamId", "TEAM_ARCHIVED")),
    ],
)
async def test_invalid_members_are_not_added(client, engine, org, change, expected):
    teams_ = {
        "never": gid("Team", 999_999_999),
        "other": gid("Team", org.other.teams["sales"]),
        "a member": gid("Member", org.biz.members["employee"]),
    }
    if change.get("teamId") == "archived":
        change = {"teamId": gid("Team", await archived_team(engine, org))}
    elif "teamId" in change:
        change = {"teamId": teams_[change["teamId"]]}
    n = next(_n)
    input_ = {"email": f"invalid{n}@memberco.test", "name": "Invalid", "role": "EMPLOYEE"} | change
    before = await one(
        engine, "SELECT count(*) AS n FROM members WHERE business_id = :b", b=org.biz.id
    )
    events = await audit_count(engine, org.biz.id)
    payload = await call(client, ADD, org.credential("admin"), input=input_)
    assert errors(payload, "member") == [expected]
    after = await one(
        engine, "SELECT count(*) AS n FROM members WHERE business_id = :b", b=org.biz.id
    )
    assert after.n == before.n and await audit_count(engine, org.biz.id) == events


async def test_the_same_email_may_be_in_another_business(client, org):
    payload = await call(client, ADD, org.credential("other_admin"), input={
        "email": "employee@memberco.test", "name": "Namesake", "role": "EMPLOYEE"})  # fmt: skip
    assert payload["userErrors"] == []


async def test_concurrent_adds_of_one_email_one_wins(client, engine, org):
    input_ = {"email": "race@memberco.test", "name": "Racer", "role": "EMPLOYEE"}
    payloads = await at_once(
        client, ADD, org, [(who, {"input": input_}) for who in ("admin", "key:admin")]
    )
    won = [p for p in payloads if p["member"] is not None]
    lost = [p for p in payloads if p["member"] is None]
    assert len(won) == 1 and len(lost) == 1, payloads
    assert [(e["field"], e["code"]) for e in lost[0]["userErrors"]] == [("email", "DUPLICATE")]
    rows = await one(engine, "SELECT count(*) AS n FROM members WHERE email = 'race@memberco.test'")
    assert rows.n == 1
    assert len(await audit_of(engine, "Member", decode_id(won[0]["member"]["id"])[1])) == 1


async def test_a_duplicate_only_the_constraint_sees_is_a_user_error(
    client, engine, org, monkeypatch
):
    # what the losing request of a race meets: its lookup found nothing, its insert fails
    async def nobody(**_: Any) -> None:
        return None

    monkeypatch.setattr("db.writes.org.member_by_email", nobody)
    events = await audit_count(engine, org.biz.id)
    # and the request's transaction goes on: a second mutation of the same request commits
    query = (
        "mutation($a: AddMemberInput!, $b: AddMemberInput!) {"
        f" p: addMember(input: $a) {{ member {{ id }} {ERRORS} }}"
        f" q: addMember(input: $b) {{ member {{ id }} {ERRORS} }} }}"
    )
    data = await gql(client, query, {
        "a": {"email": "employee@memberco.test", "name": "Twin", "role": "EMPLOYEE"},
        "b": {"email": "after-twin@memberco.test", "name": "After", "role": "EMPLOYEE"},
    }, as_=org.credential("admin"))  # fmt: skip
    assert errors(data["p"], "member") == [("email", "DUPLICATE")]
    assert data["q"]["userErrors"] == []
    assert await audit_count(engine, org.biz.id) == events + 1
    row = await one(
        engine, "SELECT count(*) AS n FROM members WHERE email = 'after-twin@memberco.test'"
    )
    assert row.n == 1


async def test_many_concurrent_adds_never_fail(client, engine, org):
    input_ = {"email": "crowd@memberco.test", "name": "Crowd", "role": "EMPLOYEE"}
    payloads = await at_once(client, ADD, org, [("admin", {"input": input_})] * 6)
    assert sum(p["member"] is not None for p in payloads) == 1
    assert all(p["userErrors"][0]["code"] == "DUPLICATE" for p in payloads if p["member"] is None)


@pytest.mark.parametrize("who", [w for w in MATRIX if MATRIX[w] != ALLOWED])
async def test_only_admins_add_members(client, engine, org, who):
    email = f"denied-{who.replace(':', '-')}@memberco.test"
    payload = await call(client, ADD, org.credential(who),
                         input={"email": email, "name": "Denied", "role": "ADMIN"})  # fmt: skip
    assert errors(payload, "member") == [(None, "FORBIDDEN")]
    row = await one(engine, "SELECT count(*) AS n FROM members WHERE email = :e", e=email)
    assert row.n == 0


@pytest.mark.parametrize(("who", "code"), [(None, "UNAUTHENTICATED"), ("key:read", "FORBIDDEN")])
async def test_top_level_refusals(client, engine, org, who, code):
    as_ = org.credential(who) if who else None
    target = gid("Member", org.biz.members["employee2"])
    for query, variables in (
        (ADD, {"input": {"email": "refused@memberco.test", "name": "R", "role": "ADMIN"}}),
        (UPDATE, {"id": target, "input": {"role": "ADMIN"}}),
        (DEACTIVATE, {"id": target}),
    ):
        body = (await gql_raw(client, query, variables, as_=as_)).json()
        assert codes(body) == [code]
    assert await stored(engine, org.biz.members["employee2"]) == (
        "EMPLOYEE", org.biz.teams["sales"], False
    )  # fmt: skip


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
    payload = await call_unknown(
        client, org, query, which, "Member", another_type=gid("Team", org.biz.teams["sales"]),
        other_business=org.other.members["employee"],
        input_={"role": "ADMIN"} if query is UPDATE else None,
    )  # fmt: skip
    assert errors(payload, "member") == [("id", "NOT_FOUND")]
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
                insert(teams).values(business_id=org.biz.id, name=f"Managed {next(_n)}",
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


# --- the last active admin ---


@pytest.fixture
async def solo(engine: AsyncEngine) -> Org:
    """A business with one admin (tests.world's roster) and an admin key."""
    async with engine.begin() as conn:
        biz = await _business(conn, f"Solo{next(_n)} Ltd", "GBP", 1, random.Random(5))
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
