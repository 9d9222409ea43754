"""A level's batches go with the read of the level above (execution/plan.py ``follows``).

Only when they are the whole of the next level: the plan says which; the lane then answers
as the reference path does, with the same statements in fewer round trips.
"""

import pytest
from graphql import GraphQLSchema, parse

from execution import compat
from execution.plan import plan_document
from resolvers.ids import encode_id
from schema.build import build_schema
from tests.conftest import token
from tests.execution.test_lane_differential import logged


@pytest.fixture(scope="module")
def core() -> GraphQLSchema:
    return compat.core_schema(build_schema())


DETAIL = """query($id: ID!) { node(id: $id) { ... on Expense {
    id member { name } card { last4 } receipts { fileName } } } }"""
TEAMS = "{ teams(first: 5) { nodes { name memberCount expenses(first: 2) { nodes { id } } } } }"
# the members and cards a viewer's visibility filters (a statement of its own per viewer);
# the cards, two levels down, go in a round trip of their own
MEMBERS = "{ teams(first: 5) { nodes { name members { name cards { last4 } } } } }"


def follows(core: GraphQLSchema, document: str) -> dict[str, list[tuple[str, str]]]:
    """Return, by response key, what each fetch's read takes along: (table, field)."""
    found: dict[str, list[tuple[str, str]]] = {}

    def walk(plans):
        for plan in plans:
            if plan.follows:
                found[plan.key] = sorted((table, child.name) for table, child in plan.follows)
            for children in plan.children.values():
                walk(children)

    walk(plan_document(core, parse(document), None).fields)
    return found


def test_a_detail_takes_its_references_and_children_along(core: GraphQLSchema) -> None:
    assert follows(core, DETAIL) == {
        "node": [("expenses", "card"), ("expenses", "member"), ("expenses", "receipts")]
    }


def test_a_root_list_takes_the_next_level_of_its_nodes(core: GraphQLSchema) -> None:
    assert follows(core, TEAMS) == {"teams": [("teams", "expenses"), ("teams", "memberCount")]}


@pytest.mark.parametrize(
    "document",
    [
        # two fetches of the level above share the level below: its batches would split
        "{ teams { nodes { manager { name } } } cards { nodes { holder { name } } } }",
        # receiptMissing cannot go along: then neither goes
        "{ expenses(first: 3) { nodes { member { name } receiptMissing } } }",
        # a root list of the document primes the members: the next level may find them there
        "{ members { nodes { name } } expenses { nodes { member { name } } } }",
    ],
)
def test_nothing_goes_along_when_the_next_level_could_split(
    core: GraphQLSchema, document: str
) -> None:
    assert follows(core, document) == {}


@pytest.mark.parametrize("who", ["admin", "manager", "employee"])
@pytest.mark.parametrize(("document", "trips"), [(DETAIL, 1), (TEAMS, 1), (MEMBERS, 2)])
async def test_the_lane_answers_alike_in_fewer_round_trips(
    client, reference, world, document: str, trips: int, who: str
) -> None:
    as_ = token(world.a, who)
    variables = {"id": encode_id("Expense", world.a.expense_ids[0])}
    for _ in range(2):  # the second with the caller's credentials remembered, as the lane's
        answer, by_reference = await logged(reference, document, variables, as_)
    for _ in range(2):  # learnt on the reference path, then in the lane
        response, line = await logged(client, document, variables, as_)
        assert response.json() == answer.json(), response.text
    assert line["sql_statements"] <= by_reference["sql_statements"]
    assert line["sql_round_trips"] == trips < by_reference["sql_round_trips"]
