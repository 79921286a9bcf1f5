"""The display's frame decoder announces every frame the GUI asked for and did not get.

A regression: a frame requested while the decoder was reading it ahead (prefetch) landed
in the cache before the decoder read the request, and the decoder, finding it cached,
never emitted ``frame_ready``: the view stayed on the previous frame (seen as a flaky
playback test at speed 2).
"""
from __future__ import annotations

import threading

import numpy as np

from avsol_viewer.playback.frame_source import FrameSource


class GatedReader:
    """Frames of 2 x 2 pixels holding their index; reading ``gate_index`` waits for ``gate``."""

    frame_count = 10

    def __init__(self, gate_index: int):
        self.gate_index = gate_index
        self.gate = threading.Event()
        self.reading_gated = threading.Event()

    def read_at_index(self, index: int) -> np.ndarray:
        if index == self.gate_index:
            self.reading_gated.set()
            assert self.gate.wait(10)
        return np.full((2, 2, 3), index, np.uint8)

    def close(self) -> None:
        pass


def test_a_frame_requested_during_its_prefetch_is_announced(qtbot):
    reader = GatedReader(gate_index=2)
    source = FrameSource(reader)
    got: list[int] = []
    source.frame_ready.connect(lambda i, img: got.append(i))
    source.start()
    try:
        assert source.request(1, prefetch=True) is None
        qtbot.waitUntil(lambda: 1 in got, timeout=5000)
        assert reader.reading_gated.wait(5)  # the decoder is reading frame 2 ahead
        assert source.request(2, prefetch=True) is None  # not cached yet: announced later
        reader.gate.set()
        qtbot.waitUntil(lambda: 2 in got, timeout=5000)
        assert source.cached(2) is not None
    finally:
        reader.gate.set()
        source.request_stop()
        source.wait(5000)
