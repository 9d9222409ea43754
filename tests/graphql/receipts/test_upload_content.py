"""uploadReceipt's file content: formats recognised by their magic bytes, other content
refused, the size cap, and identical content stored once per business.
"""

import hashlib
from typing import Any

import pytest

from resolvers.receipt_files import MAX_RECEIPT_BYTES, sniff
from tests.graphql.receipts.conftest import (
    HEIC,
    HEIF,
    JPEG,
    PNG,
    WEBP,
    Shop,
    error_codes,
    unique,
    upload,
    upload_raw,
)
from tests.graphql.receipts.conftest import PDF as PDF_BYTES


@pytest.mark.parametrize(
    ("sample", "content_type", "name", "stored_name"),
    [
        (PDF_BYTES, "application/pdf", "invoice.pdf", "invoice.pdf"),
        (JPEG, "image/jpeg", "photo.JPEG", "photo.jpeg"),
        (PNG, "image/png", "screen.png", "screen.png"),
        (WEBP, "image/webp", "pic.webp", "pic.webp"),
        (HEIC, "image/heic", "IMG_0001.HEIC", "IMG_0001.heic"),
        (HEIF, "image/heif", "still.heif", "still.heif"),
    ],
)
async def test_each_format_is_recognised_by_its_magic_bytes(
    shop: Shop, sample: bytes, content_type: str, name: str, stored_name: str
) -> None:
    content = unique(sample)
    payload = await upload(
        shop.client, content, as_=shop.as_("employee"), name=name, content_type="x/whatever"
    )
    assert payload["userErrors"] == []
    receipt = payload["receipt"]
    assert receipt["contentType"] == content_type
    assert receipt["fileName"] == stored_name
    assert receipt["sizeBytes"] == len(content)
    assert receipt["sha256"] == hashlib.sha256(content).hexdigest()
    assert receipt["expense"] is None  # unmatched
    assert receipt["uploadedBy"]["id"] == shop.member_id("employee")


async def test_a_pdf_named_and_sent_as_png_is_stored_as_a_pdf(shop: Shop) -> None:
    payload = await upload(
        shop.client, unique(PDF_BYTES), as_=shop.as_("employee"), name="scan.png",
        content_type="image/png",
    )  # fmt: skip
    assert payload["receipt"]["contentType"] == "application/pdf"
    assert payload["receipt"]["fileName"] == "scan.pdf"


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", "invoice.pdf"),  # Windows PE
        (b"\x7fELF\x02\x01\x01\x00" + bytes(8), "receipt.png"),  # Linux executable
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "receipt.pdf"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "receipt.svg"),
        (b" %PDF-1.7 but not at the start", "receipt.pdf"),
        ((24).to_bytes(4, "big") + b"ftypavif\x00\x00\x00\x00mif1avif", "photo.heic"),  # AVIF
        ((24).to_bytes(4, "big") + b"ftypisom\x00\x00\x00\x00isomiso2", "clip.heic"),  # MP4
        (b"", "empty.pdf"),
    ],
)
async def test_other_content_is_refused_and_nothing_is_stored(
    shop: Shop, content: bytes, name: str
) -> None:
    rows, files = await shop.receipt_rows(), shop.stored_files()
    payload = await upload(shop.client, content, as_=shop.as_("employee"), name=name)
    assert payload["receipt"] is None
    assert error_codes(payload) == ["UNSUPPORTED_FILE_TYPE"]
    assert payload["userErrors"][0]["field"] == "file"
    assert await shop.receipt_rows() == rows
    assert shop.stored_files() == files


class GeneratedFile:
    """A PDF of ``size`` bytes made up while it is read, so the test never holds it all."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.position = 0

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.position if n < 0 else min(n, self.size - self.position)
        start, self.position = self.position, self.position + n
        head = PDF_BYTES[start : start + n] if start < len(PDF_BYTES) else b""
        return head + bytes(n - len(head))


async def test_ten_mib_is_accepted_one_byte_more_is_refused(shop: Shop) -> None:
    files = shop.stored_files()
    payload = await upload(shop.client, GeneratedFile(MAX_RECEIPT_BYTES), as_=shop.as_("employee"))
    assert payload["userErrors"] == []
    assert payload["receipt"]["sizeBytes"] == MAX_RECEIPT_BYTES
    stored = shop.stored_files()
    assert len(stored) == len(files) + 1
    too_big = await upload(
        shop.client, GeneratedFile(MAX_RECEIPT_BYTES + 1), as_=shop.as_("employee")
    )
    assert too_big["receipt"] is None and error_codes(too_big) == ["FILE_TOO_LARGE"]
    assert shop.stored_files() == stored


async def test_a_huge_body_is_refused_before_it_is_read_in_full(shop: Shop) -> None:
    rows = await shop.receipt_rows()
    huge = GeneratedFile(200 * 1024 * 1024)
    response = await upload_raw(shop.client, huge, as_=shop.as_("employee"))
    assert response.status_code == 413
    assert huge.position < 20 * 1024 * 1024  # the server stopped reading at its cap
    assert await shop.receipt_rows() == rows


async def test_a_declared_huge_body_is_refused_without_reading_it(shop: Shop) -> None:
    sent = []

    async def body() -> Any:
        sent.append(1)
        yield b"--x\r\n"

    response = await shop.client.post(
        "/graphql",
        content=body(),
        headers={
            "Authorization": f"Bearer {shop.as_('employee')}",
            "GraphQL-Preflight": "1",
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(500 * 1024 * 1024),
        },
    )
    assert response.status_code == 413
    assert sent == []


async def test_identical_content_is_stored_once_but_each_upload_is_its_own_receipt(
    shop: Shop,
) -> None:
    content = unique(PNG)
    files = shop.stored_files()
    first = await upload(shop.client, content, as_=shop.as_("employee"), name="a.png")
    second = await upload(shop.client, content, as_=shop.as_("employee2"), name="b.png")
    assert first["receipt"]["id"] != second["receipt"]["id"]
    assert first["receipt"]["sha256"] == second["receipt"]["sha256"]
    assert (second["receipt"]["fileName"], second["receipt"]["uploadedBy"]["id"]) == (
        "b.png",
        shop.member_id("employee2"),
    )
    assert len(shop.stored_files()) == len(files) + 1  # one stored object
    sha = first["receipt"]["sha256"]
    keys = {r.storage_key for r in await shop.receipt_rows() if r.sha256 == sha}
    assert len(keys) == 1
    # another business with the same content gets its own object: nothing is shared
    other = await upload(shop.client, content, as_=shop.as_("employee", shop.other))
    assert other["receipt"]["sha256"] == sha
    (other_row,) = [r for r in await shop.receipt_rows(shop.other) if r.sha256 == sha]
    assert other_row.storage_key not in keys
    assert len(shop.stored_files()) == len(files) + 2


def test_sniff_needs_a_complete_ftyp_box() -> None:
    assert sniff(HEIC[:12]) is None
    assert sniff((12).to_bytes(4, "big") + b"ftypheic") is None  # box too small
    assert sniff(HEIC) is not None
