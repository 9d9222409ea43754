"""uploadReceipt's file names: sanitised (paths, control characters, hidden extensions),
capped in length, and given the extension of the format found.
"""

import json

import pytest

from resolvers.receipt_files import MAX_FILE_NAME, PDF, safe_file_name
from tests.graphql.receipts.conftest import PDF as PDF_BYTES
from tests.graphql.receipts.conftest import UPLOAD, Shop, unique, upload


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


async def test_a_very_long_name_end_to_end(shop: Shop) -> None:
    payload = await upload(
        shop.client, unique(PDF_BYTES), as_=shop.as_("employee"), name="long" * 300 + ".pdf"
    )
    name = payload["receipt"]["fileName"]
    assert len(name) == MAX_FILE_NAME and name.endswith(".pdf")
