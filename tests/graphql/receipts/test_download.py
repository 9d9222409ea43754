"""Receipt.downloadUrl and GET /receipts/{id}/download: signed, expiring, one business."""

import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from app.downloads import LinkSigner, ReceiptDownloads, content_disposition, signing_key
from app.settings import Settings
from resolvers.ids import decode_id, encode_id
from tests.conftest import SETTINGS, gql
from tests.graphql.receipts.conftest import JPEG, PDF, Shop, unique, upload

RECEIPT = "query($id: ID!) { node(id: $id) { ... on Receipt { downloadUrl } } }"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _with(url: str, **changes: str) -> str:
    """Return ``url``'s path with some query parameters changed."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return f"{parts.path}?{urlencode(query)}"


def _row_id(global_id: str) -> int:
    return decode_id(global_id)[1]


def _signer(shop: Shop) -> LinkSigner:
    downloads: ReceiptDownloads = shop.app.state.receipts
    return downloads.signer


async def _uploaded(shop: Shop, content: bytes, name: str = "lunch.pdf") -> dict[str, Any]:
    payload = await upload(shop.client, content, as_=shop.as_("employee"), name=name)
    return payload["receipt"]


def _refusal(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == code
    return error["message"]


async def test_download_url_serves_the_file(shop: Shop) -> None:
    content = unique(PDF)
    receipt = await _uploaded(shop, content, name="Rechnung März.pdf")
    url = receipt["downloadUrl"]
    assert url.startswith(f"http://test/receipts/{receipt['id']}/download?")
    response = await shop.client.get(_path(url))
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-length"] == str(len(content))
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"Rechnung M_rz.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"
    )
    assert "no-store" in response.headers["cache-control"]


async def test_each_read_signs_a_fresh_link_for_the_configured_lifetime(shop: Shop) -> None:
    receipt = await _uploaded(shop, unique(JPEG), name="a.jpg")
    data = await gql(shop.client, RECEIPT, {"id": receipt["id"]}, as_=shop.as_("finance"))
    expires = int(parse_qs(urlsplit(data["node"]["downloadUrl"]).query)["expires"][0])
    assert abs(expires - (time.time() + 15 * 60)) < 60
    response = await shop.client.get(_path(data["node"]["downloadUrl"]))
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"


async def test_an_expired_link_is_refused(shop: Shop) -> None:
    receipt = await _uploaded(shop, unique(PDF))
    row_id = _row_id(receipt["id"])
    url = _signer(shop).url("http://test", shop.biz.id, row_id, now=time.time() - 16 * 60)
    message = _refusal(await shop.client.get(_path(url)), 403, "FORBIDDEN")
    assert "expired" in message


async def test_a_tampered_link_is_refused(shop: Shop) -> None:
    receipt = await _uploaded(shop, unique(PDF))
    url = receipt["downloadUrl"]
    signature = parse_qs(urlsplit(url).query)["signature"][0]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    later = str(int(time.time()) + 10 * 24 * 3600)
    for path in (
        _with(url, signature=flipped),
        _with(url, signature=signature.upper()),
        _with(url, signature=""),
        _with(url, expires=later),  # extending a link needs a new signature
        _with(url, expires="not-a-number"),
        _with(url, business="garbage"),
        urlsplit(url).path,  # no parameters at all
    ):
        _refusal(await shop.client.get(path), 403, "FORBIDDEN")


async def test_a_link_opens_only_its_own_receipt(shop: Shop) -> None:
    mine = await _uploaded(shop, unique(PDF))
    theirs = await _uploaded(shop, unique(PDF))
    url = mine["downloadUrl"]
    swapped = _with(url).replace(mine["id"], theirs["id"])
    _refusal(await shop.client.get(swapped), 403, "FORBIDDEN")
    garbage = _with(url).replace(mine["id"], "not-an-id")
    _refusal(await shop.client.get(garbage), 403, "FORBIDDEN")


async def test_a_link_opens_only_its_own_business(shop: Shop) -> None:
    ours = await _uploaded(shop, unique(PDF))
    payload = await upload(shop.client, unique(PDF), as_=shop.as_("employee", shop.other))
    theirs = payload["receipt"]
    # a link signed for business A, pointed at business B's receipt
    url = ours["downloadUrl"]
    moved = _with(url, business=encode_id("Business", shop.other.id)).replace(
        ours["id"], theirs["id"]
    )
    _refusal(await shop.client.get(moved), 403, "FORBIDDEN")
    # a genuine signature for business A naming B's receipt: not a receipt of A
    theirs_row = _row_id(theirs["id"])
    forged = _signer(shop).url("http://test", shop.biz.id, theirs_row)
    _refusal(await shop.client.get(_path(forged)), 404, "NOT_FOUND")
    # and B's own link still works
    assert (await shop.client.get(_path(theirs["downloadUrl"]))).status_code == 200


async def test_unknown_receipt_and_missing_file_are_404(shop: Shop) -> None:
    unknown = _signer(shop).url("http://test", shop.biz.id, 2**62)
    _refusal(await shop.client.get(_path(unknown)), 404, "NOT_FOUND")
    # rows from the test data set point at storage keys no file was ever written to
    seeded = _signer(shop).url("http://test", shop.biz.id, shop.biz.receipt_ids[0])
    _refusal(await shop.client.get(_path(seeded)), 404, "NOT_FOUND")


async def test_the_signing_key_and_lifetime_come_from_settings(tmp_path: Path) -> None:
    own = Settings(jwt_secret="a" * 40, receipt_url_secret="s" * 40)
    derived = Settings(jwt_secret="a" * 40)
    assert signing_key(own) == b"s" * 40
    assert signing_key(derived) not in (b"a" * 40, signing_key(own))
    assert len(signing_key(derived)) == 32
    with pytest.raises(ValueError, match="SECRET"):
        signing_key(Settings())
    short = LinkSigner(key=b"k" * 32, ttl_s=60)
    url = short.url("https://api.example/", 1, 2, now=1000)
    assert url.startswith("https://api.example/receipts/")
    assert parse_qs(urlsplit(url).query)["expires"] == ["1060"]
    env = {"EXPENSEGRAPH_DATA_DIR": str(tmp_path), "EXPENSEGRAPH_JWT_SECRET": "j" * 40}
    settings = Settings.from_env(env)
    assert settings.receipts_dir == tmp_path / "receipts"
    assert settings.receipt_url_ttl_s == 15 * 60
    settings = Settings.from_env(
        env
        | {
            "EXPENSEGRAPH_RECEIPTS_DIR": str(tmp_path / "elsewhere"),
            "EXPENSEGRAPH_RECEIPT_URL_TTL_SECONDS": "120",
            "EXPENSEGRAPH_RECEIPT_URL_SECRET": "r" * 40,
        }
    )
    assert settings.receipts_dir == tmp_path / "elsewhere"
    assert (settings.receipt_url_ttl_s, settings.receipt_url_secret) == (120, "r" * 40)
    assert SETTINGS.receipts_dir is None  # the default: <data_dir>/receipts


def test_content_disposition_never_breaks_the_header() -> None:
    header = content_disposition('odd "name"\\%.pdf')
    assert header.startswith('attachment; filename="odd _name___.pdf"; ')
    assert header.endswith("filename*=UTF-8''odd%20%22name%22%5C%25.pdf")
