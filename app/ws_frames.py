"""One websocket frame for a message many sockets get, written past the ASGI send path.

A group sends the same text to every member's socket (app/groups.py). Through ASGI, each
socket's send builds that frame anew (websockets' ``Frame.serialize``) behind starlette's
and uvicorn's checks: most of the server's CPU per message after the write itself
(bench/RESULTS.md, "Frames built once"). A server's frames are not masked, so without
compression the frame's bytes are the same for every socket: :func:`frame` makes them
once, and :func:`direct_writer` writes them to a socket's transport.

This reaches into uvicorn's websockets-sansio protocol (the one uvicorn picks when
``websockets`` is installed). Anything else (another server or protocol class, a
negotiated extension such as permessage-deflate, a socket closing or whose buffer is
over uvicorn's high-water mark) gets no direct writer, or a False from it, and the
message takes the ASGI path with its flow control: the slow-subscriber rule still holds.
``tests/graphql/test_subscription_groups.py`` fails when uvicorn changes underneath.
"""

import struct
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

TEXT_FIN = 0x81  # FIN, opcode 1 (text); a server's frames carry no mask


class Written:
    """How many frames went out by a direct writer (for the tests and the benchmark)."""

    frames = 0


def frame(text: str) -> bytes:
    """Return the bytes of one unmasked, uncompressed text frame holding ``text``."""
    data = text.encode()
    size = len(data)
    if size < 126:
        return bytes((TEXT_FIN, size)) + data
    if size < 1 << 16:
        return struct.pack("!BBH", TEXT_FIN, 126, size) + data
    return struct.pack("!BBQ", TEXT_FIN, 127, size) + data


def direct_writer(websocket: Any) -> Callable[[bytes], bool] | None:
    """Return a writer of whole frames to ``websocket`` (starlette's), or None: use ASGI.

    The writer returns False, writing nothing, when the socket is closing or its buffer
    is full: the caller then sends the text through ASGI, which waits for room.
    """
    protocol = getattr(getattr(websocket, "_send", None), "__self__", None)
    if type(protocol) is not WebSocketsSansIOProtocol or protocol.conn.extensions:
        return None
    transport, writable = protocol.transport, protocol.writable

    def write(data: bytes) -> bool:
        if protocol.close_sent or protocol.disconnected or not writable.is_set():
            return False
        if transport.is_closing():
            return False
        transport.write(data)
        Written.frames += 1
        return True

    return write
