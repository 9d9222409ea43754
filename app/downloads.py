"""Receipt downloads: signed, expiring links served by this service.

``GET /receipts/{receipt id}/download?business=..&expires=..&signature=..`` needs no
credentials: the link is the credential. The signature is HMAC-SHA256 over the business,
the receipt and the expiry, so a link works for that one file until it expires; any
change to it (another receipt, another business, a later expiry) is refused.
"""

import hashlib
import hmac
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import quote, urlencode

import anyio.to_thread
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Scope

from app.errors import UNAVAILABLE_ERRORS
from app.settings import Settings
from db.engine import RequestDb
from db.receipt_storage import LocalStorage, ReceiptStorage
from db.writes import receipts as receipt_writes
from resolvers.errors import DomainError, ErrorCode
from resolvers.ids import decode_id, encode_id

log = logging.getLogger("expensegraph.downloads")

DOWNLOAD_PATH = "/receipts/{receipt_id}/download"
_PURPOSE = b"expensegraph receipt download v1"
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class LinkSigner:
    """Makes and checks download links for one signing key and lifetime."""

    key: bytes
    ttl_s: int

    def signature(self, business_id: int, receipt_id: int, expires: int) -> str:
        """Return the hex HMAC-SHA256 binding a business, a receipt and an expiry."""
        message = b"\x00".join([_PURPOSE, b"%d" % business_id, b"%d" % receipt_id, b"%d" % expires])
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def url(
        self, base_url: str, business_id: int, receipt_id: int, *, now: float | None = None
    ) -> str:
        """Return an absolute link valid for ``ttl_s`` seconds from ``now``."""
        expires = int(now if now is not None else time.time()) + self.ttl_s
        path = DOWNLOAD_PATH.format(receipt_id=encode_id("Receipt", receipt_id))
        query = urlencode(
            {
                "business": encode_id("Business", business_id),
                "expires": expires,
                "signature": self.signature(business_id, receipt_id, expires),
            }
        )
        return f"{base_url.rstrip('/')}{path}?{query}"

    def valid(self, business_id: int, receipt_id: int, expires: int, signature: str) -> bool:
        """Return True when ``signature`` was made by this key for exactly these values."""
        expected = self.signature(business_id, receipt_id, expires)
        return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def signing_key(settings: Settings) -> bytes:
    """Return the link-signing key: its own secret, else one derived from the JWT secret."""
    if settings.receipt_url_secret:
        return settings.receipt_url_secret.encode()
    if not settings.jwt_secret:
        raise ValueError("Set EXPENSEGRAPH_RECEIPT_URL_SECRET or EXPENSEGRAPH_JWT_SECRET.")
    # a separate key per purpose: a link signature can never be replayed as anything else
    return hmac.new(settings.jwt_secret.encode(), _PURPOSE, hashlib.sha256).digest()


@dataclass(frozen=True)
class ReceiptDownloads:
    """What uploads and links need, kept in the app's state."""

    storage: ReceiptStorage
    signer: LinkSigner

    def link(self, scope: Scope, business_id: int, receipt_id: int) -> str:
        """Return a fresh link to a receipt on the host the request of ``scope`` used.

        A request's ``ReceiptFiles.download_url`` (app/endpoint.py): the base URL is worked
        out only when a link is asked for, as most requests ask for none and parsing it
        costs more than the rest of a small query's edge.
        """
        return self.signer.url(str(HTTPConnection(scope).base_url), business_id, receipt_id)


def mount_receipts(app: Starlette, settings: Settings) -> None:
    """Serve receipt downloads on ``app`` and keep storage and signer in its state."""
    app.state.receipts = ReceiptDownloads(
        storage=LocalStorage(settings.receipt_root),
        signer=LinkSigner(key=signing_key(settings), ttl_s=settings.receipt_url_ttl_s),
    )
    app.router.routes.extend(routes())


def _refused(message: str, code: ErrorCode, status: int) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code.value}}]}
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _link_values(request: Request) -> tuple[int, int, int, str] | None:
    """Return (business id, receipt id, expires, signature) of a well-formed link."""
    params = request.query_params
    try:
        receipt_type, receipt_id = decode_id(request.path_params["receipt_id"])
        business_type, business_id = decode_id(params["business"])
        expires = int(params["expires"])
        signature = params["signature"]
    except (DomainError, KeyError, ValueError):
        return None
    if (receipt_type, business_type) != ("Receipt", "Business"):
        return None
    return business_id, receipt_id, expires, signature


async def download(request: Request) -> Response:
    """Stream a receipt's file to the holder of a valid, unexpired link."""
    downloads: ReceiptDownloads = request.app.state.receipts
    values = _link_values(request)
    if values is None or not downloads.signer.valid(*values):
        return _refused("This download link is not valid.", ErrorCode.FORBIDDEN, 403)
    business_id, receipt_id, expires, _ = values
    if expires < time.time():
        return _refused(
            "This download link has expired; read Receipt.downloadUrl again for a fresh one.",
            ErrorCode.FORBIDDEN,
            403,
        )
    db = RequestDb(request.app.state.engine)
    try:
        row = await receipt_writes.receipt(db=db, business_id=business_id, receipt_id=receipt_id)
    except UNAVAILABLE_ERRORS as error:
        log.warning("receipt download: database unavailable: %r", error)
        return _refused("The database is unavailable; retry shortly.", ErrorCode.UNAVAILABLE, 503)
    finally:
        await db.close()
    if row is None:
        return _refused("No receipt with that id.", ErrorCode.NOT_FOUND, 404)
    try:
        file = await anyio.to_thread.run_sync(downloads.storage.open, row.storage_key)
    except FileNotFoundError:
        log.error(
            "receipt %s of business %s: file %s missing", row.id, business_id, row.storage_key
        )
        return _refused("The file of this receipt is not available.", ErrorCode.NOT_FOUND, 404)
    return StreamingResponse(
        _chunks(file),
        media_type=row.content_type,
        headers={
            "Content-Length": str(row.size_bytes),
            "Content-Disposition": content_disposition(row.file_name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
        background=BackgroundTask(file.close),
    )


def _chunks(file: BinaryIO) -> Iterator[bytes]:
    # a sync iterator: Starlette reads it in a worker thread
    while chunk := file.read(_CHUNK):
        yield chunk


def content_disposition(file_name: str) -> str:
    """Return an ``attachment`` header with an ASCII fallback name and the UTF-8 one (RFC 6266)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%' else "_" for c in file_name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def routes() -> list[Route]:
    """Return the download routes (the app's state must hold a ReceiptDownloads)."""
    return [Route(DOWNLOAD_PATH, download, methods=["GET"], name="receipt_download")]
