"""SQL statements per mutation request, counted with the session's engine listener.

What is asserted, and why:

- markExpensesExported writes each expense on its own (one UPDATE, one audit INSERT and
  the change feed's INSERT per id), so its total cost grows with the number of ids and a
  "1 id costs the same as 20" test would be false. Those 3 writes per id are legitimate
  and counted exactly.
  Everything else must not grow: authentication, the savepoint, the visibility check and
  the row lock (one SELECT ... FOR UPDATE for all ids, in id order, which is also what
  keeps opposite-order batches from deadlocking), and the payload's nested data (member,
  team, card, category, receipts, events and their actors), which the loaders batch into
  one statement per level. The batch's expenses have different members, teams, cards,
  categories, receipts and event actors, so a per-row lookup could not hide behind the
  loaders' de-duplication.
- createExpense with the same nested payload costs a fixed, small, exact number.
"""

from typing import Any

import pytest
from sqlalchemy import insert

from db.tables.expense import expense_events
from tests.conftest import gql
from tests.graphql.mutations.conftest import Shop, add_expense, attach_receipt, created, egid

NESTED = (
    "id member { name } team { name } card { last4 } category { name }"
    " receipts { fileName } events { action actor { name } }"
)
EXPORT = f"mutation($ids: [ID!]!) {{ markExpensesExported(ids: $ids) {{ expenses {{ {NESTED} }} userErrors {{ code }} }} }}"  # fmt: skip
CREATE = f"mutation($input: CreateExpenseInput!) {{ createExpense(input: $input) {{ expense {{ {NESTED} }} userErrors {{ code }} }} }}"  # fmt: skip
SPENDERS = ("employee", "engineer", "employee2", "manager")
CATEGORIES = ("Travel", "Meals", "Software")
# authentication, SAVEPOINT, visibility check, lock, RELEASE, then one statement per
# payload level: member, team, card, category, receipts, events, event actors
FIXED = 12
PER_ID = 3  # UPDATE expenses, INSERT INTO expense_events, INSERT INTO events


def _per_id(statement: str) -> bool:
    """Return True for the statements that write one expense."""
    return statement.lstrip().startswith(
        ("UPDATE expenses", "INSERT INTO expense_events", "INSERT INTO events")
    )


async def _approved(engine: Any, shop: Shop, n: int) -> list[int]:
    """Insert ``n`` APPROVED card expenses of varied spenders, with receipts and events."""
    biz, ids = shop.biz, []
    for k in range(n):
        who = SPENDERS[k % len(SPENDERS)]
        id_ = await add_expense(
            engine, shop, who, status="APPROVED", card=True, category=CATEGORIES[k % 3]
        )
        ids.append(id_)
        async with engine.begin() as conn:
            await conn.execute(
                insert(expense_events).values(
                    business_id=biz.id, expense_id=id_, actor_id=biz.members[who], action="CREATED"
                )
            )
        await attach_receipt(engine, shop, id_, who)
    return ids


@pytest.mark.parametrize("n", [1, 2, 20])
async def test_export_payload_costs_the_same_for_any_number_of_expenses(
    client, engine, statements, shops, n
):
    s = shops.gbp
    ids = await _approved(engine, s, n)
    statements.reset()
    data = await gql(client, EXPORT, {"ids": [egid(i) for i in ids]}, as_=s.token("finance"))
    sql = list(statements.statements)
    expenses = data["markExpensesExported"]["expenses"]
    assert [e["id"] for e in expenses] == [egid(i) for i in ids]
    for k, e in enumerate(expenses):  # every nested level really resolved
        who = SPENDERS[k % len(SPENDERS)]
        assert e["member"]["name"] == f"{who.title()} Mutgbp Ltd"
        assert e["team"]["name"] == ("Eng" if who == "engineer" else "Sales")
        assert e["card"]["last4"] and e["category"]["name"] == CATEGORIES[k % 3]
        assert [r["fileName"] for r in e["receipts"]] == [f"receipt-{ids[k]}.pdf"]
        assert [(v["action"], v["actor"]["name"]) for v in e["events"]] == [
            ("CREATED", f"{who.title()} Mutgbp Ltd"), ("EXPORTED", "Finance Mutgbp Ltd"),
        ]  # fmt: skip
    writes = [q for q in sql if _per_id(q)]
    rest = [" ".join(q.split())[:60] for q in sql if not _per_id(q)]
    assert len(writes) == PER_ID * n, writes
    assert len(rest) == FIXED, rest
    assert len([q for q in sql if "FOR UPDATE" in q]) == 1, "one lock statement for all ids"


async def test_create_with_a_nested_payload_costs_a_fixed_number(client, statements, shops):
    s = shops.gbp
    extra = {"cardId": s.gid("Card", "employee"), "categoryId": s.gid("Category", "Meals")}
    for _ in range(2):  # the same cost every time: nothing is cached across requests
        statements.reset()
        data = await gql(client, CREATE, {"input": created(s, **extra)}, as_=s.token("employee"))
        e = data["createExpense"]["expense"]
        assert (e["member"]["name"], e["team"]["name"], e["category"]["name"]) == (
            "Employee Mutgbp Ltd", "Sales", "Meals",
        )  # fmt: skip
        assert [(v["action"], v["actor"]["name"]) for v in e["events"]] == [
            ("CREATED", "Employee Mutgbp Ltd")
        ]
        # authentication; SAVEPOINT; member, category, card checks; INSERT expense and
        # event; INSERT its match_expense job (same transaction); RELEASE; payload: member
        # (also the event's actor), team, card, receipts, events (the category was loaded
        # by the check and is reused)
        assert statements.count == 15, statements.statements  # the feed's INSERT included
