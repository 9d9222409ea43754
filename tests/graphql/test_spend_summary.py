"""spendSummary: exact totals equal to SQL sums, visibility, time zones, constant statements."""

import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.money import to_major
from resolvers.ids import encode_id
from tests.conftest import codes, gql, gql_raw, token
from tests.world import Biz, _business

QUERY = """
query($groupBy: [SpendDimension!]!, $interval: TimeInterval, $filter: ExpenseFilter) {
  spendSummary(groupBy: $groupBy, interval: $interval, filter: $filter) {
    period team { id } member { id } card { id } category { id } merchantName currency status
    total { amount currency } count
  }
}
"""
SQL_COLUMNS = {"TEAM": "team_id", "MEMBER": "member_id", "CARD": "card_id", "CATEGORY": "category_id",
               "MERCHANT": "merchant_name", "CURRENCY": "currency", "STATUS": "status"}  # fmt: skip
API_FIELDS = {"TEAM": ("team", "Team"), "MEMBER": ("member", "Member"), "CARD": ("card", "Card"),
              "CATEGORY": ("category", "Category")}  # fmt: skip


def _api_key(bucket: dict[str, Any], group_by: list[str], interval: str | None) -> tuple[Any, ...]:
    key: list[Any] = [bucket["period"]] if interval else []
    for dimension in group_by:
        if dimension in API_FIELDS:
            name, _ = API_FIELDS[dimension]
            key.append(bucket[name]["id"] if bucket[name] else None)
        else:
            key.append(
                bucket[
                    {"MERCHANT": "merchantName", "CURRENCY": "currency", "STATUS": "status"}[
                        dimension
                    ]
                ]
            )
    return tuple(key)


async def _sql_buckets(
    engine: AsyncEngine,
    where: str,
    params: dict[str, Any],
    group_by: list[str],
    interval: str | None,
) -> dict[tuple[Any, ...], tuple[Decimal, int]]:
    period = (
        f"date_trunc('{interval.lower()}', timezone(b.timezone, e.spent_at))::date::text"
        if interval
        else "NULL"
    )
    columns = ", ".join(f"e.{SQL_COLUMNS[d]}" for d in group_by) or "NULL"
    statement = text(
        f"SELECT {period} AS period, {columns}, e.home_amount_minor FROM expenses e"
        f" JOIN businesses b ON b.id = e.business_id WHERE e.deleted_at IS NULL AND {where}"
    )
    totals: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    async with engine.connect() as conn:
        for row in await conn.execute(statement, params):
            values = list(row)
            key: list[Any] = [values[0]] if interval else []
            for dimension, value in zip(group_by, values[1:-1], strict=False):
                key.append(
                    encode_id(API_FIELDS[dimension][1], value)
                    if dimension in API_FIELDS and value
                    else value
                )
            totals[tuple(key)][0] += values[-1]
            totals[tuple(key)][1] += 1
    return {key: (to_major(total, "GBP"), count) for key, (total, count) in totals.items()}


def _random_case(
    rng: random.Random, biz: Biz
) -> tuple[list[str], str | None, dict[str, Any], str, dict[str, Any]]:
    group_by = rng.sample(sorted(SQL_COLUMNS), rng.randint(0, 3))
    interval = rng.choice([None, "DAY", "WEEK", "MONTH", "QUARTER", "YEAR"])
    api_filter: dict[str, Any] = {}
    where, params = "e.business_id = :b", dict[str, Any](b=biz.id)
    if rng.random() < 0.5:
        statuses = rng.sample(["DRAFT", "SUBMITTED", "APPROVED", "REJECTED", "REIMBURSED"], 2)
        api_filter["statuses"] = statuses
        where += " AND e.status = ANY(:statuses)"
        params["statuses"] = statuses
    if rng.random() < 0.5:
        low = rng.randrange(0, 100_000)
        api_filter["minAmount"] = str(to_major(low, "GBP"))
        where += " AND e.home_amount_minor >= :low"
        params["low"] = low
    if rng.random() < 0.3:
        api_filter["currencies"] = ["JPY", "GBP"]
        where += " AND e.currency IN ('JPY', 'GBP')"
    return group_by, interval, api_filter, where, params


@pytest.mark.parametrize("seed", range(25))
async def test_totals_equal_sql_sums_on_random_filters(client, engine, world, seed: int) -> None:
    group_by, interval, api_filter, where, params = _random_case(random.Random(seed), world.a)
    data = await gql(
        client,
        QUERY,
        {"groupBy": group_by, "interval": interval, "filter": api_filter},
        as_=token(world.a, "admin"),
    )
    got = {
        _api_key(b, group_by, interval): (Decimal(b["total"]["amount"]), b["count"])
        for b in data["spendSummary"]
    }
    assert all(b["total"]["currency"] == "GBP" for b in data["spendSummary"])
    assert got == await _sql_buckets(engine, where, params, group_by, interval)


