"""updateTeam: renames, manager changes, no-op updates, unknown teams, and who may."""

from typing import Any

import pytest

from tests.graphql.mutations_catalog.helpers_calls import UNKNOWN, call
from tests.graphql.mutations_org.conftest import MATRIX, audit_of, changed_by, errors, gid, missing
from tests.graphql.mutations_org.helpers_teams import ARCHIVE, UPDATE, new_team, stored

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


# invalid updates, and the one userError each gets
INVALID_UPDATES = [
    ({"name": "Eng"}, ("name", "DUPLICATE")),
    ({"name": ""}, ("name", "INVALID_VALUE")),
    ({"managerId": "employee"}, ("managerId", "INVALID_VALUE")),
    ({"managerId": "other_manager"}, ("managerId", "NOT_FOUND")),
]


@pytest.mark.parametrize(("input_", "expected"), INVALID_UPDATES)
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
    theirs = org.other.teams["sales"]
    change = {"name": "Taken over"} if query is UPDATE else None
    await missing(client, org, query, which, "Team", other_business=theirs, input_=change,
                  another_type=gid("Member", org.biz.members["admin"]))  # fmt: skip
    assert await stored(engine, theirs) == ("Sales", org.other.members["manager"], False)


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
