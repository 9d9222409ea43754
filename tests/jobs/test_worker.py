"""`expensegraph worker` as a real process: runs jobs to the end, retries, takes over a dead one."""

from pathlib import Path
from typing import Any

from sqlalchemy import update
from standardwebhooks import Webhook

from db.engine import RequestDb, in_transaction
from db.tables.feed import webhook_endpoints
from db.writes import webhooks as webhook_rows
from resolvers.ids import encode_id
from resolvers.mutations.webhooks import new_secret
from tests.conftest import gql, token
from tests.jobs.conftest import Jobs, eventually, worker
from tests.webhooks.conftest import Receiver

FAST = {
    "EXPENSEGRAPH_JOB_RETRY_DELAY_SECONDS": "0.2",
    "EXPENSEGRAPH_JOB_MAX_ATTEMPTS": "3",
    "EXPENSEGRAPH_JOB_POLL_SECONDS": "0.5",
}
LOGGED = "SELECT count(*) FROM pgqueuer_log WHERE job_id = :j AND status = :s"


async def _job_id(jobs: Jobs, receipt_id: int) -> int:
    return await jobs.scalar(
        "SELECT job_id FROM pgqueuer_log WHERE status = 'queued' AND entrypoint = 'extract_receipt'"
        " ORDER BY id DESC LIMIT 1"
    )


def _processed(jobs: Jobs, receipt_id: int, state: str) -> Any:
    async def check() -> Any:
        row = await jobs.receipt(receipt_id)
        return row if row.processing == state else None

    return check


async def test_a_worker_extracts_an_uploaded_receipt(jobs: Jobs, tmp_path: Path) -> None:
    await jobs.clear_queue()
    receipt_id = await jobs.upload()
    job_id = await _job_id(jobs, receipt_id)
    with worker(jobs, tmp_path, "extract") as running:
        row = await eventually(_processed(jobs, receipt_id, "DONE"), "the receipt DONE")
        await eventually(lambda: jobs.scalar(LOGGED, j=job_id, s="successful"), "the job logged")
    assert (row.extracted_merchant, row.extracted_total_minor, row.extracted_currency) == (
        "Stationers", 1250, "GBP",
    )  # fmt: skip
    assert str(row.extracted_spent_on) == "2026-06-01" and row.processing_error is None
    assert row.extracted_confidence["total_minor"] == 0.95
    assert await jobs.scalar("SELECT count(*) FROM pgqueuer WHERE id = :j", j=job_id) == 0
    [line] = [x for x in running.lines() if x["job_id"] == job_id]
    assert line["entrypoint"] == "extract_receipt" and line["outcome"] == "done"
    assert line["business_id"] == jobs.biz.id and line["attempt"] == 1
    assert line["duration_ms"] >= 0


async def test_a_failing_job_is_retried_then_fails_with_its_reason(
    jobs: Jobs, tmp_path: Path
) -> None:
    await jobs.clear_queue()
    receipt_id = await jobs.upload()
    job_id = await _job_id(jobs, receipt_id)
    with worker(jobs, tmp_path, "failing", **FAST) as running:
        row = await eventually(_processed(jobs, receipt_id, "FAILED"), "the receipt FAILED")
        await eventually(
            lambda: jobs.scalar("SELECT status = 'failed' FROM pgqueuer WHERE id = :j", j=job_id),
            "the job held as failed",
        )
    assert row.processing_error == "RuntimeError: scanner offline"
    outcomes = [(x["attempt"], x["outcome"]) for x in running.lines() if x["job_id"] == job_id]
    assert outcomes == [(1, "retry"), (2, "retry"), (3, "failed")]
    assert all("scanner offline" in x["error"] for x in running.lines() if x["job_id"] == job_id)
    text = (await jobs.client.get("/metrics")).text
    assert 'expensegraph_jobs{state="failed"} 1.0' in text, text


