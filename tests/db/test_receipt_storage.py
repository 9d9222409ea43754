"""LocalStorage: keys, round trips, and atomic writes (a crash leaves no visible file)."""

import os
from pathlib import Path

import pytest

from db.receipt_storage import LocalStorage, StorageKeyError, content_key

SHA = "ab" + "0" * 62


def _all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_put_open_exists_round_trip(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "receipts")
    key = content_key(7, SHA)
    assert key == f"7/ab/{SHA}"
    assert not storage.exists(key)
    storage.put(key, b"%PDF-1.7 hello")
    assert storage.exists(key)
    with storage.open(key) as file:
        assert file.read() == b"%PDF-1.7 hello"
    storage.put(key, b"%PDF-1.7 replaced")
    with storage.open(key) as file:
        assert file.read() == b"%PDF-1.7 replaced"
    assert _all_files(tmp_path) == [f"receipts/7/ab/{SHA}"]  # no temp files left behind


def test_large_file_is_written_whole(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    data = os.urandom(3 * 1024 * 1024 + 17)  # several write chunks
    storage.put("1/big", data)
    with storage.open("1/big") as file:
        assert file.read() == data


def test_missing_key_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        LocalStorage(tmp_path).open("1/none")


@pytest.mark.parametrize(
    "key", ["", "/etc/passwd", "../escape", "1/../../escape", "1/.hidden", "a//b", "1/a b", "1\\x"]
)
def test_keys_cannot_leave_the_root(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path / "root")
    with pytest.raises(StorageKeyError):
        storage.put(key, b"x")
    with pytest.raises(StorageKeyError):
        storage.exists(key)
    assert not (tmp_path / "escape").exists()


def test_crash_mid_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = LocalStorage(tmp_path)
    real_write = os.write
    calls = 0

    def write_then_crash(fd: int, data: bytes | memoryview) -> int:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write_then_crash)
    with pytest.raises(OSError, match="No space"):
        storage.put("1/ab/partial", os.urandom(3 * 1024 * 1024))
    assert calls == 2  # it did crash half way through
    assert not storage.exists("1/ab/partial")
    assert _all_files(tmp_path) == []  # neither the final file nor the temp file


def test_crash_before_rename_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("1/doc", b"old complete content")

    def fsync_fails(fd: int) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "fsync", fsync_fails)
    with pytest.raises(OSError, match="I/O error"):
        storage.put("1/doc", b"new content that never became durable")
    monkeypatch.undo()
    with storage.open("1/doc") as file:
        assert file.read() == b"old complete content"
    assert _all_files(tmp_path) == ["1/doc"]


def test_temp_files_are_never_stored_objects(tmp_path: Path) -> None:
    # a process killed mid-write cannot clean up: its temp file must not count as stored
    storage = LocalStorage(tmp_path)
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / ".partial-abc123").write_bytes(b"%PDF-half")
    with pytest.raises(StorageKeyError):
        storage.exists("1/.partial-abc123")
    with pytest.raises(StorageKeyError):
        storage.open("1/.partial-abc123")
