"""createTeam, updateTeam, archiveTeam and Team.memberCount, on a business of the module's
own. Denied calls also check that nothing changed and no audit event was written.
"""

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables.org import members, teams
from resolvers.ids import decode_id
from tests.conftest import codes, gql, gql_raw
from tests.graphql.mutations_catalog.org import (
    ALLOWED,
    ERRORS,
    UNKNOWN,
    Org,
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

TEAM = "id name createdAt archivedAt memberCount manager { id }"
CREATE = (
    "mutation($input: CreateTeamInput!) {"
    f" p: createTeam(input: $input) {{ team {{ {TEAM} }} {ERRORS} }} }}"
)
UPDATE = (
    "mutation($id: ID!, $input: UpdateTeamInput!) {"
    f" p: updateTeam(id: $id, input: $input) {{ team {{ {TEAM} }} {ERRORS} }} }}"
)
ARCHIVE = f"mutation($id: ID!) {{ p: archiveTeam(id: $id) {{ team {{ {TEAM} }} {ERRORS} }} }}"
MANY = 30  # teams of the statement-count test


org = org_fixture("Teamco", 41, make=make_org)


_names = iter(range(10**6))


async def new_team(engine: AsyncEngine, org: Org, *, archived: bool = False) -> int:
    """Insert a team (archived or not) and return its id."""
    archived_at = datetime.now(UTC) if archived else None
    return await inserted(
        engine, teams, business_id=org.biz.id, name=f"T{next(_names)}", archived_at=archived_at
    )


async def stored(engine: AsyncEngine, team_id: int) -> tuple[str, int | None, bool]:
    row = await one(
        engine, "SELECT name, manager_id, archived_at FROM teams WHERE id = :i", i=team_id
    )
    return row.name, row.manager_id, row.archived_at is not None


# --- createTeam ---


@pytest.mark.parametrize("who", ["admin", "key:admin"])
async def test_create_a_team_with_a_manager(client, engine, org, who):
    manager = gid("Member", org.biz.members["manager2"])
    payload = await call(client, CREATE, org.credential(who),
                         input={"name": f"  Ops {who}  ", "managerId": manager})  # fmt: skip
    assert payload["userErrors"] == []
    team = payload["team"]
    assert team["name"] == f"Ops {who}"
    assert team["manager"] == {"id": manager}
    assert team["archivedAt"] is None and team["memberCount"] == 0
    id_ = decode_id(team["id"])[1]
    assert await stored(engine, id_) == (f"Ops {who}", org.biz.members["manager2"], False)
    [event] = await audit_of(engine, "Team", id_)
    assert event.action == "CREATED" and event.business_id == org.biz.id
    if who == "admin":
        assert (event.actor_member_id, event.actor_api_key_id) == (org.biz.members["admin"], None)
    else:
        assert event.actor_member_id is None and event.actor_api_key_id is not None
    assert event.details == {"name": f"Ops {who}", "manager_id": org.biz.members["manager2"]}


async def test_create_a_team_without_a_manager(client, engine, org):
    payload = await call(client, CREATE, org.credential("admin"), input={"name": "Unmanaged"})
    assert payload["userErrors"] == [] and payload["team"]["manager"] is None


@pytest.mark.parametrize(
    ("name", "manager", "expected"),
    [
        ("", None, ("name", "INVALID_VALUE")),
        ("   ", None, ("name", "INVALID_VALUE")),
        ("x" * 201, None, ("name", "INVALID_VALUE")),
        ("Sales", None, ("name", "DUPLICATE")),  # tests.world's team
        ("New A", "employee", ("managerId", "INVALID_VALUE")),  # employees manage nothing
        ("New B", "other", ("managerId", "NOT_FOUND")),
        ("New C", "never", ("managerId", "NOT_FOUND")),
        ("New D", "a team", ("managerId", "NOT_FOUND")),
    ],
)
async def test_invalid_teams_are_not_created(client, engine, org, name, manager, expected):
    ids = {
        None: None,
        "employee": gid("Member", org.biz.members["employee"]),
        "other": gid("Member", org.other.members["manager"]),
        "never": gid("Member", 999_999_999),
        "a team": gid("Team", org.biz.teams["eng"]),
    }
    before = await one(
        engine, "SELECT count(*) AS n FROM teams WHERE business_id = :b", b=org.biz.id
    )
    events = await audit_count(engine, org.biz.id)
    payload = await call(client, CREATE, org.credential("admin"),
                         input={"name": name, "managerId": ids[manager]})  # fmt: skip
    assert errors(payload, "team") == [expected]
    after = await one(
        engine, "SELECT count(*) AS n FROM teams WHERE business_id = :b", b=org.biz.id
    )
    assert after.n == before.n
    assert await audit_count(engine, org.biz.id) == events


async def test_a_deactivated_member_cannot_manage(client, engine, org):
    gone = await inserted(
        engine, members, business_id=org.biz.id, name="Gone", email="gone-manager@teamco.test",
        role="MANAGER", deactivated_at=datetime.now(UTC),
    )  # fmt: skip
    payload = await call(client, CREATE, org.credential("admin"),
                         input={"name": "Ghosts", "managerId": gid("Member", gone)})  # fmt: skip
    assert errors(payload, "team") == [("managerId", "MEMBER_DEACTIVATED")]


@pytest.mark.parametrize("who", [w for w in MATRIX if MATRIX[w] != ALLOWED])
async def test_only_admins_create_teams(client, engine, org, who):
    payload = await call(client, CREATE, org.credential(who), input={"name": f"Denied {who}"})
    assert errors(payload, "team") == [(None, "FORBIDDEN")]
    assert await engine_has_team(engine, f"Denied {who}") is False


async def engine_has_team(engine: AsyncEngine, name: str) -> bool:
    row = await one(engine, "SELECT count(*) AS n FROM teams WHERE name = :n", n=name)
    return bool(row.n)


async def test_another_business_cannot_name_our_manager(client, engine, org):
    manager = gid("Member", org.biz.members["manager"])
    payload = await call(client, CREATE, org.credential("other_admin"),
                         input={"name": "Poached", "managerId": manager})  # fmt: skip
    assert errors(payload, "team") == [("managerId", "NOT_FOUND")]
    assert await engine_has_team(engine, "Poached") is False


@pytest.mark.parametrize(("who", "code"), [(None, "UNAUTHENTICATED"), ("key:read", "FORBIDDEN")])
async def test_top_level_refusals(client, engine, org, who, code):
    as_ = org.credential(who) if who else None
    for query, variables in (
        (CREATE, {"input": {"name": "Refused"}}),
        (UPDATE, {"id": gid("Team", org.biz.teams["eng"]), "input": {"name": "Refused"}}),
        (ARCHIVE, {"id": gid("Team", org.biz.teams["eng"])}),
    ):
        body = (await gql_raw(client, query, variables, as_=as_)).json()
        assert codes(body) == [code]
        if who is not None:
            assert body["data"] == {"p": None}
    assert await engine_has_team(engine, "Refused") is False
    assert (await stored(engine, org.biz.teams["eng"]))[2] is False


# --- updateTeam ---


async def test_rename_and_change_the_manager(client, engine, org):
    team = await new_team(engine, org)
    name, _, _ = await stored(engine, team)
    manager = gid("Member", org.biz.members["finance"])
    payload = await call(client, UPDATE, org.credential("admin"), id=gid("Team", team),
                         input={"name": f"{name} renamed", "managerId": manager})  # fmt: skip
    assert payload["userErrors"] == []
    assert payload["team"]["name"] == f"{name} renamed"
    assert payload["team"]["manager"] == {"id": manager}
    assert await stored(engine, team) == (f"{name} renamed", org.biz.members["finance"], False)
    # an omitted manager stays; null removes it
    payload = await call(client, UPDATE, org.credential("admin"), id=gid("Team", team),
                         input={"name": f"{name} again"})  # fmt: skip
    assert payload["team"]["manager"] == {"id": manager}
    payload = await call(client, UPDATE, org.credential("admin"), id=gid("Team", team),
                         input={"managerId": None})  # fmt: skip
    assert payload["team"]["manager"] is None
    assert await stored(engine, team) == (f"{name} again", None, False)
    events = await audit_of(engine, "Team", team)
    assert [e.action for e in events] == ["UPDATED"] * 3
    assert events[0].details == {
        "from": {"name": name, "manager_id": None},
        "to": {"name": f"{name} renamed", "manager_id": org.biz.members["finance"]},
    }
    assert events[2].details == {
        "from": {"manager_id": org.biz.members["finance"]},
        "to": {"manager_id": None},
    }


async def test_an_update_that_changes_nothing_writes_no_event(client, engine, org):
    team = await new_team(engine, org)
    name, _, _ = await stored(engine, team)
    payload = await call(client, UPDATE, org.credential("admin"), id=gid("Team", team),
                         input={"name": name, "managerId": None})  # fmt: skip
    assert payload["userErrors"] == [] and payload["team"]["name"] == name
    assert await audit_of(engine, "Team", team) == []


@pytest.mark.parametrize(
    ("input_", "expected"),
    [
        ({"name": "Eng"}, ("name", "DUPLICATE")),
        ({"name": ""}, ("name", "INVALID_VALUE")),
        ({"managerId": "employee"}, ("managerId", "INVALID_VALUE")),
        ({"managerId": "other_manager"}, ("managerId", "NOT_FOUND")),
    ],
)
async def test_invalid_updates_change_nothing(client, engine, org, input_, expected):
    team = await new_team(engine, org)
    before = await stored(engine, team)
    managers = {
        "employee": gid("Member", org.biz.members["employee"]),
        "other_manager": gid("Member", org.other.members["manager"]),
    }
    if "managerId" in input_:
        input_ = {"managerId": managers[input_["managerId"]]}
    payload = await call(
        client, UPDATE, org.credential("admin"), id=gid("Team", team), input=input_
    )
    assert errors(payload, "team") == [expected]
    assert await stored(engine, team) == before
    assert await audit_of(engine, "Team", team) == []


@pytest.mark.parametrize("which", UNKNOWN)
@pytest.mark.parametrize("query", [UPDATE, ARCHIVE])
async def test_unknown_teams_are_not_found(client, engine, org, which, query):
    payload = await call_unknown(
        client, org, query, which, "Team", another_type=gid("Member", org.biz.members["admin"]),
        other_business=org.other.teams["sales"],
        input_={"name": "Taken over"} if query is UPDATE else None,
    )  # fmt: skip
    assert errors(payload, "team") == [("id", "NOT_FOUND")]
    assert await stored(engine, org.other.teams["sales"]) == (
        "Sales",
        org.other.members["manager"],
        False,
    )


@pytest.mark.parametrize("who", [*MATRIX, "other_admin"])
@pytest.mark.parametrize("query", [UPDATE, ARCHIVE])
async def test_who_may_change_a_team(client, engine, org, who, query):
    team = await new_team(engine, org)
    variables: dict[str, Any] = {"id": gid("Team", team)}
    if query is UPDATE:
        name, _, _ = await stored(engine, team)
        variables["input"] = {"name": f"{name} by {who}"}
    done = await changed_by(
        client, org, who, query, "team", variables, lambda: stored(engine, team)
    )
    assert len(await audit_of(engine, "Team", team)) == (1 if done else 0)


# --- archiveTeam ---


async def test_archive_once_then_no_manager_change(client, engine, org):
    team = await new_team(engine, org)
    payload = await call(client, ARCHIVE, org.credential("admin"), id=gid("Team", team))
    assert payload["userErrors"] == [] and payload["team"]["archivedAt"] is not None
    assert (await stored(engine, team))[2] is True
    again = await call(client, ARCHIVE, org.credential("admin"), id=gid("Team", team))
    assert errors(again, "team") == [("id", "INVALID_TRANSITION")]
    manager = gid("Member", org.biz.members["manager"])
    payload = await call(client, UPDATE, org.credential("admin"), id=gid("Team", team),
                         input={"managerId": manager})  # fmt: skip
    assert errors(payload, "team") == [("id", "TEAM_ARCHIVED")]
    assert (await stored(engine, team))[1] is None
    # renaming an archived team is allowed
    payload = await call(client, UPDATE, org.credential("admin"), id=gid("Team", team),
                         input={"name": f"Archived {team}"})  # fmt: skip
    assert payload["userErrors"] == []
    assert [e.action for e in await audit_of(engine, "Team", team)] == ["ARCHIVED", "UPDATED"]
    # an archived team still shows in lists, with its history
    data = await gql(client, "query($id: ID!) { node(id: $id) { ... on Team { archivedAt } } }",
                     {"id": gid("Team", team)}, as_=org.credential("admin"))  # fmt: skip
    assert data["node"]["archivedAt"] is not None


async def test_a_team_keeps_its_members_when_archived(client, engine, org):
    team = await new_team(engine, org)
    async with engine.begin() as conn:
        await conn.execute(insert(members), [
            dict(business_id=org.biz.id, team_id=team, name=f"Keeper {n}",
                 email=f"keeper{n}-{team}@teamco.test", role="EMPLOYEE")
            for n in range(3)
        ])  # fmt: skip
    payload = await call(client, ARCHIVE, org.credential("admin"), id=gid("Team", team))
    assert payload["team"]["memberCount"] == 3


# --- Team.memberCount ---


async def test_member_count_counts_active_members_only(client, engine, org):
    team = await new_team(engine, org)
    async with engine.begin() as conn:
        await conn.execute(insert(members), [
            dict(business_id=org.biz.id, team_id=team, name=f"Counted {n}",
                 email=f"counted{n}-{team}@teamco.test", role="EMPLOYEE",
                 deactivated_at=datetime.now(UTC) if n == 0 else None)
            for n in range(4)
        ])  # fmt: skip
    query = "query($id: ID!) { node(id: $id) { ... on Team { memberCount members { name } } } }"
    data = await gql(client, query, {"id": gid("Team", team)}, as_=org.credential("admin"))
    assert data["node"]["memberCount"] == 3
    assert len(data["node"]["members"]) == 4  # lists keep the deactivated member


async def test_member_count_is_one_statement_whatever_the_number_of_teams(
    client, engine, org, statements
):
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(teams).returning(teams.c.id),
            [dict(business_id=org.biz.id, name=f"Counted team {n}") for n in range(MANY)],
        )
        ids = [row.id for row in result]
        await conn.execute(insert(members), [
            dict(business_id=org.biz.id, team_id=id_, name=f"M{n}",
                 email=f"many{n}@teamco.test", role="EMPLOYEE")
            for n, id_ in enumerate(ids)
        ])  # fmt: skip
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Team { id memberCount } } }"
    counts = []
    for n in (1, MANY):
        statements.reset()
        data = await gql(client, query, {"ids": [gid("Team", i) for i in ids[:n]]},
                         as_=org.credential("admin"))  # fmt: skip
        assert [node["memberCount"] for node in data["nodes"]] == [1] * n
        counts.append(len(statements.statements))
        grouped = [s for s in statements.statements if "count(" in s.lower()]
        assert len(grouped) == 1, grouped
    # authenticate, the teams, the counts
    assert counts == [3, 3]
    # the root list too
    for first in (1, 20):
        statements.reset()
        data = await gql(client, "query($n: Int!) { teams(first: $n) { nodes { memberCount } } }",
                         {"n": first}, as_=org.credential("admin"))  # fmt: skip
        assert len(data["teams"]["nodes"]) == first
        counts.append(len(statements.statements))
    assert counts[2] == counts[3]


async def test_member_count_is_the_team_size_for_every_viewer(client, org):
    # an employee sees only themselves among the members, and the size of their team
    query = "{ viewer { member { team { memberCount members { id } } } } }"
    data = await gql(client, query, as_=org.credential("employee"))
    team = data["viewer"]["member"]["team"]
    assert team["memberCount"] == 3 and len(team["members"]) == 1  # manager, employee, employee2
