"""createTeam: the new team, its rules and manager, who may, and top-level refusals."""

from datetime import UTC, datetime

import pytest

from db.tables.org import members
from resolvers.ids import decode_id
from tests.conftest import codes, gql_raw
from tests.graphql.mutations_catalog.helpers_calls import ALLOWED, call
from tests.graphql.mutations_catalog.helpers_orgs import inserted
from tests.graphql.mutations_org.conftest import MATRIX, audit_of, counted, errors, gid
from tests.graphql.mutations_org.helpers_teams import ARCHIVE, CREATE, UPDATE, has_team, stored

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
    before = await counted(engine, org, "teams")
    payload = await call(client, CREATE, org.credential("admin"),
                         input={"name": name, "managerId": ids[manager]})  # fmt: skip
    assert errors(payload, "team") == [expected]
    assert await counted(engine, org, "teams") == before


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
    assert await has_team(engine, f"Denied {who}") is False


async def test_another_business_cannot_name_our_manager(client, engine, org):
    manager = gid("Member", org.biz.members["manager"])
    payload = await call(client, CREATE, org.credential("other_admin"),
                         input={"name": "Poached", "managerId": manager})  # fmt: skip
    assert errors(payload, "team") == [("managerId", "NOT_FOUND")]
    assert await has_team(engine, "Poached") is False


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
    assert await has_team(engine, "Refused") is False
    assert (await stored(engine, org.biz.teams["eng"]))[2] is False
