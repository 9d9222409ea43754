"""spendSummary from the rollups: equal to the base aggregate and to a plain SQL sum.

A business in America/Los_Angeles with expenses over fourteen months, some exactly on
local midnights around the March DST change, answers random filter/groupBy/interval
combinations (day-boundary ranges included) through both statements of db/queries/summary.py.
"""

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.queries.expenses import ExpenseSpec
from db.queries.summary import expense_summary_select
from db.queries.summary_rollup import ROLLUP_DIMENSIONS, rollup_select, rollup_serves
from db.visibility import Visibility
from tests.conftest import gql, token
from tests.rollup import rollup_drift
from tests.world import Biz, _business

ZONE = "America/Los_Angeles"
# local midnights: before and after the spring-forward night of 8 March 2026, month starts
MIDNIGHTS = ("2026-03-08T08:00:00Z", "2026-03-09T07:00:00Z", "2025-11-01T07:00:00Z",
             "2026-01-01T08:00:00Z", "2026-02-01T08:00:00Z")  # fmt: skip
STATUSES = ("DRAFT", "SUBMITTED", "APPROVED", "REJECTED", "REIMBURSED")


@pytest.fixture(scope="module")
async def zoned(engine: AsyncEngine) -> Biz:
    async with engine.begin() as conn:
        biz = await _business(conn, "Rollup Zoned Ltd", "GBP", 400, random.Random(21))
        b = {"b": biz.id, "zone": ZONE, "midnights": [datetime.fromisoformat(m) for m in MIDNIGHTS]}
        await conn.execute(text("UPDATE businesses SET timezone = :zone WHERE id = :b"), b)
        await conn.execute(text(
            "UPDATE expenses SET spent_at = timestamptz '2026-06-01 12:00Z'"
            " - (id * 7919 % 600000) * interval '1 minute',"
            " category_id = CASE WHEN id % 7 = 0 THEN NULL ELSE category_id END"
            " WHERE business_id = :b"), b)  # fmt: skip
        # on local midnights (a second either side), and half an hour before the next one
        await conn.execute(text(
            "UPDATE expenses SET spent_at = (CAST(:midnights AS timestamptz[]))[id % 5 + 1]"
            " + CASE WHEN id % 8 = 0 THEN (id % 3 - 1) * interval '1 second' ELSE '23:30' END"
            " WHERE business_id = :b AND id % 4 = 0"), b)  # fmt: skip
    return biz


def _instant(rng: random.Random) -> datetime | None:
    kind = rng.choice(["none", "any", "midnight", "local"])
    if kind == "none":
        return None
    if kind == "midnight":
        return datetime.fromisoformat(rng.choice(MIDNIGHTS))
    day = date(2025, 4, 1) + timedelta(days=rng.randrange(430))
    if kind == "local":  # a local midnight of any day
        return datetime.combine(day, time(), ZoneInfo(ZONE)).astimezone(UTC)
    return datetime.combine(day, time(), UTC) + timedelta(minutes=rng.randrange(1440))


def _random_spec(rng: random.Random, biz: Biz) -> ExpenseSpec:
    def some(values: list[Any]) -> tuple[Any, ...] | None:
        return tuple(rng.sample(values, rng.randint(1, 2))) if rng.random() < 0.3 else None

    return ExpenseSpec(
        spent_after=_instant(rng),
        spent_before=_instant(rng),
        statuses=some(list(STATUSES)),
        team_ids=some(list(biz.teams.values())),
        category_ids=some(list(biz.categories.values())),
        currencies=some(["GBP", "JPY", "BHD", "USD"]),
    )


async def _buckets(conn: AsyncConnection, statement: Select[Any]) -> list[tuple[Any, ...]]:
    return [(*row[:-2], int(row[-2]), int(row[-1])) for row in await conn.execute(statement)]


async def _plain_sum(
    conn: AsyncConnection, biz: Biz, spec: ExpenseSpec, group_by: list[str], interval: str | None
) -> dict[tuple[Any, ...], tuple[int, int]]:
    """Return the buckets summed in Python from the matching rows, read one by one."""
    period = (
        f"date_trunc('{interval.lower()}', timezone(b.timezone, e.spent_at))"
        if interval
        else "NULL"
    )
    columns = "".join(f"e.{ROLLUP_DIMENSIONS[d]}, " for d in group_by)
    where = ["e.business_id = :b", "e.deleted_at IS NULL"]
    params: dict[str, Any] = {"b": biz.id, "after": spec.spent_after, "before": spec.spent_before}
    where += ["e.spent_at >= :after"] if spec.spent_after else []
    where += ["e.spent_at < :before"] if spec.spent_before else []
    for column, values in (("status", spec.statuses), ("team_id", spec.team_ids),
                           ("category_id", spec.category_ids), ("currency", spec.currencies)):  # fmt: skip
        if values is not None:
            where.append(f"e.{column} = ANY(:{column})")
            params[column] = list(values)
    statement = text(
        f"SELECT {period}, {columns}e.home_currency, e.home_amount_minor FROM expenses e"
        f" JOIN businesses b ON b.id = e.business_id WHERE {' AND '.join(where)}"
    )
    sums: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    for row in await conn.execute(statement, params):
        key = tuple(row[:-1]) if interval else tuple(row[1:-1])
        sums[key][0] += row[-1]
        sums[key][1] += 1
    return {key: (total, n) for key, (total, n) in sums.items()}


