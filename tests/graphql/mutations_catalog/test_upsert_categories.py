"""upsertCategories: an ERP pushes its chart of accounts, keyed by GL code, all or nothing.

Built on a business of this module's own (its Travel 6100, Meals 6200 and Software 6300 are
the existing accounts). Every test pushes codes and names of its own; refused pushes also
check that no category and no audit event changed.
"""

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.writes import categories as category_writes
from tests.graphql.mutations_catalog.helpers_calls import at_once, call, rule_errors
from tests.graphql.mutations_catalog.helpers_categories import (
    UPSERT,
    category_census,
    cgid,
    new_category,
    stored_category,
)
from tests.graphql.mutations_catalog.helpers_orgs import Org, org_fixture, tag
from tests.graphql.mutations_catalog.helpers_records import audit_trail, key_id, scalar

org = org_fixture("Upco", 37)


async def test_two_upserts_of_one_name_at_once_one_wins(client, engine, org):
    for _ in range(3):
        name = f"Race {tag()}"
        payloads = await at_once(client, UPSERT, org, [
            (who, {"input": [{"glCode": tag(), "name": name}]}) for who in ("admin", "key:admin")
        ])  # fmt: skip
        outcomes = sorted(tuple((e["field"], e["code"]) for e in p["userErrors"]) for p in payloads)
        assert outcomes == [(), (("input.0.name", "DUPLICATE"),)]
        assert await scalar(engine, "SELECT count(*) FROM categories WHERE name = :n", n=name) == 1


async def test_upsert_creates_renames_and_unarchives_by_gl_code(client, engine, org):
    t = tag()
    renamed = await new_category(engine, org, f"A {t}", f"A-{t}")
    revived = await new_category(engine, org, f"B {t}", f"B-{t}", archived=True)
    same = await new_category(engine, org, f"C {t}", f"C-{t}")
    push = [
        {"glCode": f"D-{t}", "name": f"D {t}"},
        {"glCode": f"A-{t}", "name": f"A renamed {t}"},
        {"glCode": f" B-{t} ", "name": f"B {t}"},
        {"glCode": f"C-{t}", "name": f"C {t}"},
    ]
    payload = await call(client, UPSERT, org.credential("key:admin"), input=push)
    assert payload["userErrors"] == []
    got = [(c["glCode"], c["name"], c["archivedAt"]) for c in payload["categories"]]
    assert got == [(p["glCode"].strip(), p["name"], None) for p in push]
    created = int(await scalar(engine, "SELECT id FROM categories WHERE gl_code = :c", c=f"D-{t}"))
    assert [c["id"] for c in payload["categories"]] == [
        cgid(i) for i in (created, renamed, revived, same)
    ]
    assert await stored_category(engine, created) == (f"D {t}", f"D-{t}", False)
    assert await stored_category(engine, renamed) == (f"A renamed {t}", f"A-{t}", False)
    assert await stored_category(engine, revived) == (f"B {t}", f"B-{t}", False)
    key = await key_id(engine, org.biz, "admin")
    via = {"via": "upsertCategories"}
    assert await audit_trail(engine, org.biz, "Category", created) == [
        ("CREATED", None, key, {"name": f"D {t}", "glCode": f"D-{t}", **via})
    ]
    assert await audit_trail(engine, org.biz, "Category", renamed) == [
        ("UPDATED", None, key, {"name": f"A renamed {t}", "glCode": f"A-{t}", "previousName": f"A {t}", **via})
    ]  # fmt: skip
    assert await audit_trail(engine, org.biz, "Category", revived) == [
        ("UPDATED", None, key, {"name": f"B {t}", "glCode": f"B-{t}", "unarchived": True, **via})
    ]
    assert await audit_trail(engine, org.biz, "Category", same) == []  # unchanged: not written


