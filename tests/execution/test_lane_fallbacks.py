"""The fast lane's fallbacks: a request it cannot answer alone is answered by the reference
path (strawberry), exactly as the reference app answers it, and counted by its reason in
``expensegraph_fast_lane_total`` (app/lane.py)."""

from resolvers.ids import encode_id
from tests.conftest import gql_raw, token
from tests.execution.test_lane_differential import CORPUS, _both, runs


async def test_an_error_falls_back_to_the_reference(client, reference, statements, world) -> None:
    ids = [encode_id("Expense", biz.expense_ids[0]) for biz in (world.a, world.b)]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Expense { merchantName } } }"
    expected, got = await _both(
        client, reference, statements, query, {"ids": ids}, token(world.a, "admin")
    )
    assert got == expected
    body = got[2]
    assert body["data"]["nodes"][0]["id"] == ids[0] and body["data"]["nodes"][1] is None
    assert [e["path"] for e in body["errors"]] == [["nodes", 1]]


async def test_an_error_in_the_lane_falls_back_to_the_reference(
    client, reference, statements, world
) -> None:
    query = (
        "query($id: ID!) { node(id: $id) { id ... on Expense { merchantName member { name } } } }"
    )
    mine = token(world.a, "admin")
    learnt = {"id": encode_id("Expense", world.a.expense_ids[0])}
    await gql_raw(client, query, learnt, as_=mine)
    fallbacks = runs("fallback", "error:NOT_FOUND")
    other = {"id": encode_id("Expense", world.b.expense_ids[0])}
    expected, got = await _both(client, reference, statements, query, other, mine)
    assert got == expected
    assert expected[2]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert runs("fallback", "error:NOT_FOUND") == fallbacks + 2


async def test_a_directive_is_left_to_the_reference_path(client, world) -> None:
    query, variables = CORPUS["include directive (not compiled)"]
    await gql_raw(client, query, variables, as_=token(world.a, "admin"))
    lane, reference = runs("lane"), runs("reference", "directive")
    await gql_raw(client, query, variables, as_=token(world.a, "admin"))
    assert runs("reference", "directive") == reference + 1 and runs("lane") == lane


async def test_a_key_lacking_a_permission_falls_back(client, reference, statements, world) -> None:
    query, variables = CORPUS["categories and receipts"]
    await gql_raw(client, query, variables, as_=token(world.a, "admin"))  # learnt
    fallbacks = runs("fallback", "permission")
    expected, got = await _both(
        client, reference, statements, query, variables, world.keys["a_expenses_only"]
    )
    assert got == expected
    assert [e["extensions"]["code"] for e in got[2]["errors"]] == ["FORBIDDEN"]
    assert runs("fallback", "permission") == fallbacks + 2
