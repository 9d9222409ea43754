"""The benchmark's switch: with loader batching off, each nested row costs a statement."""

import dataclasses

import httpx

from tests.conftest import SETTINGS, app_client, token

QUERY = "query($n: Int) { expenses(first: $n) { nodes { member { name } category { name } } } }"


async def _statements(client: httpx.AsyncClient, statements, world, n: int) -> int:
    statements.reset()
    response = await client.post(
        "/graphql", json={"query": QUERY, "variables": {"n": n}},
        headers={"Authorization": f"Bearer {token(world.a, 'admin')}"},
    )  # fmt: skip
    assert "errors" not in response.json()
    return int(statements.count)


async def test_batching_off_costs_a_statement_per_row(
    engine, database_url, statements, world, client
) -> None:
    unbatched = dataclasses.replace(SETTINGS, loader_batching=False)
    async with app_client(unbatched, engine, database_url) as plain:
        small, large = (
            await _statements(plain, statements, world, 1),
            await _statements(plain, statements, world, 6),
        )
    # five more rows, each with a member and a category lookup (distinct keys are cached)
    assert large > small
    batched = [await _statements(client, statements, world, n) for n in (1, 6)]
    assert batched[0] == batched[1] == small
