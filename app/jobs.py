"""Job entrypoints: what a queued job does. The worker (app/worker.py) runs them.

Every job is idempotent: it reads the current rows when it runs and writes in one
transaction, so a retry, or a second worker taking over a job whose worker died, leaves
the same result as one run. Enqueued with db/writes/jobs.py in the transaction that causes them.
"""

import asyncio
import importlib
import importlib.util
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import RequestDb, in_transaction
from db.receipt_storage import ReceiptStorage
from db.writes import receipts as receipt_writes
from db.writes.jobs import EXTRACT_RECEIPT, MATCH_EXPENSE

# "module:function" of an extractor with extraction.extract's signature; for tests and
# development (a fake that needs no Tesseract), never set in production
EXTRACTOR_ENV = "EXPENSEGRAPH_EXTRACTOR"


class Extractor(Protocol):
    """``extraction.extract``: the fields a receipt file shows, or ExtractionError(reason)."""

    def __call__(self, data: bytes, content_type: str, *, known_merchants: Sequence[str]) -> Any:
        """Return an Extraction."""
        ...


@dataclass(frozen=True)
class JobEnv:
    """What jobs use: the database, the receipt files and the extractor."""

    engine: AsyncEngine
    storage: ReceiptStorage
    extractor: Extractor | None


class PermanentFailure(Exception):
    """The job cannot succeed however often it runs; the message says why."""


def load_extractor(env: Mapping[str, str] = os.environ) -> Extractor | None:
    """Return the extractor: EXPENSEGRAPH_EXTRACTOR's if set, else extraction.extract if installed."""
    spec = env.get(EXTRACTOR_ENV, "")
    if spec:
        module, _, name = spec.partition(":")
        extractor: Extractor = getattr(importlib.import_module(module), name)
        return extractor
    if importlib.util.find_spec("extraction") is None:
        return None
    return importlib.import_module("extraction").extract  # type: ignore[no-any-return]


def _is_extraction_error(error: Exception) -> bool:
    # by name: the extraction package (and the fakes tests pass in) may not be importable here
    return any(kind.__name__ == "ExtractionError" for kind in type(error).__mro__)


async def _in_transaction(env: JobEnv, work: Callable[[RequestDb], Awaitable[Any]]) -> Any:
    """Run ``work`` in one committed transaction on a connection of its own."""
    return await in_transaction(env.engine, work)


async def extract_receipt(env: JobEnv, payload: Mapping[str, Any]) -> None:
    """Extract a receipt's merchant, date and total, mark it DONE, then try to match it."""
    business_id, receipt_id = int(payload["business_id"]), int(payload["receipt_id"])

    async def start(db: RequestDb) -> tuple[Any, list[str]] | None:
        row = await receipt_writes.start_processing(
            db=db, business_id=business_id, receipt_id=receipt_id
        )
        if row is None:
            return None
        return row, await receipt_writes.known_merchants(db=db, business_id=business_id)

    started = await _in_transaction(env, start)
    if started is None:  # DONE already (this job ran before) or deleted: nothing to do
        return
    row, merchants = started
    if env.extractor is None:
        raise PermanentFailure("receipt extraction is not installed on this worker")
    data = await asyncio.to_thread(_read, env.storage, row.storage_key)
    try:
        # OCR is slow and blocking: in a thread, so heartbeats and other jobs go on
        found = await asyncio.to_thread(
            env.extractor, data, row.content_type, known_merchants=merchants
        )
    except Exception as error:
        if not _is_extraction_error(error):
            raise  # unexpected: retried
        reason = str(getattr(error, "reason", "") or error)
        await fail_receipt(env, payload, reason)
        return

    async def finish(db: RequestDb) -> None:
        values = _extracted_columns(found)
        done = await receipt_writes.finish_processing(
            db=db, business_id=business_id, receipt_id=receipt_id, found=values
        )
        if done:  # matched in the same transaction: DONE and its match land together
            await _matching_call(
                "match_receipt", db=db, business_id=business_id, receipt_id=receipt_id
            )

    await _in_transaction(env, finish)


async def fail_receipt(env: JobEnv, payload: Mapping[str, Any], reason: str) -> None:
    """Mark the job's receipt FAILED with ``reason`` (its extraction job gave up)."""
    business_id, receipt_id = int(payload["business_id"]), int(payload["receipt_id"])

    async def fail(db: RequestDb) -> None:
        await receipt_writes.fail_processing(
            db=db, business_id=business_id, receipt_id=receipt_id, reason=reason
        )

    await _in_transaction(env, fail)


async def match_expense(env: JobEnv, payload: Mapping[str, Any]) -> None:
    """Look for unmatched receipts that fit an expense whose amount, date or merchant changed."""
    business_id, expense_id = int(payload["business_id"]), int(payload["expense_id"])

    async def match(db: RequestDb) -> None:
        await _matching_call("match_expense", db=db, business_id=business_id, expense_id=expense_id)

    await _in_transaction(env, match)


async def _matching_call(name: str, **kwargs: Any) -> None:
    # imported when used: the worker does not need the matcher to extract
    if importlib.util.find_spec("resolvers.matching") is None:
        return
    matching = importlib.import_module("resolvers.matching")
    await getattr(matching, name)(**kwargs)


def _read(storage: ReceiptStorage, key: str) -> bytes:
    with storage.open(key) as file:
        return file.read()


def _extracted_columns(found: Any) -> dict[str, Any]:
    """Return the ``extracted_*`` column values of an Extraction (None where not found)."""
    fields = {
        "merchant": "extracted_merchant",
        "spent_on": "extracted_spent_on",
        "total_minor": "extracted_total_minor",
        "currency": "extracted_currency",
    }
    values: dict[str, Any] = {}
    confidence: dict[str, float] = {}
    for field, column in fields.items():
        item = getattr(found, field, None)
        values[column] = None if item is None else item.value
        if item is not None:
            confidence[field] = round(float(item.confidence), 3)
    return values | {"extracted_confidence": confidence}


Entrypoint = Callable[[JobEnv, Mapping[str, Any]], Awaitable[None]]
# what each job does, and what to record when it fails for good (its reason visible)
ENTRYPOINTS: dict[str, Entrypoint] = {
    EXTRACT_RECEIPT: extract_receipt,
    MATCH_EXPENSE: match_expense,
}
GIVE_UP: dict[str, Callable[[JobEnv, Mapping[str, Any], str], Awaitable[None]]] = {
    EXTRACT_RECEIPT: fail_receipt
}
