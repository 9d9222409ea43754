"""Receipt file content: its type from magic bytes, a safe file name, a size-capped read, links.

Nothing a client says about a file is trusted: the type comes from the first bytes, the
name is reduced to a harmless base name, and reading stops one byte past the limit.
"""

import re
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from db.permissions import Permission
from db.rows import ReceiptRow
from resolvers.context import Context, ReceiptFiles

MAX_RECEIPT_BYTES = 10 * 1024 * 1024
MAX_FILE_NAME = 120
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class FileType:
    """An accepted receipt format: its media type and file name extensions (canonical first)."""

    content_type: str
    extensions: tuple[str, ...]


PDF = FileType("application/pdf", ("pdf",))
JPEG = FileType("image/jpeg", ("jpg", "jpeg", "jpe"))
PNG = FileType("image/png", ("png",))
WEBP = FileType("image/webp", ("webp",))
HEIC = FileType("image/heic", ("heic", "heif"))
HEIF = FileType("image/heif", ("heif", "heic"))

# ISO BMFF brands (ISO/IEC 23008-12): HEVC-coded images, and the generic image/sequence ones
HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"mif2"})
AVIF_BRANDS = frozenset({b"avif", b"avis"})
SNIFF_BYTES = 256


class Upload(Protocol):
    """What a multipart file part offers (Starlette's UploadFile)."""

    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...


def sniff(head: bytes) -> FileType | None:
    """Return the format of a file from its first bytes, None when it is not one we accept."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return _heif(head)


def _heif(head: bytes) -> FileType | None:
    """HEIF files open with an ``ftyp`` box: size, 'ftyp', major brand, version, brands."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[:4], "big")
    if size < 16 or size % 4 or size > len(head):
        return None
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, size, 4)}
    if major in HEIC_BRANDS:
        return HEIC
    if major not in HEIF_BRANDS or compatible & AVIF_BRANDS:
        return None  # AVIF and video also use ISO BMFF; they are not receipts we accept
    return HEIC if compatible & HEIC_BRANDS else HEIF


_RESERVED = re.compile(r'[<>:"|?*;]')
_EXTENSION = re.compile(r"[A-Za-z0-9]{1,5}")


def safe_file_name(raw: str | None, file_type: FileType) -> str:
    """Return a harmless name: base name only, no control characters, capped, right extension.

    The extension is kept when it fits the detected type and replaced by the canonical
    one otherwise (a PDF called ``scan.png`` is stored as ``scan.pdf``).
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]  # basename, for POSIX and Windows paths alike
    # C* covers NUL, newlines, DEL and invisible format characters such as bidi overrides
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C"))
    name = " ".join(_RESERVED.sub("_", name).split()).strip(" .")
    stem, dot, extension = name.rpartition(".")
    if not dot or not _EXTENSION.fullmatch(extension):
        stem, extension = name, ""  # "v1.final report" has no extension
    extension = extension.lower()
    if extension not in file_type.extensions:
        extension = file_type.extensions[0]
    stem = stem[: MAX_FILE_NAME - len(extension) - 1].strip(" .") or "receipt"
    return f"{stem}.{extension}"


async def read_capped(upload: Upload, limit: int) -> bytes | None:
    """Return the whole upload, or None as soon as it is longer than ``limit`` bytes."""
    buffer = bytearray()
    while chunk := await upload.read(min(_CHUNK, limit + 1 - len(buffer))):
        buffer += chunk
        if len(buffer) > limit:
            return None
    return bytes(buffer)


def files_of(ctx: Context) -> ReceiptFiles:
    """Return the request's receipt storage and link maker (the app always sets them)."""
    if ctx.files is None:
        raise RuntimeError("receipt files are not configured for this request")
    return ctx.files


def download_url(ctx: Context, receipt: ReceiptRow) -> str:
    """Return a fresh signed link to a visible receipt's file (needs ``receipts:read``)."""
    principal, _ = ctx.require(Permission.RECEIPTS_READ)
    return files_of(ctx).download_url(principal.business_id, receipt.id)
