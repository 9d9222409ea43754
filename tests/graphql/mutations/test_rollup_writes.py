"""Every write path keeps the spend rollups equal to a fresh aggregate of expenses."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.graphql.mutations.conftest import call, created, row_id
from tests.rollup import rollup_drift


async def _assert_no_drift(engine: AsyncEngine, after: str) -> None:
    async with engine.connect() as conn:
        assert await rollup_drift(conn) == [], f"rollups drifted after {after}"


async def test_mutations_keep_the_rollups_exact(client, engine, shops) -> None:
    s = shops.gbp
    employee, manager, finance = s.token("employee"), s.token("manager"), s.token("finance")
    travel = s.gid("Category", "Travel")
    ids = []
    for _ in range(3):
        payload = await call(client, "create", employee, input=created(s, categoryId=travel))
        ids.append(payload["expense"]["id"])
    await _assert_no_drift(engine, "create")
    change = {"amount": {"amount": "45.67", "currency": "GBP"}, "categoryId": s.gid("Category", "Meals")}  # fmt: skip
    assert not (await call(client, "update", employee, id=ids[0], input=change))["userErrors"]
    await _assert_no_drift(engine, "update of amount and category")
    for id_ in ids[:2]:
        assert not (await call(client, "submit", employee, id=id_))["userErrors"]
    await _assert_no_drift(engine, "submit")
    assert not (await call(client, "approve", manager, id=ids[0]))["userErrors"]
    assert not (await call(client, "reject", manager, id=ids[1], reason="No"))["userErrors"]
    await _assert_no_drift(engine, "approve and reject")
    assert not (await call(client, "reimburse", finance, ids=[ids[0]]))["userErrors"]
    assert not (await call(client, "delete", employee, id=ids[2]))["userErrors"]
    await _assert_no_drift(engine, "reimburse and delete")
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE expenses SET team_id = :t WHERE business_id = :b AND id = ANY(:ids)"),
            {"t": s.biz.teams["eng"], "b": s.id, "ids": [row_id(i) for i in ids]},
        )
    await _assert_no_drift(engine, "a change of team")


async def test_bulk_insert_update_and_delete_keep_the_rollups_exact(engine, shops) -> None:
    b = {"b": shops.gbp.id}
    async with engine.begin() as conn:
        copies = await conn.execute(text(
            "INSERT INTO expenses (business_id, member_id, team_id, card_id, category_id,"
            " merchant_name, amount_minor, currency, home_amount_minor, home_currency, fx_rate,"
            " spent_at, status)"
            " SELECT business_id, member_id, team_id, card_id, category_id, 'Bulk', amount_minor,"
            " currency, home_amount_minor + g, home_currency, fx_rate,"
            " spent_at - g * interval '5 hours', status"
            " FROM expenses, generate_series(1, 40) g WHERE business_id = :b AND deleted_at IS NULL"
            " RETURNING id"), b)  # fmt: skip
        new_ids = [row[0] for row in copies]
        assert len(new_ids) >= 40
    await _assert_no_drift(engine, "a bulk insert")
    async with engine.begin() as conn:
        await conn.execute(text(
            "UPDATE expenses SET status = 'APPROVED', home_amount_minor = home_amount_minor * 2"
            " WHERE id = ANY(:ids) AND id % 2 = 0"), {"ids": new_ids})  # fmt: skip
        await conn.execute(text(
            "UPDATE expenses SET deleted_at = now() WHERE id = ANY(:ids) AND id % 3 = 0"), {"ids": new_ids})  # fmt: skip
    await _assert_no_drift(engine, "bulk updates and soft deletes")
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM expenses WHERE id = ANY(:ids)"), {"ids": new_ids})
    await _assert_no_drift(engine, "a bulk delete")
