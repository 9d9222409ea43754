"""Fake extractors for the worker tests (EXPENSEGRAPH_EXTRACTOR=tests.jobs.fakes:NAME): no OCR.

Each call appends a line (the process id) to the file in EXPENSEGRAPH_TEST_CALLS, when set,
so a test can count how often extraction ran and in which worker.
"""

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any


@dataclass(frozen=True)
class Found:
    value: Any
    confidence: float


class ExtractionError(Exception):
    """Like extraction.ExtractionError: the file cannot be read; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _called() -> None:
    path = os.environ.get("EXPENSEGRAPH_TEST_CALLS")
    if path:
        with open(path, "a") as calls:
            calls.write(f"{os.getpid()}\n")


def extract(data: bytes, content_type: str, *, known_merchants: Sequence[str] = ()) -> Any:
    """Find a fixed merchant, day and total in any file."""
    _called()
    return _found()


def _found() -> Any:
    return SimpleNamespace(
        merchant=Found("Stationers", 0.9),
        spent_on=Found(date(2026, 6, 1), 0.8),
        total_minor=Found(1250, 0.95),
        currency=Found("GBP", 0.9),
    )


def failing(data: bytes, content_type: str, *, known_merchants: Sequence[str] = ()) -> Any:
    """Fail every time, as a broken dependency would."""
    _called()
    raise RuntimeError("scanner offline")


def unreadable(data: bytes, content_type: str, *, known_merchants: Sequence[str] = ()) -> Any:
    """Refuse the file, as extraction does for a file it cannot read."""
    _called()
    raise ExtractionError("no text found")


def slow(data: bytes, content_type: str, *, known_merchants: Sequence[str] = ()) -> Any:
    """Take EXPENSEGRAPH_TEST_SLEEP seconds, then find what :func:`extract` finds."""
    _called()
    time.sleep(float(os.environ.get("EXPENSEGRAPH_TEST_SLEEP", "5")))
    return _found()
