"""addMember: the new member, its rules, concurrent adds, who may, and top-level refusals."""

from typing import Any

import pytest

from resolvers.ids import decode_id
from tests.conftest import codes, gql, gql_raw
from tests.graphql.mutations_catalog.helpers_calls import ALLOWED, ERRORS, at_once, call
from tests.graphql.mutations_org.conftest import (
    MATRIX,
    audit_count,
    audit_of,
    counted,
    errors,
    gid,
    one,
)
from tests.graphql.mutations_org.helpers_members import (
    ADD,
    DEACTIVATE,
    UPDATE,
    VIEWER,
    archived_team,
    member_token,
    serial,
    stored,
)

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
    n = next(serial)
    input_ = {"email": f"invalid{n}@memberco.test", "name": "Invalid", "role": "EMPLOYEE"} | change
    before = await counted(engine, org, "members")
    payload = await call(client, ADD, org.credential("admin"), input=input_)
    assert errors(payload, "member") == [expected]
    assert await counted(engine, org, "members") == before


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
