"""uploadReceipt over the GraphQL multipart request spec, through the real app."""

import hashlib
import json
from typing import Any

import pytest

from resolvers.receipt_files import MAX_FILE_NAME, MAX_RECEIPT_BYTES, PDF, safe_file_name, sniff
from tests.conftest import codes
from tests.graphql.receipts.conftest import (
    HEIC,
    HEIF,
    JPEG,
    PNG,
    UPLOAD,
    WEBP,
    Shop,
    error_codes,
    new_expense,
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


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("../../etc/passwd", "passwd.pdf"),
        ("..\\..\\windows\\system32\\config.pdf", "config.pdf"),
        ("/var/receipts/.hidden.pdf", "hidden.pdf"),
        ("taxi <late>|night?.pdf", "taxi _late__night_.pdf"),
        ("Rechnung März.pdf", "Rechnung März.pdf"),
        ("invoice.exe", "invoice.pdf"),
        ("v1.final report", "v1.final report.pdf"),
        ("..", "receipt.pdf"),
    ],
)
async def test_file_names_are_sanitised(shop: Shop, name: str, stored: str) -> None:
    payload = await upload(shop.client, unique(PDF_BYTES), as_=shop.as_("employee"), name=name)
    assert payload["receipt"]["fileName"] == stored


async def test_control_characters_in_a_raw_multipart_file_name_are_removed(shop: Shop) -> None:
    # httpx escapes control characters in names; a hostile client sends them raw
    name = "a\x00b\tc\x1b[31m\u202egnp.pdf".encode()
    operations = json.dumps({"query": UPLOAD, "variables": {"file": None}}).encode()
    body = b"".join(
        [
            b'--XX\r\nContent-Disposition: form-data; name="operations"\r\n\r\n', operations,
            b'\r\n--XX\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0": ["variables.file"]}',
            b'\r\n--XX\r\nContent-Disposition: form-data; name="0"; filename="', name,
            b'"\r\nContent-Type: application/pdf\r\n\r\n', unique(PDF_BYTES), b"\r\n--XX--\r\n",
        ]
    )  # fmt: skip
    response = await shop.client.post(
        "/graphql",
        content=body,
        headers={
            "Authorization": f"Bearer {shop.as_('employee')}",
            "GraphQL-Preflight": "1",
            "Content-Type": "multipart/form-data; boundary=XX",
        },
    )
    assert response.status_code == 200, response.text
    receipt = response.json()["data"]["uploadReceipt"]["receipt"]
    assert receipt["fileName"] == "abc[31mgnp.pdf"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("a\x00b\nc.pdf", "abc.pdf"),
        ("line\r\nbreak.pdf", "linebreak.pdf"),
        ("tab\there.pdf", "tabhere.pdf"),
        ("\u202egpj.exe", "gpj.pdf"),  # right-to-left override: 'exe.jpg' on screen
        ('say "hi"; ok.pdf', "say _hi__ ok.pdf"),
        ("   .pdf", "pdf.pdf"),  # a hidden file called 'pdf'
        (" . ", "receipt.pdf"),
        (None, "receipt.pdf"),
        ("C:\\Users\\me\\Desktop\\scan.PDF", "scan.pdf"),
    ],
)
def test_safe_file_name(raw: str | None, stored: str) -> None:
    assert safe_file_name(raw, PDF) == stored


def test_very_long_names_are_capped_and_keep_their_extension() -> None:
    name = safe_file_name("x" * 5000 + ".pdf", PDF)
    assert len(name) == MAX_FILE_NAME and name.endswith("x.pdf")
    assert len(safe_file_name("é" * 300, PDF)) == MAX_FILE_NAME


def test_sniff_needs_a_complete_ftyp_box() -> None:
    assert sniff(HEIC[:12]) is None
    assert sniff((12).to_bytes(4, "big") + b"ftypheic") is None  # box too small
    assert sniff(HEIC) is not None


async def test_a_very_long_name_end_to_end(shop: Shop) -> None:
    payload = await upload(
        shop.client, unique(PDF_BYTES), as_=shop.as_("employee"), name="long" * 300 + ".pdf"
    )
    name = payload["receipt"]["fileName"]
    assert len(name) == MAX_FILE_NAME and name.endswith(".pdf")


async def test_upload_straight_onto_an_expense(shop: Shop) -> None:
    expense = await new_expense(shop.client, shop.as_("employee"))
    payload = await upload(
        shop.client, unique(JPEG), as_=shop.as_("employee"), name="lunch.jpg", expense_id=expense
    )
    receipt = payload["receipt"]
    assert receipt["expense"]["id"] == expense
    actions = [e["action"] for e in receipt["expense"]["events"]]
    assert actions == ["CREATED", "RECEIPT_ATTACHED"]
    assert receipt["expense"]["events"][-1]["comment"] == f"lunch.jpg ({receipt['id']})"


async def test_upload_onto_an_expense_one_may_not_change_stores_nothing(shop: Shop) -> None:
    expense = await new_expense(shop.client, shop.as_("employee2"))
    rows, files = await shop.receipt_rows(), shop.stored_files()
    payload = await upload(
        shop.client, unique(PDF_BYTES), as_=shop.as_("employee"), expense_id=expense
    )
    assert error_codes(payload) == ["NOT_FOUND"]
    assert payload["userErrors"][0]["field"] == "expenseId"
    assert await shop.receipt_rows() == rows
    assert shop.stored_files() == files


