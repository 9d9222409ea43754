"""The result of reading one receipt, its bounds, and how reading fails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

T = TypeVar("T")

# the stored text is bounded: a pathological document must not fill a database row
MAX_TEXT_CHARS = 20_000


@dataclass(frozen=True)
class Found(Generic[T]):
    """A value read from a receipt and how sure the reader is of it (0..1)."""

    value: T
    confidence: float


@dataclass(frozen=True)
class Extraction:
    """What was read from one receipt; a field is None when nothing plausible was found."""

    text: str
    merchant: Found[str] | None
    spent_on: Found[date] | None
    total_minor: Found[int] | None  # the document's TOTAL in minor units of `currency`
    currency: Found[str] | None  # ISO 4217


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one hostile or huge upload from stalling the worker."""

    max_pixels: int = 40_000_000
    max_pages: int = 5
    ocr_timeout_s: float = 20.0
    max_bytes: int = 10 * 1024 * 1024


class ExtractionError(Exception):
    """The document could not be read at all; `reason` is a short sentence for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
