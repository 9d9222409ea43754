"""archiveTeam, and Team.memberCount counting active members in one statement."""

from datetime import UTC, datetime

from sqlalchemy import insert

from db.tables.org import members, teams
from tests.conftest import gql
from tests.graphql.mutations_catalog.helpers_calls import call
from tests.graphql.mutations_org.conftest import audit_of, errors, gid
from tests.graphql.mutations_org.helpers_teams import ARCHIVE, UPDATE, new_team, stored

MANY = 30  # teams of the statement-count test


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
