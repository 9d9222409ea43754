"""uploadReceipt's permissions and requests: onto an expense, on behalf of a member,
credentials and scopes, and malformed GraphQL multipart requests refused with a 400.
"""

import json
from typing import Any

import pytest

from tests.conftest import codes
from tests.graphql.receipts.conftest import (
    JPEG,
    UPLOAD,
    Shop,
    error_codes,
    new_expense,
    unique,
    upload,
    upload_raw,
)
from tests.graphql.receipts.conftest import PDF as PDF_BYTES


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
