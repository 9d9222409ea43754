"""PDFs to text: the text layer through pypdf, else OCR of the page images (scans)."""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from extraction.ocr import check_pixels, prepare, read_image
from extraction.types import MAX_TEXT_CHARS, ExtractionError, Limits

# pypdf logs every oddity of real-world PDFs as a warning; the worker's log is not the place
logging.getLogger("pypdf").setLevel(logging.ERROR)


def read_pdf(data: bytes, limits: Limits, *, deadline: float) -> str:
    """Return the text of a PDF, refusing one of more than `limits.max_pages` pages."""
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("PDF is encrypted")
        pages = list(reader.pages)
    except (PyPdfError, OSError, ValueError, KeyError, TypeError) as exc:
        raise ExtractionError("PDF is unreadable") from exc
    if len(pages) > limits.max_pages:
        raise ExtractionError(f"PDF has too many pages ({len(pages)}, at most {limits.max_pages})")
    texts = []
    try:
        for page in pages:
            texts.append(page.extract_text() or "")
            if sum(map(len, texts)) > MAX_TEXT_CHARS:
                break
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ExtractionError("PDF is unreadable") from exc
    text = "\n".join(texts)
    if text.strip():
        return text
    return _ocr_page_images(pages, limits, deadline=deadline)


def _ocr_page_images(pages: list, limits: Limits, *, deadline: float) -> str:  # type: ignore[type-arg]
    """Return the OCR text of the largest image on each page: a scan's text lives there."""
    texts = []
    for page in pages:
        try:
            images = list(page.images)
        except (PyPdfError, ValueError, KeyError, TypeError, OSError, NotImplementedError):
            continue
        best = None
        for found in images:
            try:
                check_pixels(found.image.size, limits)
            except (OSError, ValueError, AttributeError):
                continue
            if (
                best is None
                or found.image.size[0] * found.image.size[1] > best.size[0] * best.size[1]
            ):
                best = found.image
        if best is not None:
            texts.append(read_image(prepare(best), deadline=deadline))
    if not "".join(texts).strip():
        raise ExtractionError("PDF has no text layer")
    return "\n".join(texts)
