"""`expensegraph serve` offers websocket compression only when told to (EXPENSEGRAPH_WS_COMPRESSION).

A subscription server sends the same small message to many sockets; with
permessage-deflate it compresses it once per socket, most of its CPU per message
(bench/RESULTS.md). Off by default; a client offering it gets plain frames.
"""

from pathlib import Path

import pytest
import websockets

from tests.conftest import SETTINGS
from tests.serving import serving


@pytest.mark.parametrize(("setting", "negotiated"), [(None, False), ("1", True)])
async def test_websocket_compression_is_negotiated_only_when_enabled(
    tmp_path: Path, database_url: str, setting: str | None, negotiated: bool
) -> None:
    env = {"DATABASE_URL": database_url, "EXPENSEGRAPH_JWT_SECRET": SETTINGS.jwt_secret,
           "EXPENSEGRAPH_DATA_DIR": str(tmp_path)}  # fmt: skip
    if setting is not None:
        env["EXPENSEGRAPH_WS_COMPRESSION"] = setting
    with serving(tmp_path, env) as server:
        async with websockets.connect(  # the client offers permessage-deflate
            f"ws://127.0.0.1:{server.port}/graphql",
            subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
            compression="deflate",
        ) as ws:
            assert ws.response is not None
            extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "")
    assert ("permessage-deflate" in extensions) is negotiated