async def test_api_keys_must_name_the_uploading_member(shop: Shop) -> None:
    refused = await upload(shop.client, unique(PDF_BYTES), as_=shop.keys["writer"])
    assert error_codes(refused) == ["INVALID_VALUE"]
    assert refused["userErrors"][0]["field"] == "memberId"
    payload = await upload(
        shop.client, unique(PDF_BYTES), as_=shop.keys["writer"],
        member_id=shop.member_id("engineer"),
    )  # fmt: skip
    assert payload["receipt"]["uploadedBy"]["id"] == shop.member_id("engineer")
    foreign = await upload(
        shop.client, unique(PDF_BYTES), as_=shop.keys["writer"],
        member_id=shop.member_id("engineer", shop.other),
    )  # fmt: skip
    assert error_codes(foreign) == ["NOT_FOUND"]


async def test_members_upload_as_themselves(shop: Shop) -> None:
    own = await upload(
        shop.client, unique(PDF_BYTES), as_=shop.as_("finance"), member_id=shop.member_id("finance")
    )
    assert own["userErrors"] == []
    refused = await upload(
        shop.client, unique(PDF_BYTES), as_=shop.as_("finance"),
        member_id=shop.member_id("employee"),
    )  # fmt: skip
    assert error_codes(refused) == ["FORBIDDEN"]


async def test_credentials_and_scopes(shop: Shop) -> None:
    rows = await shop.receipt_rows()
    response = await upload_raw(shop.client, unique(PDF_BYTES), as_=None)
    assert codes(response.json()) == ["UNAUTHENTICATED"]
    response = await upload_raw(shop.client, unique(PDF_BYTES), as_=shop.keys["reader"])
    assert codes(response.json()) == ["FORBIDDEN"]
    assert response.json()["data"]["uploadReceipt"] is None
    assert await shop.receipt_rows() == rows
    # a write-only key may upload, but reading the file back needs receipts:read
    query = UPLOAD.replace("downloadUrl", "")
    payload = await upload(
        shop.client, unique(PDF_BYTES), as_=shop.keys["write_only"],
        member_id=shop.member_id("employee"), query=query,
    )  # fmt: skip
    assert payload["userErrors"] == []
    response = await upload_raw(
        shop.client, unique(PDF_BYTES), as_=shop.keys["write_only"],
        member_id=shop.member_id("employee"),
    )  # fmt: skip
    assert codes(response.json()) == ["FORBIDDEN"]


async def test_a_file_variable_sent_as_json_is_bad_input(shop: Shop) -> None:
    response = await shop.client.post(
        "/graphql",
        json={"query": UPLOAD, "variables": {"file": "JVBERi0xLjc="}},
        headers={"Authorization": f"Bearer {shop.as_('employee')}", "GraphQL-Preflight": "1"},
    )
    assert codes(response.json()) == ["BAD_USER_INPUT"]


def _multipart(operations: str | None, files_map: str | None) -> dict[str, Any]:
    data = {k: v for k, v in (("operations", operations), ("map", files_map)) if v is not None}
    return {"data": data, "files": {"0": ("r.pdf", PDF_BYTES, "application/pdf")}}


OPERATIONS = json.dumps({"query": UPLOAD, "variables": {"file": None}})


@pytest.mark.parametrize(
    ("operations", "files_map"),
    [
        (OPERATIONS, "[1, 2]"),
        (OPERATIONS, '"variables.file"'),
        (OPERATIONS, '{"0": "variables.file"}'),
        (OPERATIONS, '{"0": [1]}'),
        (OPERATIONS, '{"0": []}'),
        (OPERATIONS, '{"0": ["variables.file.x.y"]}'),
        (OPERATIONS, '{"0": ["variables.file.0"]}'),
        (OPERATIONS, '{"0": ["variables"]}'),
        (OPERATIONS, '{"0": ["query"]}'),
        (OPERATIONS, '{"0": ["0.variables.file"]}'),
        (OPERATIONS, '{"1": ["variables.file"]}'),
        (OPERATIONS, '{"operations": ["variables.file"]}'),
        (OPERATIONS, "{not json"),
        (OPERATIONS, None),
        (json.dumps({"query": UPLOAD}), '{"0": ["variables.file"]}'),
        (json.dumps({"query": UPLOAD, "variables": None}), '{"0": ["variables.file"]}'),
        (json.dumps({"query": UPLOAD, "variables": {"file": "x"}}), '{"0": ["variables.file.a"]}'),
        ("[]", '{"0": ["variables.file"]}'),
        ("{oops", '{"0": ["variables.file"]}'),
        (None, '{"0": ["variables.file"]}'),
    ],
)
async def test_a_malformed_multipart_request_is_a_400(
    shop: Shop, operations: str | None, files_map: str | None
) -> None:
    rows = await shop.receipt_rows()
    response = await shop.client.post(
        "/graphql",
        headers={"Authorization": f"Bearer {shop.as_('employee')}", "GraphQL-Preflight": "1"},
        **_multipart(operations, files_map),
    )
    assert response.status_code == 400, response.text
    assert await shop.receipt_rows() == rows


async def test_a_multipart_body_that_is_not_multipart_is_a_400(shop: Shop) -> None:
    response = await shop.client.post(
        "/graphql",
        content=b"this is not a multipart body",
        headers={
            "Authorization": f"Bearer {shop.as_('employee')}",
            "GraphQL-Preflight": "1",
            "Content-Type": "multipart/form-data; boundary=nope",
        },
    )
    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_USER_INPUT"]
