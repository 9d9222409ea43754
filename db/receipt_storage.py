"""Where receipt files live: a small key -> bytes interface and its local-directory backend.

Keys are chosen by the application (``<business id>/<sha256[:2]>/<sha256>``), never by
clients; they are still checked so that no key can name a path outside the root.
Methods are blocking: callers on the event loop run them in a worker thread.
"""

import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

# segments of letters, digits, '_', '-' and '.', not starting with a dot (no '..', no hidden files)
_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*")
_TEMP_PREFIX = ".partial-"
_CHUNK = 1024 * 1024


class StorageKeyError(ValueError):
    """A key that cannot name a stored object (empty, absolute, '..', odd characters)."""


class ReceiptStorage(Protocol):
    """Receipt files by key. ``put`` is atomic: a reader sees the whole file or none."""

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing what was there."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Return the stored file for reading; FileNotFoundError when there is none."""
        ...

    def exists(self, key: str) -> bool:
        """Return True when a complete file is stored under ``key``."""
        ...


def content_key(business_id: int, sha256: str) -> str:
    """Return the key of a business's file with this content (one object per content)."""
    return f"{business_id}/{sha256[:2]}/{sha256}"


class LocalStorage:
    """Files in a local directory, written to a temp file, fsynced, then renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key) or len(key) > 512:
            raise StorageKeyError(f"Not a storage key: {key[:80]!r}")
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically (the same directory keeps rename atomic)."""
        path = self._path(key)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX)
        try:
            try:
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, path)
        except BaseException:
            # the final name never pointed at a partial file; remove the partial one
            Path(temp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)  # make the rename itself durable

    def open(self, key: str) -> BinaryIO:
        """Return the stored file opened for binary reading."""
        return self._path(key).open("rb")

    def exists(self, key: str) -> bool:
        """Return True when ``key`` names a stored file."""
        return self._path(key).is_file()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view[:_CHUNK])
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
