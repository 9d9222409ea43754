"""The per-request shortcuts keep behaviour: cached costs and verified tokens answer as before."""

import time

import pytest
from graphql import parse

from app import auth
from app.auth import AuthError, authenticate, issue_token
from app.cost import StaticCosts, actual_cost, query_cost
from schema.build import build_schema
from tests.conftest import SETTINGS

LIST = """
query Page($first: Int, $n: Int) {
  expenses(first: $first) { nodes { id member { name } team { members { name } } } }
  teams(first: $n) { nodes { expenses(first: 5) { nodes { id } } } }
}
fragment Unused on Expense { id }
"""


@pytest.mark.parametrize(
    "variables",
    [{}, {"first": 3}, {"first": 50, "n": 2}, {"first": 500}, {"first": "x"}, {"first": -1},
     {"first": None, "n": 100}, {"first": 3}, {"first": 3, "other": [1]}],
)  # fmt: skip
def test_cached_cost_equals_the_walk(variables: dict[str, object]) -> None:
    schema, document = build_schema()._schema, parse(LIST)
    costs = StaticCosts()
    for _ in range(2):  # computed, then from the cache
        assert costs.cost(schema, LIST, document, "Page", variables) == query_cost(
            schema, document, "Page", variables
        )


def test_the_cost_cache_is_bounded() -> None:
    schema = build_schema()._schema
    costs = StaticCosts(maxsize=2, sizes_per_document=2)
    for n in range(5):
        query = f"{{ expenses(first: {n}) {{ nodes {{ id }} }} }}"
        assert costs.cost(schema, query, parse(query), None, {}) == 1 + n
    for first in range(5):
        assert costs.cost(schema, LIST, parse(LIST), "Page", {"first": first}) > 0
    assert len(costs._costs) == 2 and all(len(sizes) <= 2 for _, sizes in costs._costs.values())


def test_actual_cost_counts_objects_in_lists_and_subclasses() -> None:
    from collections import OrderedDict

    data = {"a": {"b": [{"c": 1}, {"d": [{"e": "x"}]}], "f": None}, "g": OrderedDict(h={})}
    assert actual_cost(data) == 6 and actual_cost(None) == 0 and actual_cost({}) == 0


async def test_a_cached_token_still_expires_on_time(monkeypatch: pytest.MonkeyPatch) -> None:
    token = issue_token(SETTINGS, business_id=1, member_id=1, ttl_s=60)
    verified = auth._verified(
        token, SETTINGS.jwt_secret, SETTINGS.jwt_audience, SETTINGS.jwt_issuer
    )
    assert verified[:2] == (1, 1) and verified[2] > time.time()
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)  # the module app/auth.py reads
    with pytest.raises(AuthError, match="expired"):
        await authenticate(f"Bearer {token}", db=None, settings=SETTINGS)  # type: ignore[arg-type]


async def test_a_token_is_cached_only_with_the_secret_it_was_signed_with() -> None:
    token = issue_token(SETTINGS, business_id=1, member_id=1)
    auth._verified(token, SETTINGS.jwt_secret, SETTINGS.jwt_audience, SETTINGS.jwt_issuer)
    other = SETTINGS.__class__(jwt_secret="another-secret-" + "y" * 32)
    with pytest.raises(AuthError, match="not valid"):
        await authenticate(f"Bearer {token}", db=None, settings=other)  # type: ignore[arg-type]
