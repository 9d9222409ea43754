"""The one entry point: bytes and a content type in, text and fields out."""

from __future__ import annotations

import time
from collections.abc import Sequence

from extraction.ocr import open_bounded, prepare, read_image
from extraction.parse import parse_text
from extraction.pdf import read_pdf
from extraction.types import MAX_TEXT_CHARS, Extraction, ExtractionError, Limits

_IMAGE_TYPES = {"image/jpeg", "image/jpg", "image/png", "image/webp", "image/heic", "image/heif"}


def sniff(data: bytes) -> str | None:
    """Return the content type that `data`'s first bytes say, when we know it."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heif"):
        return "image/heic"
    return None


def extract(
    data: bytes,
    content_type: str,
    *,
    limits: Limits = Limits(),
    day_first: bool | None = None,
    known_merchants: Sequence[str] = (),
) -> Extraction:
    """Return the text and fields of one receipt, or raise ExtractionError saying why not.

    The bytes decide the format when they are recognisable (a PNG sent as image/jpeg is
    still read); a declared type we do not read is refused.
    """
    declared = content_type.split(";")[0].strip().lower()
    kind = sniff(data)
    if declared not in _IMAGE_TYPES | {"application/pdf"}:
        raise ExtractionError(f"unsupported type {declared or 'unknown'!r}")
    if kind is None:
        raise ExtractionError(f"unreadable: the bytes are not a {declared} file")
    if len(data) > limits.max_bytes:
        raise ExtractionError(f"file is larger than {limits.max_bytes // (1024 * 1024)} MiB")
    deadline = time.monotonic() + limits.ocr_timeout_s
    if kind == "application/pdf":
        text = read_pdf(data, limits, deadline=deadline)
    else:
        text = read_image(prepare(open_bounded(data, limits)), deadline=deadline)
    text = text[:MAX_TEXT_CHARS]
    fields = parse_text(text, day_first=day_first, known_merchants=known_merchants)
    return Extraction(
        text=text,
        merchant=fields.merchant,
        spent_on=fields.spent_on,
        total_minor=fields.total_minor,
        currency=fields.currency,
    )