async def test_manager_summary_covers_own_and_managed_team_only(client, engine, world) -> None:
    data = await gql(client, QUERY, {"groupBy": []}, as_=token(world.a, "manager"))
    where = "e.business_id = :b AND (e.member_id = :m OR e.team_id = :t)"
    params = {"b": world.a.id, "m": world.a.members["manager"], "t": world.a.teams["sales"]}
    expected = await _sql_buckets(engine, where, params, [], None)
    assert [(Decimal(b["total"]["amount"]), b["count"]) for b in data["spendSummary"]] == list(
        expected.values()
    )
    everything = await gql(client, QUERY, {"groupBy": []}, as_=token(world.a, "admin"))
    assert everything["spendSummary"][0]["count"] > data["spendSummary"][0]["count"]


async def test_periods_start_in_the_business_time_zone(client, engine) -> None:
    async with engine.begin() as conn:
        biz = await _business(conn, "Zoned Inc", "GBP", 1, random.Random(9))
        await conn.execute(
            text("UPDATE businesses SET timezone = 'America/New_York' WHERE id = :b"), {"b": biz.id}
        )
        # 02:00 UTC on 1 April is still 31 March in New York
        await conn.execute(
            text(
                "UPDATE expenses SET spent_at = '2026-04-01T02:00:00Z', status = 'APPROVED', deleted_at = NULL WHERE business_id = :b"
            ),
            {"b": biz.id},
        )
    data = await gql(client, QUERY, {"groupBy": [], "interval": "MONTH"}, as_=token(biz, "admin"))
    assert [b["period"] for b in data["spendSummary"]] == ["2026-03-01"]


async def test_nested_objects_cost_no_statement_per_bucket(client, world, statements) -> None:
    query = "query($i: TimeInterval) { spendSummary(groupBy: [TEAM, MEMBER, CATEGORY], interval: $i) { team { name manager { name } } member { name } category { name } count } }"
    counts = []
    for interval in ("YEAR", "DAY"):
        statements.reset()
        data = await gql(client, query, {"i": interval}, as_=token(world.a, "admin"))
        counts.append((statements.count, len(data["spendSummary"])))
    (few_statements, few_buckets), (many_statements, many_buckets) = counts
    assert many_buckets > 5 * few_buckets
    # auth, aggregate, then one batch each: teams, members, categories, and the teams' managers
    assert few_statements == many_statements == 6


async def test_bad_arguments(client, world) -> None:
    response = await gql_raw(
        client, "{ spendSummary(groupBy: [TEAM, TEAM]) { count } }", as_=token(world.a, "admin")
    )
    assert codes(response.json()) == ["BAD_USER_INPUT"]
    response = await gql_raw(client, "{ spendSummary(groupBy: []) { count } }", as_=None)
    assert codes(response.json()) == ["UNAUTHENTICATED"]


async def test_max_buckets_bounds_the_answer_and_its_cost(client, world) -> None:
    admin = token(world.a, "admin")
    query = "query($n: Int!) { spendSummary(groupBy: [MERCHANT], maxBuckets: $n) { merchantName count } }"  # fmt: skip
    everything = await gql(client, query, {"n": 5000}, as_=admin)
    merchants = len(everything["spendSummary"])
    assert merchants > 2
    too_many = (await gql_raw(client, query, {"n": merchants - 1}, as_=admin)).json()
    assert (
        codes(too_many) == ["QUERY_TOO_COMPLEX"]
        and "maxBuckets" in too_many["errors"][0]["message"]
    )
    exact = await gql_raw(client, query, {"n": merchants}, as_=admin)
    body = exact.json()
    assert len(body["data"]["spendSummary"]) == merchants
    # requested cost counts maxBuckets buckets (2 objects each: the bucket, its count is a scalar)
    assert body["extensions"]["cost"]["requestedQueryCost"] >= merchants
    for bad in (0, 5001):
        refused = (await gql_raw(client, query, {"n": bad}, as_=admin)).json()
        assert codes(refused) == ["BAD_USER_INPUT"]
        assert refused["errors"][0]["extensions"]["field"] == "maxBuckets"


async def test_a_dashboard_summary_fits_the_production_cost_ceiling(client, world) -> None:
    # grouped by team without an id list: bounded by the default maxBuckets (300), not 5000
    query = "{ spendSummary(groupBy: [TEAM]) { team { name } total { amount currency } count } }"
    body = (await gql_raw(client, query, as_=token(world.a, "admin"))).json()
    assert "errors" not in body
    assert body["extensions"]["cost"]["requestedQueryCost"] <= 1000  # the default ceiling
