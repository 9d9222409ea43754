"""updateBusiness: name and time zone (admins); day buckets of spendSummary follow the zone."""

import random
from itertools import count

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import codes, gql, gql_raw
from tests.graphql.mutations_catalog.helpers_calls import ALLOWED, ERRORS, call
from tests.graphql.mutations_catalog.helpers_orgs import Org
from tests.graphql.mutations_org.conftest import (
    MATRIX,
    audit_count,
    audit_of,
    errors,
    make_org,
    one,
)
from tests.world import _business, insert_api_key

BUSINESS = "id name timezone homeCurrency"
UPDATE = (
    "mutation($input: UpdateBusinessInput!) {"
    f" p: updateBusiness(input: $input) {{ business {{ {BUSINESS} }} {ERRORS} }} }}"
)
DAYS = "{ spendSummary(groupBy: [], interval: DAY) { period count total { amount } } }"
_n = count()


@pytest.fixture
async def org(engine: AsyncEngine) -> Org:
    """A fresh business per test (its settings change), with an admin and a read key."""
    return await make_org(engine, f"Bizco{next(_n)}", 47)


async def stored(engine: AsyncEngine, business_id: int) -> tuple[str, str]:
    row = await one(engine, "SELECT name, timezone FROM businesses WHERE id = :b", b=business_id)
    return row.name, row.timezone


@pytest.mark.parametrize("who", ["admin", "key:admin"])
async def test_rename_and_move_the_business(client, engine, org, who):
    name, _ = await stored(engine, org.biz.id)
    payload = await call(client, UPDATE, org.credential(who),
                         input={"name": " Renamed Ltd ", "timezone": "Asia/Tokyo"})  # fmt: skip
    assert payload["userErrors"] == []
    assert payload["business"]["name"] == "Renamed Ltd"
    assert payload["business"]["timezone"] == "Asia/Tokyo"
    assert await stored(engine, org.biz.id) == ("Renamed Ltd", "Asia/Tokyo")
    [event] = await audit_of(engine, "Business", org.biz.id)
    assert event.action == "UPDATED"
    assert event.details == {
        "from": {"name": name, "timezone": "UTC"},
        "to": {"name": "Renamed Ltd", "timezone": "Asia/Tokyo"},
    }
    # an omitted setting stays as it is
    query = (
        'mutation { p: updateBusiness(input: {timezone: "Europe/London"}) { business { name } } }'
    )
    data = await gql(client, query, as_=org.credential(who))
    assert data["p"]["business"]["name"] == "Renamed Ltd"
    assert await stored(engine, org.biz.id) == ("Renamed Ltd", "Europe/London")


@pytest.mark.parametrize(
    ("input_", "expected"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, ("timezone", "INVALID_VALUE")),
        ({"timezone": "../../etc/passwd"}, ("timezone", "INVALID_VALUE")),
        ({"timezone": ""}, ("timezone", "INVALID_VALUE")),
        ({"timezone": "CEST"}, ("timezone", "INVALID_VALUE")),  # an abbreviation, not a zone
        ({"name": "  "}, ("name", "INVALID_VALUE")),
        ({"name": "x" * 201}, ("name", "INVALID_VALUE")),
        ({"name": "Fine", "timezone": "Nowhere"}, ("timezone", "INVALID_VALUE")),
    ],
)
async def test_invalid_settings_change_nothing(client, engine, org, input_, expected):
    before = await stored(engine, org.biz.id)
    payload = await call(client, UPDATE, org.credential("admin"), input=input_)
    assert errors(payload, "business") == [expected]
    assert await stored(engine, org.biz.id) == before
    assert await audit_count(engine, org.biz.id) == 0


async def test_an_unchanged_setting_writes_no_event(client, engine, org):
    name, zone = await stored(engine, org.biz.id)
    payload = await call(
        client, UPDATE, org.credential("admin"), input={"name": name, "timezone": zone}
    )
    assert payload["userErrors"] == []
    assert await audit_count(engine, org.biz.id) == 0


@pytest.mark.parametrize("who", [*MATRIX, "other_admin"])
async def test_who_may_change_the_business(client, engine, org, who):
    before = await stored(engine, org.biz.id)
    payload = await call(client, UPDATE, org.credential(who), input={"timezone": "Europe/Paris"})
    if who == "other_admin":  # changes its own business, never ours
        assert payload["userErrors"] == []
        assert (await stored(engine, org.other.id))[1] == "Europe/Paris"
        assert await stored(engine, org.biz.id) == before
    elif MATRIX[who] == ALLOWED:
        assert payload["userErrors"] == []
        assert await stored(engine, org.biz.id) == (before[0], "Europe/Paris")
    else:
        assert errors(payload, "business") == [(None, "FORBIDDEN")]
        assert await stored(engine, org.biz.id) == before
        assert await audit_count(engine, org.biz.id) == 0


@pytest.mark.parametrize(("who", "code"), [(None, "UNAUTHENTICATED"), ("key:read", "FORBIDDEN")])
async def test_top_level_refusals(client, engine, org, who, code):
    before = await stored(engine, org.biz.id)
    body = (await gql_raw(client, UPDATE, {"input": {"timezone": "Asia/Tokyo"}},
                          as_=org.credential(who) if who else None)).json()  # fmt: skip
    assert codes(body) == [code]
    assert await stored(engine, org.biz.id) == before


async def test_day_buckets_follow_the_new_time_zone(client, engine):
    async with engine.begin() as conn:
        biz = await _business(conn, f"Dayco{next(_n)} Ltd", "GBP", 3, random.Random(3))
        key = await insert_api_key(conn, biz, ["admin"])
        # 23:30 UTC on 1 June is already 2 June in Tokyo, still 1 June in New York
        await conn.execute(
            text(
                "UPDATE expenses SET spent_at = '2026-06-01T23:30:00Z', status = 'APPROVED',"
                " deleted_at = NULL WHERE business_id = :b"
            ),
            {"b": biz.id},
        )
    total = await one(
        engine, "SELECT sum(home_amount_minor) AS s FROM expenses WHERE business_id = :b", b=biz.id
    )
    data = await gql(client, DAYS, as_=key)
    assert [(b["period"], b["count"]) for b in data["spendSummary"]] == [("2026-06-01", 3)]
    for zone, day in (("Asia/Tokyo", "2026-06-02"), ("America/New_York", "2026-06-01")):
        payload = await call(client, UPDATE, key, input={"timezone": zone})
        assert payload["userErrors"] == []
        data = await gql(client, DAYS, as_=key)
        buckets = data["spendSummary"]
        assert [(b["period"], b["count"]) for b in buckets] == [(day, 3)]
        minor = round(float(buckets[0]["total"]["amount"]) * 100)
        assert minor == total.s
    # the rollup tables hold the same days as a fresh GROUP BY in the new zone
    rolled = await one(
        engine, "SELECT array_agg(DISTINCT day) AS days FROM expense_day_totals WHERE business_id = :b",
        b=biz.id,
    )  # fmt: skip
    assert [d.isoformat() for d in rolled.days] == ["2026-06-01"]
