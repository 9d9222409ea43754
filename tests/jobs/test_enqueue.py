"""A job exists exactly when the write that caused it commits (db/writes/jobs.py)."""

import pytest

from db.engine import RequestDb
from db.writes import jobs as queue
from tests.conftest import gql, token
from tests.jobs.conftest import Jobs

JOB = "SELECT count(*) FROM pgqueuer WHERE entrypoint = :e AND dedupe_key = :k"


def key(entrypoint: str, **payload: int) -> str:
    return queue.dedupe_key(entrypoint, payload)


async def test_a_committed_upload_is_queued_with_its_extraction_job(jobs: Jobs) -> None:
    receipt_id = await jobs.upload()
    assert (await jobs.receipt(receipt_id)).processing == "QUEUED"
    k = key(queue.EXTRACT_RECEIPT, business_id=jobs.biz.id, receipt_id=receipt_id)
    assert await jobs.scalar(JOB, e=queue.EXTRACT_RECEIPT, k=k) == 1


async def test_a_rolled_back_transaction_leaves_no_job(jobs: Jobs) -> None:
    k = key("probe", business_id=jobs.biz.id, n=1)
    db = RequestDb(jobs.engine)
    try:
        async with db.savepoint():
            await queue.enqueue(
                db=db, entrypoint="probe", payload={"business_id": jobs.biz.id, "n": 1}
            )
        assert await jobs.scalar(JOB, e="probe", k=k) == 0  # not visible before commit
    finally:
        await db.close()  # never committed: rolled back
    assert await jobs.scalar(JOB, e="probe", k=k) == 0


async def test_a_failed_savepoint_takes_its_job_with_it(jobs: Jobs) -> None:
    db = RequestDb(jobs.engine)
    try:
        with pytest.raises(RuntimeError):
            async with db.savepoint():
                await queue.enqueue(
                    db=db, entrypoint="probe", payload={"business_id": jobs.biz.id, "n": 2}
                )
                raise RuntimeError("the mutation failed after enqueueing")
        async with db.savepoint():
            await queue.enqueue(
                db=db, entrypoint="probe", payload={"business_id": jobs.biz.id, "n": 3}
            )
        await db.commit()
    finally:
        await db.close()
    assert await jobs.scalar(JOB, e="probe", k=key("probe", business_id=jobs.biz.id, n=2)) == 0
    assert await jobs.scalar(JOB, e="probe", k=key("probe", business_id=jobs.biz.id, n=3)) == 1


async def test_enqueue_outside_a_write_transaction_is_refused(jobs: Jobs) -> None:
    db = RequestDb(jobs.engine)
    try:
        with pytest.raises(queue.Unenqueueable):
            await queue.enqueue(db=db, entrypoint="probe", payload={"n": 4})
    finally:
        await db.close()


async def test_expense_changes_queue_matching_only_when_matched_fields_change(jobs: Jobs) -> None:
    employee = token(jobs.biz, "employee")
    data = await gql(
        jobs.client,
        """mutation($input: CreateExpenseInput!) {
          createExpense(input: $input) { expense { id } userErrors { code } } }""",
        {"input": {"amount": {"amount": "9.99", "currency": "GBP"},
                   "spentAt": "2026-06-01T10:00:00+00:00", "merchantName": "Kiosk"}},
        as_=employee,
    )  # fmt: skip
    gid = data["createExpense"]["expense"]["id"]
    expense_id = await jobs.scalar("SELECT max(id) FROM expenses WHERE business_id = :b")
    k = key(queue.MATCH_EXPENSE, business_id=jobs.biz.id, expense_id=expense_id)
    assert await jobs.scalar(JOB, e=queue.MATCH_EXPENSE, k=k) == 1
    await jobs.clear_queue()
    update = """mutation($id: ID!, $input: UpdateExpenseInput!) {
      updateExpense(id: $id, input: $input) { userErrors { code } } }"""
    await gql(jobs.client, update, {"id": gid, "input": {"description": "lunch"}}, as_=employee)
    assert await jobs.scalar(JOB, e=queue.MATCH_EXPENSE, k=k) == 0
    await gql(jobs.client, update, {"id": gid, "input": {"merchantName": "Kiosk 2"}}, as_=employee)
    assert await jobs.scalar(JOB, e=queue.MATCH_EXPENSE, k=k) == 1


async def test_metrics_show_job_counts_and_the_oldest_queued_age(jobs: Jobs) -> None:
    db = RequestDb(jobs.engine)
    try:
        async with db.savepoint():
            await queue.enqueue(db=db, entrypoint="probe", payload={"n": 5})
        await db.commit()
    finally:
        await db.close()
    text = (await jobs.client.get("/metrics")).text
    queued = [
        line for line in text.splitlines() if line.startswith('expensegraph_jobs{state="queued"}')
    ]
    assert queued and float(queued[0].split()[-1]) >= 1, text
    assert 'expensegraph_jobs{state="running"}' in text
    assert 'expensegraph_jobs{state="failed"}' in text
    assert "expensegraph_jobs_oldest_queued_seconds" in text
