"""The frame app/ws_frames.py builds once for a group is the frame websockets would send."""

import pytest
from websockets.frames import Frame, Opcode

from app.ws_frames import frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_a_prebuilt_frame_is_the_frame_websockets_serialises(size: int) -> None:
    text = ("é" + "x" * size)[:size]  # multi-byte characters: the length counts bytes
    expected = Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
    assert frame(text) == expected
