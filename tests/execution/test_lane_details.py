"""The fast lane against the reference path on one object and the level below it.

A lookup by id returns one row at most: the reads of the level below it go in its
statement, joined after it, and take its keys from its columns (db/merged_reads.py).
Whatever each role sees of it, or NOT_FOUND, the lane answers as the reference does.
"""

import pytest

from resolvers.ids import encode_id
from tests.execution.test_lane_differential import AS, _both, _credential, runs

# a document per type: naming several, its read (of one type's table) could not take the
# others' batches, and none would go with it (all or none, db/sent_together.py take)
DETAIL = {
    "Team": """name memberCount members { name cards { last4 } }
      expenses(first: 3) { nodes { id merchantName } pageInfo { hasNextPage } }""",
    "Member": "name team { name } cards { last4 } expenses(first: 2) { nodes { id } }",
    "Card": "last4 holder { name } expenses(first: 2) { nodes { merchantName } }",
    "Expense": "merchantName member { name } card { last4 } receipts { fileName }",
}


@pytest.mark.parametrize("who", AS)
@pytest.mark.parametrize("kind", ["Team", "Member", "Card", "Expense"])
async def test_a_detail_and_the_level_below_it_match(
    client, reference, statements, world, kind, who
) -> None:
    ids = {"Team": world.a.teams, "Member": world.a.members, "Card": world.a.cards}
    found = next(iter(ids[kind].values())) if kind in ids else world.a.expense_ids[0]
    for variables in ({"id": encode_id(kind, found)}, {"id": encode_id(kind, 2**62)}):
        fallbacks = runs("fallback")
        query = f"query($id: ID!) {{ node(id: $id) {{ id ... on {kind} {{ {DETAIL[kind]} }} }} }}"
        expected, got = await _both(
            client, reference, statements, query, variables, _credential(world, who)
        )
        assert got == expected
        if "errors" not in expected[2]:  # the lane answered alone, as the reference
            assert runs("fallback") == fallbacks
        if who == "admin" and variables["id"] == encode_id(kind, found):
            assert got[2]["data"]["node"]["id"] == variables["id"]  # found, whole
