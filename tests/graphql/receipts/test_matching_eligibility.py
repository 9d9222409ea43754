"""Receipt matching eligibility: which expenses may be matched (visible, not deleted, not
refused, not taken), when matching runs (match_expense, after extraction), and races.
"""

import asyncio

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables.expense import expenses
from db.tables.receipt import receipt_match_refusals, receipts
from resolvers.ids import decode_id, encode_id
from resolvers.matching import AUTO_MATCHED
from tests.conftest import gql
from tests.graphql.receipts.conftest import PDF, Shop, unique, upload
from tests.graphql.receipts.helpers_matching import DAY, NOON, Books, new_books


async def test_a_detached_pair_is_never_attached_again(books: Books, shop: Shop) -> None:
    expense = await books.expense("employee", 990, NOON, "Waterstones")
    receipt = await books.receipt("employee", 990, DAY, "Waterstones")
    await books.match_receipt(receipt)
    assert await books.attached(receipt) == expense

    data = await gql(
        shop.client,
        "mutation($id: ID!) { detachReceipt(receiptId: $id) { userErrors { code } } }",
        {"id": encode_id("Receipt", receipt)},
        as_=shop.as_("employee", books.biz),
    )
    assert data["detachReceipt"]["userErrors"] == []
    async with books.engine.connect() as conn:
        refused = (await conn.execute(select(receipt_match_refusals.c.expense_id).where(
            receipt_match_refusals.c.business_id == books.biz.id,
            receipt_match_refusals.c.receipt_id == receipt,
        ))).scalars().all()  # fmt: skip
    assert refused == [expense]

    await books.match_receipt(receipt)
    await books.match_expense(expense)
    assert await books.attached(receipt) is None
    assert await books.candidates(receipt) == []  # a person said no: not offered again either


async def test_candidates_are_only_expenses_the_uploader_sees(
    books: Books, engine: AsyncEngine
) -> None:
    # a teammate's and another business's expenses fit perfectly, but the employee cannot see them
    teammate = await books.expense("employee2", 700, NOON, "Itsu")
    other = await new_books(engine)
    await other.expense("employee", 700, NOON, "Itsu")
    receipt = await books.receipt("employee", 700, DAY, "Itsu")
    await books.match_receipt(receipt)
    assert await books.attached(receipt) is None
    assert await books.candidates(receipt) == []

    # the team's manager sees it: their upload attaches itself
    assert await books.matched("manager", 700, DAY, "Itsu") == teammate

    # another team's manager does not; finance sees the whole business
    engineer = await books.expense("engineer", 1300, NOON, "Leon")
    assert await books.matched("manager2", 1300, DAY, "Leon") == engineer  # their own team's
    employee2 = await books.expense("employee2", 1400, NOON, "Leon")
    by_other_manager = await books.receipt("manager2", 1400, DAY, "Leon")
    await books.match_receipt(by_other_manager)
    assert await books.attached(by_other_manager) is None
    assert await books.candidates(by_other_manager) == []
    assert await books.matched("finance", 1400, DAY, "Leon") == employee2


async def test_a_deleted_expense_or_one_with_a_receipt_is_no_candidate(books: Books) -> None:
    deleted = await books.expense("employee", 610, NOON, "Boots")
    async with books.engine.begin() as conn:
        await conn.execute(
            update(expenses)
            .where(expenses.c.business_id == books.biz.id, expenses.c.id == deleted)
            .values(deleted_at=NOON)
        )
    taken = await books.expense("employee", 610, NOON, "Boots")
    assert await books.matched("employee", 610, DAY, "Boots") == taken
    second = await books.receipt("employee", 610, DAY, "Boots")
    await books.match_receipt(second)
    assert await books.attached(second) is None
    assert await books.candidates(second) == []


async def test_match_expense_attaches_a_waiting_receipt(books: Books) -> None:
    receipt = await books.receipt("employee", 8800, DAY, "Trainline")
    await books.match_receipt(receipt)
    assert await books.attached(receipt) is None

    expense = await books.expense("employee", 8800, NOON, "Trainline")
    await books.match_expense(expense)
    assert await books.attached(receipt) == expense


async def test_match_expense_refreshes_candidates_when_an_expense_changes(books: Books) -> None:
    expense = await books.expense("employee", 1500, NOON, "Deliveroo")
    receipt = await books.receipt("employee", 1000, DAY, "Deliveroo")
    await books.match_receipt(receipt)
    assert [c[0] for c in await books.candidates(receipt)] == [expense]

    async with books.engine.begin() as conn:  # the amount corrected: now it fits exactly
        await conn.execute(
            update(expenses)
            .where(expenses.c.business_id == books.biz.id, expenses.c.id == expense)
            .values(amount_minor=1000, home_amount_minor=1000)
        )
    await books.match_expense(expense)
    assert await books.attached(receipt) == expense
    assert await books.candidates(receipt) == []


async def test_receipts_not_done_or_without_a_total_are_left_alone(books: Books) -> None:
    await books.expense("employee", 4400, NOON, "Tesco")
    queued = await books.receipt("employee", 4400, DAY, "Tesco", processing="QUEUED")
    no_total = await books.receipt("employee", None, DAY, "Tesco")
    for receipt in (queued, no_total):
        await books.match_receipt(receipt)
        assert await books.attached(receipt) is None
        assert await books.candidates(receipt) == []


async def test_an_uploaded_receipt_matches_once_extracted(books: Books, shop: Shop) -> None:
    expense = await books.expense("employee", 1575, NOON, "Ryman Stationery")
    payload = await upload(
        shop.client, unique(PDF), as_=shop.as_("employee", books.biz), name="ryman.pdf"
    )
    _, receipt = decode_id(payload["receipt"]["id"])
    async with books.engine.begin() as conn:  # what the extraction worker writes
        await conn.execute(
            update(receipts)
            .where(receipts.c.business_id == books.biz.id, receipts.c.id == receipt)
            .values(
                processing="DONE", extracted_merchant="RYMAN STATIONERY", extracted_spent_on=DAY,
                extracted_total_minor=1575, extracted_currency="GBP",
                extracted_confidence={"merchant": 0.7, "spent_on": 0.9, "total_minor": 0.99},
            )
        )  # fmt: skip
    await books.match_receipt(receipt)
    assert await books.attached(receipt) == expense


async def test_two_receipts_racing_for_one_expense_attach_once(books: Books) -> None:
    expense = await books.expense("employee", 4321, NOON, "Eurostar")
    first = await books.receipt("employee", 4321, DAY, "Eurostar")
    second = await books.receipt("employee", 4321, DAY, "Eurostar")
    await asyncio.gather(books.match_receipt(first), books.match_receipt(second))
    attached = [await books.attached(first), await books.attached(second)]
    assert sorted(attached, key=lambda e: e is None) == [expense, None]
    events = [e for e in await books.events(expense) if e.action == AUTO_MATCHED]
    assert len(events) == 1