async def test_pushing_the_same_chart_twice_changes_nothing_the_second_time(client, engine, org):
    t = tag()
    push = [{"glCode": f"{n}-{t}", "name": f"Account {n} {t}"} for n in range(5)]
    first = await call(client, UPSERT, org.credential("admin"), input=push)
    before = await category_census(engine, org)
    second = await call(client, UPSERT, org.credential("admin"), input=push)
    assert second == first
    assert await category_census(engine, org) == before


async def pushed(client: Any, engine: AsyncEngine, org: Org, push: list[Any]) -> list[Any]:
    """Return (field, code) of the userErrors of a push that must write nothing."""
    return await rule_errors(client, engine, org, category_census, UPSERT, "categories", input=push)


def _bad_pushes(t: str) -> dict[str, tuple[list[dict[str, str]], list[tuple[str, str]]]]:
    ok = {"glCode": f"OK-{t}", "name": f"Ok {t}"}
    return {
        "a code twice": (
            [ok, {"glCode": f"X-{t}", "name": f"X {t}"}, {"glCode": f"X-{t}", "name": f"Y {t}"}],
            [("input.2.glCode", "DUPLICATE")],
        ),
        "a name twice": (
            [{"glCode": f"X-{t}", "name": f"X {t}"}, ok, {"glCode": f"Y-{t}", "name": f"X {t}"}],
            [("input.2.name", "DUPLICATE")],
        ),
        "an empty code": ([ok, {"glCode": "  ", "name": f"X {t}"}], [("input.1.glCode", "INVALID_VALUE")]),
        "an empty name": ([{"glCode": f"X-{t}", "name": ""}, ok], [("input.0.name", "INVALID_VALUE")]),
        "a name held by another code": (
            [ok, {"glCode": f"X-{t}", "name": "Meals"}], [("input.1.name", "DUPLICATE")]
        ),
        "a swap of two names": (
            [{"glCode": "6100", "name": "Meals"}, {"glCode": "6200", "name": "Travel"}],
            [("input.0.name", "DUPLICATE"), ("input.1.name", "DUPLICATE")],
        ),
        "every problem at once": (
            [{"glCode": "", "name": ""}, ok, {"glCode": f"OK-{t}", "name": "Software"}],
            [("input.0.glCode", "INVALID_VALUE"), ("input.0.name", "INVALID_VALUE"),
             ("input.2.glCode", "DUPLICATE")],
        ),
    }  # fmt: skip


@pytest.mark.parametrize(
    "case",
    ["a code twice", "a name twice", "an empty code", "an empty name",
     "a name held by another code", "a swap of two names", "every problem at once"],
)  # fmt: skip
async def test_a_bad_push_writes_nothing(client, engine, org, case):
    push, expected = _bad_pushes(tag())[case]
    assert await pushed(client, engine, org, push) == expected


def _chart(n: int) -> list[dict[str, str]]:
    t = tag()
    return [{"glCode": f"{t}-{k:03d}", "name": f"Account {k} {t}"} for k in range(n)]


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        ({"glCode": ""}, ("input.499.glCode", "INVALID_VALUE")),
        ({"name": "Travel"}, ("input.499.name", "DUPLICATE")),  # found in the database
        ({"glCode": "same"}, ("input.499.glCode", "DUPLICATE")),  # same as item 0
    ],
)
async def test_a_bad_item_at_index_499_leaves_nothing_written(client, engine, org, spoil, expected):
    push = _chart(500)
    if spoil.get("glCode") == "same":
        spoil = {"glCode": push[0]["glCode"]}
    push[499] |= spoil
    assert await pushed(client, engine, org, push) == [expected]


async def test_more_than_500_items_are_refused(client, engine, org):
    assert await pushed(client, engine, org, _chart(501)) == [("input", "INVALID_VALUE")]


async def test_an_empty_push_is_a_no_op(client, engine, org):
    before = await category_census(engine, org)
    payload = await call(client, UPSERT, org.credential("admin"), input=[])
    assert payload == {"categories": [], "userErrors": []}
    assert await category_census(engine, org) == before


