"""Requested cost is an upper bound of actual cost, for every query shape: the bucket is
debited the requested cost before execution, so a query must never serve more than it paid.

Random documents come from hypothesis (seeded): spendSummary with every kind of grouping,
interval, filter and selection, given as literals or variables, and hypothesis-graphql's
queries over the whole Query type.
"""

import json
from datetime import timedelta
from typing import Any

import httpx
from graphql import parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cost import query_cost
from app.summary_cost import summary_buckets
from resolvers.ids import encode_id
from resolvers.summary import DEFAULT_MAX_BUCKETS, MAX_BUCKETS
from schema.build import build_schema
from tests.conftest import token
from tests.drawn import drawn_queries
from tests.world import ANCHOR, World

SCHEMA = build_schema()._schema
DIMENSIONS = ["TEAM", "MEMBER", "CARD", "CATEGORY", "MERCHANT", "CURRENCY", "STATUS"]
STATUSES = ["DRAFT", "SUBMITTED", "APPROVED", "REJECTED", "REIMBURSED"]
BUCKET_FIELDS = [
    "period", "merchantName", "currency", "status", "count", "total { amount currency }",
    "team { id name }", "member { id name team { name } }", "card { id last4 holder { name } }",
    "category { id name }",
]  # fmt: skip
INSTANTS = [ANCHOR + timedelta(hours=h) for h in (-24 * 40, -24 * 9 - 5, -30, 0, 7, 24 * 3)]


def _cost(query: str, variables: dict[str, Any] | None = None) -> int:
    return query_cost(SCHEMA, parse(query), None, variables)


def test_summary_buckets_follow_the_arguments() -> None:
    assert summary_buckets(SCHEMA, {"groupBy": []}) == 1
    assert summary_buckets(SCHEMA, {"groupBy": ["STATUS"]}) == len(STATUSES)
    assert summary_buckets(SCHEMA, {"groupBy": ["STATUS"], "filter": {"statuses": ["DRAFT"]}}) == 2
    assert summary_buckets(SCHEMA, {"groupBy": ["TEAM"], "filter": {"teamIds": ["a", "b"]}}) == 3
    # unbounded by the arguments: bounded by maxBuckets (200 unless asked for more)
    assert summary_buckets(SCHEMA, {"groupBy": ["MERCHANT"]}) == DEFAULT_MAX_BUCKETS
    assert summary_buckets(SCHEMA, {"groupBy": ["TEAM"], "maxBuckets": 900}) == 900
    assert summary_buckets(SCHEMA, {"groupBy": ["STATUS"], "maxBuckets": 3}) == 3
    assert summary_buckets(SCHEMA, {"groupBy": [], "interval": "MONTH"}) == DEFAULT_MAX_BUCKETS
    week = {"spentAfter": "2026-06-01T00:00:00Z", "spentBefore": "2026-06-08T00:00:00Z"}
    assert summary_buckets(SCHEMA, {"groupBy": [], "interval": "DAY", "filter": week}) == 11
    assert summary_buckets(SCHEMA, {"groupBy": [], "interval": "YEAR", "filter": week}) == 2
    assert summary_buckets(SCHEMA, {"groupBy": None}) == DEFAULT_MAX_BUCKETS
    assert summary_buckets(SCHEMA, {"groupBy": ["TEAM"], "maxBuckets": "x"}) == MAX_BUCKETS


def test_spend_summary_costs_its_buckets() -> None:
    assert _cost("{ spendSummary(groupBy: []) { count } }") == 1
    assert _cost("{ spendSummary(groupBy: [STATUS]) { status total { amount } } }") == 5 + 5
    assert (
        _cost(
            "query($g: [SpendDimension!]!) { spendSummary(groupBy: $g) { team { name } } }",
            {"g": ["TEAM"]},
        )
        == 2 * DEFAULT_MAX_BUCKETS
    )
    assert _cost('{ nodes(ids: ["a", "b", "c"]) { id } }') == 3


def _literal(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, str) and value in (*DIMENSIONS, *STATUSES, "DAY", "WEEK", "MONTH",
                                            "QUARTER", "YEAR"):  # fmt: skip
        return value  # an enum value
    return json.dumps(value)


