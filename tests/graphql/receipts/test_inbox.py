"""The receipts inbox: filters by match and processing state, counts, extraction, candidates."""

from datetime import timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables.receipt import receipt_match_candidates, receipts
from resolvers.ids import encode_id
from tests.conftest import StatementCounter, codes, gql, gql_raw
from tests.graphql.receipts.conftest import Shop
from tests.graphql.receipts.helpers_matching import DAY, NOON, Books, new_books

INBOX = """
query($first: Int, $filter: ReceiptFilter) {
  receipts(first: $first, filter: $filter) {
    totalCount
    nodes {
      id processing processingError
      extracted { merchantName spentAt total { amount currency } confidence { merchant total date } }
      matchCandidates {
        score reasons
        expense { id merchantName receiptCandidates { score reasons receipt { id } } }
      }
    }
  }
}
"""
CANDIDATES = """
query($id: ID!) {
  node(id: $id) {
    ... on Receipt { matchCandidates { expense { id } score reasons } }
    ... on Expense { receiptCandidates { receipt { id } score reasons } }
  }
}
"""


def _rid(id_: int) -> str:
    return encode_id("Receipt", id_)


def _eid(id_: int) -> str:
    return encode_id("Expense", id_)


async def _set(books: Books, receipt_id: int, **values: Any) -> None:
    async with books.engine.begin() as conn:
        await conn.execute(
            update(receipts)
            .where(receipts.c.business_id == books.biz.id, receipts.c.id == receipt_id)
            .values(**values)
        )


async def _candidate(books: Books, receipt_id: int, expense_id: int, score: float) -> None:
    async with books.engine.begin() as conn:
        await conn.execute(
            insert(receipt_match_candidates).values(
                business_id=books.biz.id, receipt_id=receipt_id, expense_id=expense_id,
                score=score, reasons=["amount equal", f"score {score}"],
            )
        )  # fmt: skip


async def _inbox(shop: Shop, books: Books, filter_: Any, member: str = "finance") -> Any:
    data = await gql(
        shop.client,
        INBOX,
        {"first": 100, "filter": filter_},
        as_=shop.as_(member, books.biz),
    )
    return data["receipts"]


async def test_inbox_filters_and_counts(shop: Shop, engine: AsyncEngine) -> None:
    books = await new_books(engine)
    expense = await books.expense("employee", 1000, NOON, "Pizza Express")
    done = await books.receipt("employee", 2500, DAY, "Nando's")
    failed = await books.receipt("employee", None, None, None, processing="FAILED")
    await _set(books, failed, processing_error="No text found on the image.")
    queued = await books.receipt("employee", None, None, None, processing="QUEUED")
    matched = await books.receipt("employee", 1000, DAY, "Pizza Express")
    await books.match_receipt(matched)
    assert await books.attached(matched) == expense

    inbox = await _inbox(shop, books, {"matched": False, "processing": ["DONE", "FAILED"]})
    assert inbox["totalCount"] == 2
    assert [n["id"] for n in inbox["nodes"]] == [_rid(failed), _rid(done)]  # newest first
    failed_node, done_node = inbox["nodes"]
    assert failed_node["processing"] == "FAILED"
    assert failed_node["processingError"] == "No text found on the image."
    assert failed_node["extracted"] is None
    assert done_node["extracted"] == {
        "merchantName": "Nando's",
        "spentAt": "2025-03-10",
        "total": {"amount": "25.00", "currency": "GBP"},
        "confidence": {"merchant": 0.9, "total": 0.95, "date": 0.8},
    }

    queued_page = await _inbox(shop, books, {"processing": ["QUEUED", "PROCESSING"]})
    assert [n["id"] for n in queued_page["nodes"]] == [_rid(queued)]
    assert queued_page["nodes"][0]["extracted"] is None
    assert queued_page["totalCount"] == 1
    assert (await _inbox(shop, books, {"matched": True}))["totalCount"] == 1
    assert (await _inbox(shop, books, {"matched": False}))["totalCount"] == 3
    assert (await _inbox(shop, books, None))["totalCount"] == 4
    assert (await _inbox(shop, books, {"processing": []}))["totalCount"] == 0
    # an employee's inbox holds their own uploads only
    assert (await _inbox(shop, books, None, member="employee2"))["totalCount"] == 0