async def test_an_unreadable_file_fails_at_once_without_retries(jobs: Jobs, tmp_path: Path) -> None:
    await jobs.clear_queue()
    receipt_id = await jobs.upload()
    calls = tmp_path / "calls"
    with worker(jobs, tmp_path, "unreadable", EXPENSEGRAPH_TEST_CALLS=str(calls), **FAST):
        row = await eventually(_processed(jobs, receipt_id, "FAILED"), "the receipt FAILED")
    assert row.processing_error == "no text found"
    assert len(calls.read_text().splitlines()) == 1
    # a receipt that could not be read is still filed by hand
    employee = token(jobs.biz, "employee")
    create = "mutation($i: CreateExpenseInput!) { createExpense(input: $i) { expense { id } } }"
    spent = {"amount": {"amount": "9.99", "currency": "GBP"}, "spentAt": "2026-11-02T10:00:00Z",
             "merchantName": "Unreadable Ltd"}  # fmt: skip
    expense = (await gql(jobs.client, create, {"i": spent}, as_=employee))["createExpense"][
        "expense"
    ]
    attach = "mutation($r: ID!, $e: ID!) { attachReceipt(receiptId: $r, expenseId: $e) { receipt { processing expense { id } } userErrors { code } } }"  # fmt: skip
    variables = {"r": encode_id("Receipt", receipt_id), "e": expense["id"]}
    data = (await gql(jobs.client, attach, variables, as_=employee))["attachReceipt"]
    assert data == {"receipt": {"processing": "FAILED", "expense": expense}, "userErrors": []}


async def test_a_killed_workers_job_is_done_once_by_another(jobs: Jobs, tmp_path: Path) -> None:
    await jobs.clear_queue()
    receipt_id = await jobs.upload()
    job_id = await _job_id(jobs, receipt_id)
    calls = tmp_path / "calls"
    env = {
        "EXPENSEGRAPH_TEST_CALLS": str(calls), "EXPENSEGRAPH_TEST_SLEEP": "3",
        "EXPENSEGRAPH_JOB_HEARTBEAT_TIMEOUT_SECONDS": "2", "EXPENSEGRAPH_JOB_POLL_SECONDS": "0.5",
    }  # fmt: skip

    async def started() -> bool:
        return calls.exists() and len(calls.read_text().splitlines()) >= 1

    with worker(jobs, tmp_path, "slow", **env) as first:
        await eventually(started, "the first worker to start extracting")
        first.process.kill()  # SIGKILL mid-job: no clean-up, its heartbeat stops
        first.process.wait()
    assert (await jobs.receipt(receipt_id)).processing == "PROCESSING"
    with worker(jobs, tmp_path, "slow", **env) as second:
        row = await eventually(_processed(jobs, receipt_id, "DONE"), "the receipt DONE", 60)
        await eventually(lambda: jobs.scalar(LOGGED, j=job_id, s="successful"), "the job logged")
    pids = calls.read_text().split()
    assert len(pids) == 2 and pids[0] == str(first.process.pid) and pids[1] != pids[0]
    assert await jobs.scalar(LOGGED, j=job_id, s="successful") == 1
    assert row.extracted_total_minor == 1250
    assert [x["outcome"] for x in second.lines() if x["job_id"] == job_id] == ["done"]


async def test_a_worker_sends_the_feed_to_a_webhook_signed(
    jobs: Jobs, tmp_path: Path, receiver: Receiver
) -> None:
    async def create(db: RequestDb) -> Any:
        return await webhook_rows.create_endpoint(
            db=db, business_id=jobs.biz.id, url=receiver.url, description="", event_types=[],
            secret=new_secret(),
        )  # fmt: skip

    endpoint = await in_transaction(jobs.engine, create)
    await jobs.clear_queue()
    receipt_id = await jobs.upload()
    with worker(jobs, tmp_path, "extract", EXPENSEGRAPH_WEBHOOK_ALLOW_PRIVATE="1"):
        await eventually(lambda: _got(receiver, 2), "two events delivered")
    sent = [Webhook(endpoint.secret).verify(r.body, r.headers) for r in receiver.got]
    assert [s["type"] for s in sent] == ["receipt.uploaded", "receipt.processed"]
    assert {s["data"]["objectId"] for s in sent} == {encode_id("Receipt", receipt_id)}
    assert sent[1]["data"]["transition"] == {"from": "PROCESSING", "to": "DONE"}
    async with jobs.engine.begin() as conn:  # later tests' ticks leave it alone
        await conn.execute(update(webhook_endpoints).values(enabled=False))


async def _got(receiver: Receiver, count: int) -> bool:
    return len(receiver.got) >= count