@pytest.mark.parametrize("seed", range(120))
async def test_rollup_and_base_equal_a_plain_sum(engine, zoned, seed: int) -> None:
    rng = random.Random(seed)
    group_by = rng.sample(sorted(ROLLUP_DIMENSIONS), rng.randint(0, 3))
    interval = rng.choice([None, "DAY", "WEEK", "MONTH", "QUARTER", "YEAR"])
    spec, visibility = _random_spec(rng, zoned), Visibility(business_id=zoned.id)
    assert rollup_serves(visibility, spec, group_by)
    async with engine.connect() as conn:
        from_rollup = await _buckets(conn, rollup_select(visibility, spec, group_by, interval))
        from_expenses = await _buckets(
            conn, expense_summary_select(visibility, spec, group_by, interval)
        )
        expected = await _plain_sum(conn, zoned, spec, group_by, interval)
    assert from_rollup == from_expenses  # same buckets, same order
    assert {b[:-2]: b[-2:] for b in from_rollup} == expected


async def test_fixture_has_boundary_rows_and_no_drift(engine, zoned) -> None:
    async with engine.connect() as conn:
        on_midnight = await conn.scalar(
            text(
                "SELECT count(*) FROM expenses WHERE business_id = :b"
                " AND spent_at = ANY(CAST(:m AS timestamptz[]))"
            ),
            {"b": zoned.id, "m": [datetime.fromisoformat(m) for m in MIDNIGHTS]},
        )
        assert on_midnight > 10
        assert await rollup_drift(conn) == []


async def test_time_zone_change_rebuilds_the_business(engine) -> None:
    async with engine.begin() as conn:
        biz = await _business(conn, "Rollup Tz Ltd", "GBP", 1, random.Random(3))
        where = {"b": biz.id}
        await conn.execute(text(
            "UPDATE expenses SET spent_at = '2026-04-01T02:00:00Z', deleted_at = NULL WHERE business_id = :b"), where)  # fmt: skip
        periods = text(
            "SELECT (SELECT array_agg(day) FROM expense_day_totals WHERE business_id = :b),"
            " (SELECT array_agg(month) FROM expense_month_totals WHERE business_id = :b)"
        )
        assert (await conn.execute(periods, where)).one() == ([date(2026, 4, 1)],) * 2
        # 02:00 UTC on 1 April is still 31 March in New York
        await conn.execute(text("UPDATE businesses SET timezone = 'America/New_York' WHERE id = :b"), where)  # fmt: skip
        assert (await conn.execute(periods, where)).one() == (
            [date(2026, 3, 31)],
            [date(2026, 3, 1)],
        )
        await conn.execute(text("UPDATE businesses SET name = 'Renamed' WHERE id = :b"), where)
        assert await rollup_drift(conn) == []


def test_routing_needs_kept_dimensions_and_the_whole_business() -> None:
    everyone, manager = (
        Visibility(business_id=1),
        Visibility(business_id=1, member_id=2, team_ids=(3,)),
    )
    assert rollup_serves(everyone, ExpenseSpec(statuses=("APPROVED",)), ["TEAM", "CATEGORY"])
    assert not rollup_serves(everyone, ExpenseSpec(), ["MERCHANT"])
    assert not rollup_serves(everyone, ExpenseSpec(), ["MEMBER"])
    assert not rollup_serves(manager, ExpenseSpec(), ["TEAM"])
    for unkept in (dict(member_ids=(1,)), dict(card_ids=(1,)), dict(min_home_minor=1),
                   dict(max_home_minor=1), dict(merchant_search="a"), dict(has_receipt=True),
                   dict(updated_since=datetime(2026, 1, 1, tzinfo=UTC)), dict(include_deleted=True)):  # fmt: skip
        assert not rollup_serves(everyone, ExpenseSpec(**unkept), []), unkept


SUMMARY = "query($g: [SpendDimension!]!, $f: ExpenseFilter) { spendSummary(groupBy: $g, interval: MONTH, filter: $f) { count } }"
YEAR = {"spentAfter": "2025-06-01T00:00:00Z", "spentBefore": "2026-06-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("who", "group_by", "filter_", "rollup"),
    [
        ("admin", ["TEAM"], YEAR, True),
        ("finance", ["CATEGORY", "STATUS"], {"statuses": ["APPROVED"]}, True),
        ("admin", ["MERCHANT"], YEAR, False),
        ("admin", ["TEAM"], {**YEAR, "minAmount": "1.00"}, False),
        ("manager", ["TEAM"], YEAR, False),
    ],
)
async def test_requests_take_the_rollup_only_when_expressible(
    client, world, statements, who: str, group_by: list[str], filter_: dict[str, Any], rollup: bool
) -> None:
    statements.reset()
    await gql(client, SUMMARY, {"g": group_by, "f": filter_}, as_=token(world.a, who))
    aggregate = [s for s in statements.statements if "sum(" in s]
    assert len(aggregate) == 1
    assert ("expense_month_totals" in aggregate[0]) is rollup
    # auth and the aggregate, whichever path: the rollup costs no extra round trip
    assert statements.count == 2


async def test_drift_check_sees_a_wrong_rollup_row(engine, zoned) -> None:
    async with engine.connect() as conn:
        await conn.execute(
            text("UPDATE expense_day_totals SET n = n + 1 WHERE business_id = :b AND day = ("
                 "SELECT min(day) FROM expense_day_totals WHERE business_id = :b)"), {"b": zoned.id})  # fmt: skip
        drift = await rollup_drift(conn)
        await conn.rollback()
    assert sorted(kind for kind, table, *_ in drift) == ["extra", "missing"]
