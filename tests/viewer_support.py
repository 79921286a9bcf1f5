"""Shared pieces of the viewer tests: fake models and a window on a manual clock.

The fixtures (``index_clip``, ``other_clip``, ``settings``, ``make_viewer`` and the
autouse no-thread-left guard) live in ``tests/conftest.py``, so that session-scoped ones
are built once per run and the guard covers every test.
"""
from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from media_helpers import read_frame_index


def quadrant_map(quadrant: str = "tl", size: int = 8) -> np.ndarray:
    """A ``size`` x ``size`` map, 0.95 in one quadrant (tl/tr/bl/br), 0.05 elsewhere."""
    m = np.full((size, size), 0.05, np.float32)
    h = size // 2
    rows = slice(0, h) if quadrant[0] == "t" else slice(h, size)
    cols = slice(0, h) if quadrant[1] == "l" else slice(h, size)
    m[rows, cols] = 0.95
    return m


class FakeLocalizer:
    """Quacks like ``model_core.inference.Localizer`` (the model protocol) with no network.

    ``embed_audio`` returns one row per window: (RMS of the window, centre sample mean);
    ``predict`` returns ``map_fn(frame, emb_row)`` for each frame (default: hot in
    ``quadrant``), after waiting on ``gate`` when one is given (a slow model).
    """

    def __init__(self, name: str, head: str = "dnm", quadrant: str = "tl", map_fn=None,
                 gate: threading.Event | None = None, map_size: int = 8, image_size: int = 64):
        self.name, self.head = name, head
        self.classes = ["a", "b"]
        self.device = "cpu"
        self.map_size, self.image_size = map_size, image_size
        self.map_fn = map_fn or (lambda frame, emb: quadrant_map(quadrant, map_size))
        self.gate = gate
        self.entered = threading.Event()
        self.predicted: list[int] = []   # batch sizes, one per predict call
        self.frames_seen: list[int] = []  # frame indices read from the pixels, in call order
        self.embedded = 0                # windows embedded

    # the rest of the model protocol (model_core.models.protocol.MapModel): a DNM-like head
    family, map_kind, tau, audio_window_s, sample_rate = "dnm", "sigmoid", None, 1.0, 16000

    def crop(self, width, height):
        return (0.0, 0.0, float(width), float(height))

    def predict_audios(self, frames, embs, audio_index=None):
        return [self.predict(frames, e, audio_index) for e in embs]

    def warmup(self, batch=None):
        pass

    def embed_audio(self, windows: np.ndarray):
        import torch

        w = np.asarray(windows, np.float32)
        self.embedded += len(w)
        # a tensor, as the protocol says (the engine has no branch for fakes)
        return torch.from_numpy(np.stack([np.sqrt(np.mean(w.astype(np.float64) ** 2, axis=1)),
                                          w.mean(axis=1)], axis=1))

    def predict(self, frames, emb, audio_index=None):
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(20), "test never released the fake model"
        frames = np.asarray(frames)
        assert frames.shape[1:] == (self.image_size, self.image_size, 3), frames.shape
        idx = np.arange(len(frames)) if audio_index is None else np.asarray(audio_index)
        emb = np.asarray(emb)
        maps = np.stack([self.map_fn(f, emb[i]) for f, i in zip(frames, idx)]).astype(np.float32)
        for f in frames:
            try:
                self.frames_seen.append(read_frame_index(f))
            except ValueError:
                self.frames_seen.append(-1)
        self.predicted.append(len(frames))
        return SimpleNamespace(maps=maps, p_avc=maps.reshape(len(maps), -1).max(axis=1),
                               class_probs=np.full((len(maps), 2), 0.5, np.float32))


class FakeFactory:
    """``localizer_factory``: the fake registered for a path's stem, or an error to raise."""

    def __init__(self, **fakes):
        self.fakes = fakes

    def __call__(self, path):
        obj = self.fakes[Path(path).stem]
        if isinstance(obj, Exception):
            raise obj
        return obj


class Viewer(SimpleNamespace):
    """A window on a manual clock: ``win``, ``c`` (controller), ``clock``, ``qtbot``.

    Waits are generous (the machine running the suite may be busy); they end as soon as
    the condition holds.
    """

    def frame_is(self, index: int) -> bool:
        return self.c.shown_index == index and self.c.image is not None

    def wait_frame(self, index: int, timeout: int = 15000) -> None:
        self.qtbot.waitUntil(lambda: self.frame_is(index), timeout=timeout)

    def wait_maps(self, index: int, timeout: int = 30000) -> None:
        self.qtbot.waitUntil(lambda: bool(self.c.maps.models) and self.c.maps.ready_at(index),
                             timeout=timeout)
