"""The tests' fakes: models, each of which implements the WHOLE model protocol
(:class:`model_core.models.protocol.MapModel`), so production code needs no branch that
exists only for a fake (``tests/test_fakes.py`` holds every fake to the protocol).

- :class:`FakeModel`: a DNM-like head at the map size of the frame; the evaluation tests'
  head, whose maps come from their own ``localize`` stand-in.
- :class:`FakeLocalizer`: a head the viewer and the engine run for real: its embedding is
  the window's RMS and mean, its map a quadrant (or ``map_fn``), optionally gated (a slow
  model).
- :class:`FakeFactory`: the viewer's ``localizer_factory`` over named fakes.
- :class:`FakeClock`: the live sources' and the live loop's clock, moved by the test.
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


class FakeModel:
    """A DNM-like head (sigmoid maps, 1 s windows at 16 kHz, the whole frame) with no network.

    ``embed_audio`` gives one row per window (its RMS and mean, as a tensor, as the protocol
    says); ``predict`` gives ``map_fn(frame, emb_row)`` per frame (default 0.5 everywhere).
    """

    family, map_kind, tau, audio_window_s, sample_rate = "dnm", "sigmoid", None, 1.0, 16000
    log_mel_input = False
    precision, backend_used = "fp32", "torch"   # no network: nothing to compile

    def __init__(self, name: str = "a", head: str = "dnm", classes=("a", "b"), map_size: int = 224,
                 map_fn=None):
        self.name, self.head, self.classes = name, head, list(classes)
        self.device = "cpu"
        self.fingerprint: str | None = f"fake-{name}"
        self.map_size = map_size
        self.map_fn = map_fn or (lambda frame, emb: np.full((map_size, map_size), 0.5, np.float32))
        self.embedded = 0                # windows embedded

    def crop(self, width, height):
        return (0.0, 0.0, float(width), float(height))

    def warmup(self, batch=None):
        pass

    def embed_audio(self, windows):
        import torch

        w = np.asarray(windows, np.float32)
        self.embedded += len(w)
        return torch.from_numpy(np.stack([np.sqrt(np.mean(w.astype(np.float64) ** 2, axis=1)),
                                          w.mean(axis=1)], axis=1))

    def predict(self, frames, emb, audio_index=None):
        idx = np.arange(len(frames)) if audio_index is None else np.asarray(audio_index)
        emb = np.asarray(emb)
        maps = np.stack([self.map_fn(f, emb[i]) for f, i in zip(frames, idx)]).astype(np.float32)
        return SimpleNamespace(maps=maps, p_avc=maps.reshape(len(maps), -1).max(axis=1),
                               class_probs=np.full((len(maps), len(self.classes)), 1 / max(1, len(self.classes)),
                                                   np.float32))

    def predict_audios(self, frames, embs, audio_index=None):
        return [self.predict(frames, e, audio_index) for e in embs]


class FakeLocalizer(FakeModel):
    """A head the viewer runs: ``predict`` checks the frames arrive at ``image_size``, reads
    each frame's index from its pixels (``frames_seen``), counts batches (``predicted``) and
    waits on ``gate`` first when one is given (a slow model); ``entered`` is set on the
    first call. The map is hot in ``quadrant`` unless ``map_fn`` says otherwise."""

    def __init__(self, name: str, head: str = "dnm", quadrant: str = "tl", map_fn=None,
                 gate: threading.Event | None = None, map_size: int = 8, image_size: int = 64):
        super().__init__(name, head, ("a", "b"), map_size,
                         map_fn or (lambda frame, emb: quadrant_map(quadrant, map_size)))
        self.image_size = image_size
        self.gate = gate
        self.entered = threading.Event()
        self.predicted: list[int] = []   # batch sizes, one per predict call
        self.frames_seen: list[int] = []  # frame indices read from the pixels, in call order

    def predict(self, frames, emb, audio_index=None):
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(20), "test never released the fake model"
        frames = np.asarray(frames)
        assert frames.shape[1:] == (self.image_size, self.image_size, 3), frames.shape
        for f in frames:
            try:
                self.frames_seen.append(read_frame_index(f))
            except ValueError:
                self.frames_seen.append(-1)
        self.predicted.append(len(frames))
        return super().predict(frames, emb, audio_index)


class FakeFactory:
    """``localizer_factory``: the fake registered for a path's stem, or an error to raise."""

    def __init__(self, **fakes):
        self.fakes = fakes

    def __call__(self, path):
        obj = self.fakes[Path(path).stem]
        if isinstance(obj, Exception):
            raise obj
        return obj


class FakeClock:
    """A monotonic clock (seconds) that moves only when the test says: ``clock()`` reads it,
    ``advance(dt)`` or ``set(t)`` moves it. Thread-safe (a source's thread reads it while
    the test moves it). Given as ``clock=`` to the live sources and the live loop."""

    def __init__(self, t: float = 0.0):
        self._t = float(t)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._t

    def set(self, t: float) -> None:
        with self._lock:
            assert t >= self._t, "a monotonic clock never goes back"
            self._t = float(t)

    def advance(self, dt: float) -> None:
        with self._lock:
            self._t += float(dt)
