"""app/commands/serve.py: the HTTP protocol `expensegraph serve` runs, on real sockets."""

import asyncio
import socket
import struct
from typing import Any

import pytest

from app.commands.serve import ONE_WRITE_HTTP
from tests.serving import free_port, in_task

# struct tcp_info (linux/tcp.h): tcpi_data_segs_in, the segments with data a socket received
DATA_SEGS_IN = 152


async def app(scope: Any, receive: Any, send: Any) -> None:
    """Answer ``/small`` with one body, ``/streamed`` with 1 MiB in chunks over several turns."""
    if scope["type"] != "http":
        return
    await receive()
    if scope["path"] == "/small":
        body = b'{"data":{"__typename":"Query"}}'
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    chunk = bytes(range(256)) * 1024  # 256 KiB
    headers = [(b"content-length", b"%d" % (4 * len(chunk)))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for i in range(4):
        await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": chunk, "more_body": i < 3})


async def _response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """Return the head and the body of one response (its Content-Length long)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    return head, await reader.readexactly(length)


def _data_segments_in(writer: asyncio.StreamWriter) -> int:
    sock = writer.get_extra_info("socket")
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    if len(info) < DATA_SEGS_IN + 4:
        pytest.skip("this kernel's tcp_info has no tcpi_data_segs_in")
    return int(struct.unpack_from("I", info, DATA_SEGS_IN)[0])


async def _segments_of_small_answers(http: str, answers: int = 3) -> list[int]:
    """Return how many segments with data each of ``answers`` small responses came in."""
    port = free_port()
    async with in_task(app, port, http=http):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            segments = []
            for _ in range(answers):  # one connection, kept alive
                before = _data_segments_in(writer)
                writer.write(b"GET /small HTTP/1.1\r\nHost: test\r\n\r\n")
                head, body = await _response(reader)
                assert (
                    head.startswith(b"HTTP/1.1 200") and body == b'{"data":{"__typename":"Query"}}'
                )
                segments.append(_data_segments_in(writer) - before)
            return segments
        finally:
            writer.close()


async def test_a_response_leaves_in_one_segment_where_uvicorns_own_protocol_sends_two() -> None:
    assert await _segments_of_small_answers(ONE_WRITE_HTTP) == [1, 1, 1]
    # the reason for it: uvicorn writes the head, then the body (if it ever writes them
    # together, this fails and the protocol can go)
    assert await _segments_of_small_answers("httptools") == [2, 2, 2]


async def test_a_body_written_over_several_turns_arrives_whole_then_the_next_answer() -> None:
    port = free_port()
    async with in_task(app, port, http=ONE_WRITE_HTTP):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"GET /streamed HTTP/1.1\r\nHost: test\r\n\r\n")
            _, body = await _response(reader)
            assert body == bytes(range(256)) * 1024 * 4
            writer.write(b"GET /small HTTP/1.1\r\nHost: test\r\n\r\n")
            head, _ = await _response(reader)
            assert head.startswith(b"HTTP/1.1 200")
        finally:
            writer.close()
