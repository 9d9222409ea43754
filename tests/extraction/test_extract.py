import io
import random
import struct
import zlib
from datetime import date

import pytesseract
import pytest
from PIL import Image
from pypdf import PdfWriter

from extraction import ExtractionError, Limits, extract
from extraction.pdfwrite import text_pdf
from extraction.samples import SampleTruth, hits, random_truth, render

TRUTH = SampleTruth(
    merchant="Harbour Fish Bar",
    spent_on=date(2026, 11, 30),
    currency="GBP",
    items=(("Cod and chips", 1700), ("Tea", 250)),
    subtotal_minor=1950,
    tax_minor=390,
    total_minor=2340,
    date_format="d_mon_y",
    language="en",
    layout=0,
)


def _png_header(width: int, height: int) -> bytes:
    """Return a PNG that declares its size and holds no pixels: decoding it would fail."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = lambda kind, body: (  # noqa: E731
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    )
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _blank_pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(200, 300)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_text_layer_is_read_without_ocr() -> None:
    found = extract(render(TRUTH, kind="pdf", seed=1), "application/pdf")
    assert all(hits(TRUTH, found).values()), found
    assert "Harbour Fish Bar" in found.text


@pytest.mark.parametrize(("width", "height"), [(10_000, 10_000), (7_000, 7_000)])
def test_too_many_pixels_are_refused_before_decoding(width: int, height: int) -> None:
    # 100 MP trips Pillow's own bomb check; 49 MP only ours (40 MP by default)
    with pytest.raises(ExtractionError, match="too many pixels"):
        extract(_png_header(width, height), "image/png")


def test_the_pixel_bound_is_a_limit() -> None:
    with pytest.raises(ExtractionError, match="too many pixels"):
        extract(_png_header(300, 300), "image/png", limits=Limits(max_pixels=300 * 299))


def test_too_many_pages_are_refused() -> None:
    with pytest.raises(ExtractionError, match="too many pages"):
        extract(_blank_pdf(6), "application/pdf")
    with pytest.raises(ExtractionError, match="too many pages"):
        extract(_blank_pdf(2), "application/pdf", limits=Limits(max_pages=1))


def test_a_pdf_without_text_or_images_says_so() -> None:
    with pytest.raises(ExtractionError, match="PDF has no text layer"):
        extract(_blank_pdf(1), "application/pdf")


@pytest.mark.parametrize(
    ("data", "content_type", "reason"),
    [
        (b"hello", "text/plain", "unsupported type"),
        (b"hello", "image/png", "unreadable"),
        (b"%PDF-1.4 garbage", "application/pdf", "PDF is unreadable"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "image/png", "image is unreadable"),
    ],
)
def test_unreadable_and_unsupported(data: bytes, content_type: str, reason: str) -> None:
    with pytest.raises(ExtractionError, match=reason) as caught:
        extract(data, content_type)
    assert caught.value.reason.startswith(reason)


def test_files_over_the_size_limit_are_refused() -> None:
    with pytest.raises(ExtractionError, match="larger than"):
        extract(render(TRUTH, kind="pdf", seed=1), "application/pdf", limits=Limits(max_bytes=100))


def test_text_is_bounded() -> None:
    data = text_pdf([("left", f"line {i:05d} " + "x" * 28) for i in range(800)])
    assert len(extract(data, "application/pdf").text) == 20_000


def test_a_tesseract_timeout_becomes_an_extraction_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def times_out(*args: object, **kwargs: object) -> str:
        raise RuntimeError("Tesseract process timeout")

    monkeypatch.setattr(pytesseract, "image_to_string", times_out)
    with pytest.raises(ExtractionError, match="OCR timed out"):
        extract(render(TRUTH, kind="png", seed=1), "image/png")


def test_a_real_tesseract_run_past_its_time_is_stopped(tesseract: None) -> None:
    with pytest.raises(ExtractionError, match="OCR timed out"):
        extract(render(TRUTH, kind="png", seed=1), "image/png", limits=Limits(ocr_timeout_s=0.05))


def test_a_photo_is_read(tesseract: None) -> None:
    found = extract(render(TRUTH, kind="jpeg", seed=3), "image/jpeg")
    assert hits(TRUTH, found) == dict.fromkeys(["total", "currency", "date", "merchant"], True)
    assert found.total_minor and found.total_minor.confidence >= 0.9


def test_webp_and_exif_orientation(tesseract: None) -> None:
    image = Image.open(io.BytesIO(render(TRUTH, kind="png", seed=2)))
    # stored sideways with the EXIF tag that says "turn me 90° clockwise", as phones do
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.rotate(90, expand=True).save(out, "WEBP", quality=90, exif=exif)
    found = extract(out.getvalue(), "image/webp")
    assert found.total_minor and found.total_minor.value == TRUTH.total_minor


def test_a_scanned_pdf_is_read_from_its_page_image(tesseract: None) -> None:
    image = Image.open(io.BytesIO(render(TRUTH, kind="png", seed=4)))
    out = io.BytesIO()
    image.save(out, "PDF", resolution=150)
    found = extract(out.getvalue(), "application/pdf")
    assert found.total_minor and found.total_minor.value == TRUTH.total_minor


def test_the_bytes_decide_the_format() -> None:
    found = extract(render(TRUTH, kind="pdf", seed=1), "image/png")
    assert found.total_minor and found.total_minor.value == 2340


def test_samples_are_seeded_and_add_up() -> None:
    assert render(TRUTH, kind="png", seed=5) == render(TRUTH, kind="png", seed=5)
    truth = random_truth(random.Random(9))
    assert truth.total_minor == truth.subtotal_minor + truth.tax_minor
    assert truth.subtotal_minor == sum(price for _, price in truth.items)