async def with_codes(engine: AsyncEngine, org: Org, push: list[dict[str, str]]) -> int:
    """Return how many categories of the business have the GL codes of ``push``."""
    codes = [item["glCode"] for item in push]
    sql = "SELECT count(*) FROM categories WHERE business_id = :b AND gl_code = ANY(:c)"
    return int(await scalar(engine, sql, b=org.biz.id, c=codes))


async def test_upsert_costs_the_same_statements_for_1_and_500_items(
    client, engine, statements, org
):
    counts = []
    for n in (1, 500):
        push = _chart(n)
        statements.reset()
        payload = await call(client, UPSERT, org.credential("admin"), input=push)
        counts.append(len(statements.statements))
        assert payload["userErrors"] == []
        assert [c["glCode"] for c in payload["categories"]] == [p["glCode"] for p in push]
        written = await with_codes(engine, org, push)
        events = await scalar(
            engine, "SELECT count(*) FROM audit_events a JOIN categories c ON c.id = a.object_id"
            " AND a.object_type = 'Category' WHERE c.business_id = :b AND c.gl_code = ANY(:c)",
            b=org.biz.id, c=[p["glCode"] for p in push],
        )  # fmt: skip
        assert (written, events) == (n, n)
    # authentication, SAVEPOINT, the holders of the codes and names (locked), the upsert
    # with its audit events, RELEASE
    assert counts == [5, 5]


async def test_two_pushes_of_one_new_chart_at_once_both_succeed(client, engine, statements, org):
    """The second push waits for the first one's new codes, then finds them as pushed.

    Rows are inserted in GL code order whatever the input order, so the two cannot deadlock.
    """
    overlaps = 0
    for _ in range(3):
        chart = _chart(50)
        pushes = [chart, chart[::-1]]
        statements.reset()
        payloads = await at_once(client, UPSERT, org, [
            (who, {"input": push}) for push, who in zip(pushes, ("admin", "finance"), strict=True)
        ])  # fmt: skip
        sql = [q.split()[0] for q in statements.statements]
        overlaps += "RELEASE" in sql and sql[: sql.index("RELEASE")].count("WITH") == 2
        for push, payload in zip(pushes, payloads, strict=True):
            assert payload["userErrors"] == []
            assert [c["glCode"] for c in payload["categories"]] == [p["glCode"] for p in push]
        assert await with_codes(engine, org, chart) == 50
    assert overlaps, "the pushes never raced: the test proved nothing"


async def test_a_name_committed_by_another_writer_during_a_push_is_reported_by_the_check(
    client, engine, org, monkeypatch
):
    """The push's check found the name free; another writer committed it before the push
    wrote. The upsert's unique violation undoes the push, which runs once more: its check
    now names the category holding the name, and nothing of the push is written."""
    t = tag()
    push = [{"glCode": f"N-{t}", "name": f"New {t}"}, {"glCode": f"M-{t}", "name": f"Mid {t}"}]
    checks: list[Any] = []
    real_holders = category_writes.holders

    async def holders(**kwargs: Any) -> Any:
        found = await real_holders(**kwargs)
        if not checks:  # after the first check: another writer takes the second name
            await new_category(engine, org, f"Mid {t}", f"OTHER-{t}")
        checks.append(found)
        return found

    monkeypatch.setattr(category_writes, "holders", holders)
    before, events = await category_census(engine, org)
    payload = await call(client, UPSERT, org.credential("admin"), input=push)
    assert len(checks) == 2  # the push ran twice
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        ("input.1.name", "DUPLICATE")
    ]
    assert f"GL code OTHER-{t}" in payload["userErrors"][0]["message"]  # the check's words
    after, events_after = await category_census(engine, org)
    assert events_after == events  # no audit event of the push
    assert len(after) == len(before) + 1  # only the other writer's category
    assert (
        await scalar(engine, "SELECT count(*) FROM categories WHERE gl_code = :c", c=f"N-{t}") == 0
    )