def _summary_specs(count: int) -> list[dict[str, Any]]:
    """Return ``count`` spendSummary shapes drawn by hypothesis (seeded)."""
    drawn: list[dict[str, Any]] = []
    specs = st.fixed_dictionaries(
        {
            "groupBy": st.lists(st.sampled_from(DIMENSIONS), max_size=3, unique=True),
            "interval": st.none() | st.sampled_from(["DAY", "WEEK", "MONTH", "QUARTER", "YEAR"]),
            "after": st.none() | st.sampled_from(INSTANTS),
            "before": st.none() | st.sampled_from(INSTANTS),
            "statuses": st.none() | st.lists(st.sampled_from(STATUSES), max_size=3, unique=True),
            "teams": st.none() | st.lists(st.integers(0, 5), max_size=3, unique=True),
            "currencies": st.none() | st.lists(st.sampled_from(["GBP", "JPY", "BHD"]), unique=True),
            "fields": st.lists(st.sampled_from(BUCKET_FIELDS), min_size=1, unique=True),
            "variables": st.booleans(),
        }
    )

    @settings(max_examples=count, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(specs)
    def draw(spec: dict[str, Any]) -> None:
        drawn.append(spec)

    draw()
    return drawn


def _summary_request(spec: dict[str, Any], world: World) -> tuple[str, dict[str, Any]]:
    teams = [encode_id("Team", i) for i in world.a.teams.values()] + ["bm90LWEtdGVhbQ"]
    filter_: dict[str, Any] = {}
    for name, key in (("spentAfter", "after"), ("spentBefore", "before")):
        if spec[key] is not None:
            filter_[name] = spec[key].isoformat()
    if spec["statuses"] is not None:
        filter_["statuses"] = spec["statuses"]
    if spec["teams"] is not None:
        filter_["teamIds"] = [teams[i % len(teams)] for i in spec["teams"]]
    if spec["currencies"] is not None:
        filter_["currencies"] = spec["currencies"]
    arguments = {
        "groupBy": spec["groupBy"],
        "filter": filter_ or None,
        "interval": spec["interval"],
    }
    selection = "{ " + " ".join(spec["fields"]) + " }"
    if spec["variables"]:
        query = (
            "query($g: [SpendDimension!]!, $f: ExpenseFilter, $i: TimeInterval)"
            " { spendSummary(groupBy: $g, filter: $f, interval: $i) " + selection + " }"
        )
        return query, {
            "g": arguments["groupBy"],
            "f": arguments["filter"],
            "i": arguments["interval"],
        }
    literal = ", ".join(f"{k}: {_literal(v)}" for k, v in arguments.items() if v is not None)
    return "{ spendSummary(" + literal + ") " + selection + " }", {}


def _drawn_queries(count: int) -> list[str]:
    """Return ``count`` queries over the Query type drawn by hypothesis-graphql (seeded)."""
    instants = [i.isoformat() for i in INSTANTS]
    return drawn_queries(count, instants=instants, date="2026-06-01", decimals=["0", "12.5", "-1"])


async def _costs(client: httpx.AsyncClient, query: str, variables: Any, as_: str) -> Any:
    headers = {"Authorization": f"Bearer {as_}"}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    return body, (body.get("extensions") or {}).get("cost")


async def test_spend_summary_never_serves_more_than_it_requested(client, world) -> None:
    as_ = token(world.a, "admin")
    served = 0
    for spec in _summary_specs(100):
        query, variables = _summary_request(spec, world)
        body, cost = await _costs(client, query, variables, as_)
        assert cost is not None, body
        assert cost["requestedQueryCost"] >= cost["actualQueryCost"], (query, variables, cost)
        served += body.get("data") is not None and len(body["data"]["spendSummary"]) > 1
    assert served >= 15  # many draws really grouped something


async def test_drawn_queries_never_serve_more_than_they_requested(client, world) -> None:
    as_ = token(world.a, "admin")
    for query in _drawn_queries(80):
        body, cost = await _costs(client, query, {}, as_)
        if cost is None:  # refused before execution (validation): nothing served
            assert body.get("data") is None, (query, body)
            continue
        assert cost["requestedQueryCost"] >= cost["actualQueryCost"], (query, cost)
