"""Receipts tests: their own businesses, an app storing files in a temp dir, upload helpers."""

import json
import os
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from app.auth import hash_secret, new_api_key
from app.http import create_app
from db.tables.api import api_keys
from db.tables.expense import expense_events
from db.tables.receipt import receipts
from resolvers.ids import encode_id
from tests.conftest import SETTINGS, gql, token
from tests.graphql.receipts.helpers_matching import Books, new_books
from tests.world import Biz, _business

KEY_SCOPES = {
    "writer": ["receipts:write", "receipts:read"],
    "write_only": ["receipts:write"],
    "reader": ["receipts:read", "expenses:read"],
}

# tiny but genuine headers of each accepted format
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + bytes(24)
HEIC = (24).to_bytes(4, "big") + b"ftypheic\x00\x00\x00\x00mif1heic" + bytes(16)
HEIF = (24).to_bytes(4, "big") + b"ftypmif1\x00\x00\x00\x00mif1miaf" + bytes(16)

UPLOAD = """
mutation Upload($file: Upload!, $expenseId: ID, $memberId: ID) {
  uploadReceipt(file: $file, expenseId: $expenseId, memberId: $memberId) {
    receipt {
      id fileName contentType sizeBytes sha256 downloadUrl
      expense { id updatedAt events { action comment } }
      uploadedBy { id }
    }
    userErrors { field message code }
  }
}
"""


@dataclass
class Shop:
    """What a receipts test works with: two businesses of its own and an app on a temp dir."""

    biz: Biz
    other: Biz
    keys: dict[str, str]
    app: Starlette
    client: httpx.AsyncClient
    receipts_dir: Path
    engine: AsyncEngine

    def as_(self, member: str, biz: Biz | None = None) -> str:
        """Return a user token of ``member`` (a role key of tests/world.py)."""
        return token(biz or self.biz, member)

    def member_id(self, member: str, biz: Biz | None = None) -> str:
        return encode_id("Member", (biz or self.biz).members[member])

    def stored_files(self) -> list[Path]:
        return sorted(p for p in self.receipts_dir.rglob("*") if p.is_file())

    async def receipt_rows(self, biz: Biz | None = None) -> list[Any]:
        statement = select(receipts).where(receipts.c.business_id == (biz or self.biz).id)
        async with self.engine.connect() as conn:
            return list((await conn.execute(statement.order_by(receipts.c.id))).all())

    async def event_count(self) -> int:
        statement = select(expense_events.c.id).where(expense_events.c.business_id == self.biz.id)
        async with self.engine.connect() as conn:
            return len((await conn.execute(statement)).all())


@pytest.fixture(scope="module")
async def shop(
    engine: AsyncEngine, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Shop]:
    rng = random.Random(41)
    keys: dict[str, str] = {}
    async with engine.begin() as conn:
        biz = await _business(conn, "Receipts Ltd", "GBP", 10, rng)
        other = await _business(conn, "Other Receipts Inc", "USD", 5, rng)
        for name, scopes in (*KEY_SCOPES.items(), ("other_writer", ["receipts:write"])):
            prefix, key = new_api_key()
            keys[name] = key
            await conn.execute(
                insert(api_keys).values(
                    business_id=other.id if name.startswith("other") else biz.id, name=name,
                    prefix=prefix, secret_hash=hash_secret(key), scopes=scopes,
                )
            )  # fmt: skip
    root = tmp_path_factory.mktemp("receipts")
    settings = replace(SETTINGS, data_dir=root, receipts_dir=root / "files")
    app = create_app(settings, database_url, engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Shop(biz, other, keys, app, client, root / "files", engine)


@pytest.fixture
async def books(engine: AsyncEngine) -> Books:
    """Return a fresh business of the matching tests' own (see helpers_matching.Books)."""
    return await new_books(engine)


def unique(sample: bytes) -> bytes:
    """Return ``sample`` with random trailing bytes: content no other test uploads."""
    return sample + os.urandom(16)


def _auth(credential: str | None) -> dict[str, str]:
    # multipart needs a preflight header (CSRF prevention): see app/uploads.py
    preflight = {"GraphQL-Preflight": "1"}
    return {"Authorization": f"Bearer {credential}", **preflight} if credential else preflight


async def upload_raw(
    client: httpx.AsyncClient,
    content: Any,
    *,
    as_: str | None,
    name: str = "receipt.pdf",
    content_type: str = "application/pdf",
    expense_id: str | None = None,
    member_id: str | None = None,
    query: str = UPLOAD,
) -> httpx.Response:
    """Send uploadReceipt as a GraphQL multipart request."""
    variables = {"file": None, "expenseId": expense_id, "memberId": member_id}
    return await client.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": query, "variables": variables}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": (name, content, content_type)},
        headers=_auth(as_),
    )


async def upload(client: httpx.AsyncClient, content: Any, **kwargs: Any) -> dict[str, Any]:
    """Return the uploadReceipt payload; fail on top-level errors."""
    response = await upload_raw(client, content, **kwargs)
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body["errors"]
    return body["data"]["uploadReceipt"]


async def new_expense(client: httpx.AsyncClient, as_: str, amount: str = "12.50") -> str:
    """Create a DRAFT expense in GBP as ``as_`` and return its id."""
    data = await gql(
        client,
        """mutation($input: CreateExpenseInput!) {
          createExpense(input: $input) { expense { id } userErrors { code message } }
        }""",
        {
            "input": {
                "amount": {"amount": amount, "currency": "GBP"},
                "spentAt": "2026-06-01T10:00:00+00:00",
                "merchantName": "Stationers",
            }
        },
        as_=as_,
    )
    assert data["createExpense"]["userErrors"] == [], data
    return data["createExpense"]["expense"]["id"]


def error_codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]
