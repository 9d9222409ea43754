"""Opaque Relay global ids: base64 of ``Type:id``."""

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any

from db.nodes import NODE_TYPES
from resolvers.errors import bad_input

_URLSAFE = bytes.maketrans(b"+/", b"-_")
# global ids remembered per type by id_column, and decoded ones, at most (about 1 MB each)
KNOWN_IDS = 8192


def urlsafe_b64(raw: bytes) -> str:
    """Return ``raw`` in URL-safe base64 without padding (ids and cursors, once per row)."""
    # what base64.urlsafe_b64encode does, without its two Python frames
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


def encode_id(type_name: str, id_: int) -> str:
    """Return the global id of row ``id_`` of ``type_name``."""
    return urlsafe_b64(f"{type_name}:{id_}".encode())


def id_column(type_name: str) -> Callable[[Sequence[Any]], list[str]]:
    """Return a function giving the global ids of many rows of ``type_name`` (``row.id``).

    :func:`encode_id` in one loop: a list page makes an id per row and object. The ids
    of the type met lately are remembered (the members, teams and cards every page names
    again; up to KNOWN_IDS, then forgotten at once): a lookup instead of six calls.
    """
    prefix = f"{type_name}:"
    known: dict[int, str] = {}

    def encoded(id_: int) -> str:
        if len(known) >= KNOWN_IDS:
            known.clear()
        known[id_] = found = urlsafe_b64(f"{prefix}{id_}".encode())
        return found

    def ids(rows: Sequence[Any]) -> list[str]:
        get = known.get
        return [get(row.id) or encoded(row.id) for row in rows]

    return ids


# global ids decoded lately (a detail page is asked for again and again), KNOWN_IDS at most
_decoded: dict[str, tuple[str, int]] = {}


def decode_id(global_id: str) -> tuple[str, int]:
    """Return (type name, row id) of a global id; BAD_USER_INPUT when it is not one of ours."""
    found = _decoded.get(global_id)
    if found is not None:
        return found
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        id_ = int(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_input(f"Malformed id {global_id[:40]!r}.") from None
    # one spelling per object: base64 decoding tolerates extra padding and junk characters
    if type_name not in NODE_TYPES or not 0 < id_ < 2**63 or encode_id(type_name, id_) != global_id:
        raise bad_input(f"Malformed id {global_id[:40]!r}.")
    if len(_decoded) >= KNOWN_IDS:
        _decoded.clear()
    _decoded[global_id] = found = (type_name, id_)  # only ids of ours: at most ~30 characters
    return found


def decode_ids_of(
    type_name: str, global_ids: Sequence[str] | None, *, field: str
) -> tuple[int, ...] | None:
    """Return the row ids of ``global_ids``, all of which must be ``type_name`` ids."""
    if global_ids is None:
        return None
    if len(global_ids) > 100:
        raise bad_input("At most 100 ids per filter.", field=field)
    ids = []
    for global_id in global_ids:
        found, id_ = decode_id(global_id)
        if found != type_name:
            raise bad_input(f"{field} takes {type_name} ids.", field=field)
        ids.append(id_)
    return tuple(ids)