async def test_extraction_fields_are_null_when_not_found(shop: Shop, engine: AsyncEngine) -> None:
    books = await new_books(engine)
    # stored under the worker's names (app/jobs.py): merchant, spent_on, total_minor
    receipt = await books.receipt("employee", None, DAY, None, confidence={"spent_on": 0.4})
    [node] = (await _inbox(shop, books, {"processing": ["DONE"]}))["nodes"]
    assert node["id"] == _rid(receipt)
    assert node["extracted"] == {
        "merchantName": None,
        "spentAt": "2025-03-10",
        "total": None,
        "confidence": {"merchant": None, "total": None, "date": 0.4},
    }


async def _many(books: Books, n: int) -> None:
    for i in range(n):
        day = DAY + timedelta(days=10 * i)
        expense = await books.expense("employee", 100 + i, NOON + timedelta(days=10 * i), "Bar")
        other = await books.expense("employee2", 100 + i, NOON + timedelta(days=10 * i), "Bar")
        receipt = await books.receipt("employee", 100 + i, day, "Bar")
        await _candidate(books, receipt, expense, 0.8)
        await _candidate(books, receipt, other, 0.7)


async def test_statements_do_not_grow_with_the_page(
    shop: Shop, engine: AsyncEngine, statements: StatementCounter
) -> None:
    counts = {}
    for n in (1, 20):
        books = await new_books(engine)
        await _many(books, n)
        statements.reset()
        inbox = await _inbox(shop, books, {"matched": False, "processing": ["DONE"]})
        counts[n] = statements.count
        assert len(inbox["nodes"]) == inbox["totalCount"] == n
        for node in inbox["nodes"]:
            assert [c["score"] for c in node["matchCandidates"]] == [0.8, 0.7]
            for candidate in node["matchCandidates"]:
                [back] = candidate["expense"]["receiptCandidates"]
                assert back["receipt"]["id"] == node["id"]
    assert counts[1] == counts[20], counts


async def test_candidates_follow_the_viewers_visibility(shop: Shop, engine: AsyncEngine) -> None:
    books = await new_books(engine)
    own = await books.expense("employee", 500, NOON, "Greggs")
    engineer = await books.expense("engineer", 500, NOON, "Greggs")
    receipt = await books.receipt("employee", 500, DAY, "Greggs")
    # stored when someone could see both (a role changed since): each viewer sees their part
    await _candidate(books, receipt, own, 0.8)
    await _candidate(books, receipt, engineer, 0.6)

    async def seen(member: str, node: int, kind: str) -> list[str] | None:
        global_id = _rid(node) if kind == "Receipt" else _eid(node)
        data = await gql(
            shop.client, CANDIDATES, {"id": global_id}, as_=shop.as_(member, books.biz)
        )
        if data["node"] is None:
            return None
        if kind == "Receipt":
            return [c["expense"]["id"] for c in data["node"]["matchCandidates"]]
        return [c["receipt"]["id"] for c in data["node"]["receiptCandidates"]]

    assert await seen("finance", receipt, "Receipt") == [_eid(own), _eid(engineer)]
    assert await seen("admin", receipt, "Receipt") == [_eid(own), _eid(engineer)]
    assert await seen("employee", receipt, "Receipt") == [_eid(own)]
    assert await seen("manager", receipt, "Receipt") == [_eid(own)]  # their team's uploader
    assert await seen("finance", engineer, "Expense") == [_rid(receipt)]
    assert await seen("employee", own, "Expense") == [_rid(receipt)]
    assert await seen("manager2", engineer, "Expense") == []  # the receipt is not theirs to see
    assert await seen("engineer", engineer, "Expense") == []

    # nobody sees it from another business or from a team that is not theirs: NOT_FOUND
    for as_ in (shop.as_("manager2", books.biz), shop.as_("admin", shop.other)):
        body = (await gql_raw(shop.client, CANDIDATES, {"id": _rid(receipt)}, as_=as_)).json()
        assert body["data"]["node"] is None
        assert codes(body) == ["NOT_FOUND"]


async def test_a_matched_receipt_offers_no_candidates(shop: Shop, engine: AsyncEngine) -> None:
    books = await new_books(engine)
    expense = await books.expense("employee", 321, NOON, "Wasabi")
    spare = await books.expense("employee", 321, NOON + timedelta(days=8), "Wasabi")
    receipt = await books.receipt("employee", 321, DAY, "Wasabi")
    await _candidate(books, receipt, spare, 0.5)
    await _set(books, receipt, expense_id=expense)
    data = await gql(
        shop.client, CANDIDATES, {"id": _rid(receipt)}, as_=shop.as_("finance", books.biz)
    )
    assert data["node"]["matchCandidates"] == []
    data = await gql(
        shop.client, CANDIDATES, {"id": _eid(spare)}, as_=shop.as_("finance", books.biz)
    )
    assert data["node"]["receiptCandidates"] == []
