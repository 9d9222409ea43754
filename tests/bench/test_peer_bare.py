"""bench/peer_bare.py, the bare floor of peerbench, answers as expensegraph does."""

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from bench.peer_bare import DOCS, Bare
from resolvers.ids import encode_id
from tests.conftest import SETTINGS, token
from tests.world import World


@pytest.fixture
async def bare(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    pool = await asyncpg.create_pool(database_url.replace("+asyncpg", ""), min_size=1, max_size=2)
    transport = httpx.ASGITransport(app=Bare(SETTINGS, pool))
    async with httpx.AsyncClient(transport=transport, base_url="http://bare") as client:
        yield client
    await pool.close()


def _request(shape: str, world: World) -> dict[str, Any]:
    expense = world.a.expense_ids[3]  # one with a card and receipts in tests/world.py's data
    variables = {"id": encode_id("Expense", expense)} if shape == "q3" else {}
    return {"query": (DOCS / f"{shape}.graphql").read_text(), "variables": variables}


@pytest.mark.parametrize("shape", ["q1", "q2", "q3"])
async def test_answers_as_expensegraph_does(
    shape: str, world: World, client: httpx.AsyncClient, bare: httpx.AsyncClient
) -> None:
    # the floor is only a floor if it does the same work: equal data, for each shape
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    ours = (await client.post("/graphql", json=_request(shape, world), headers=headers)).json()
    floor = await bare.post("/graphql", json=_request(shape, world), headers=headers)
    assert "errors" not in ours, ours
    assert floor.status_code == 200
    assert floor.json() == {"data": ours["data"]}
    assert ours["data"] != {"node": None} and ours["data"] != {"expenses": {"nodes": []}}


async def test_refuses_what_it_does_not_do(world: World, bare: httpx.AsyncClient) -> None:
    manager = {"Authorization": f"Bearer {token(world.a, 'manager')}"}
    assert (
        await bare.post("/graphql", json=_request("q1", world), headers=manager)
    ).status_code == 403
    admin = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    other = {"query": "{ __typename }"}
    assert (await bare.post("/graphql", json=other, headers=admin)).status_code == 400
    forged = {"Authorization": "Bearer " + token(world.a, "admin")[:-4] + "AAAA"}
    assert (
        await bare.post("/graphql", json=_request("q1", world), headers=forged)
    ).status_code == 401
