"""Where the maps' frames come from: a provider the map engine reads in its own thread.

Part of the map engine (:mod:`model_core.inference.engine`), Qt-free. The engine never
assumes a file: it asks a :class:`FrameProvider` for frames by index
at the model's input size and for their times. :class:`FileFrames` reads a video file with
``model_core.media.frames.VideoReader`` (its own decoder, separate from the display's, as
readers are not thread-safe); a live camera will be another provider with the same two
methods. An immutable :class:`FrameSpec` describes the provider on the caller's side (the viewer's
GUI thread, the export) and is opened in the engine's thread.

While the viewer plays, its display decoder already decodes every frame: it hands each one
to a :class:`HandedFrames` store that the :class:`FrameSpec` carries, and :class:`FileFrames`
takes a frame from there instead of decoding it a second time (the same decoded pixels,
reduced by the same :func:`~model_core.media.frames.resize_frame`, so the maps are identical;
measured: benchmarks/README.md, playback with a map for every frame). A request with
``decoded_only`` (playing) then computes only the frames handed so far.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import numpy as np

from model_core.lru import LRU

#: Frames a :class:`HandedFrames` store keeps (the oldest go first), and their bytes at
#: most: the display's frames decoded ahead while playing and a batch of the map engine.
#: The store holds the display decoder's own arrays, the newest, which its frame cache
#: (64 MB) holds too: with the same byte bound it adds no memory of its own.
HANDED_FRAMES = 16
HANDED_BYTES = 64 * 1024 * 1024


class FrameProvider:
    """Frames by index, resized (without crop) to a square ``size`` given one, else as
    decoded (``size`` None: models of several families each resize and crop their own way)."""

    frame_count = 0
    #: ``has_decoded(index)``: the frame is at hand without decoding (see :class:`FileFrames`);
    #: None: every frame read is decoded
    has_decoded = None

    def time_at(self, index: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, indices: list[int], size: int | None) -> list[np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:
        """Release the decoder."""


class HandedFrames:
    """Frames of one file another decoder has already decoded (the viewer's display), by
    index, for the map engine's :class:`FileFrames` to take instead of decoding them again.

    The giving side calls :meth:`put` from its decoder thread with each full frame as
    ``VideoReader.read_at_index(i)`` returned it, after :meth:`set_source` told which decoder
    (``VideoReader.backend``) and rotation made them. The engine's reader takes them only when
    its own reader is the same decoder and the picture is not rotated: then the frame at the
    heads' size is ``resize_frame`` of the handed frame, exactly what its own decode at that
    size returns (a rotated picture is resized before it is turned there: not the same
    pixels). Thread-safe; bounded to ``max_frames`` and ``max_bytes`` (the oldest go first)."""

    def __init__(self, max_frames: int = HANDED_FRAMES, max_bytes: int = HANDED_BYTES):
        self.max_frames = max(1, int(max_frames))
        self.max_bytes = int(max_bytes)
        # oldest first out past either bound (the newest is always kept); locked here
        self._frames: LRU[int, np.ndarray] = LRU(self.max_frames, self.max_bytes, sizeof=lambda a: a.nbytes)
        self._lock = threading.Lock()
        self.source: tuple[str, int] | None = None
        #: frames handed and frames taken (the playback benchmark, tests)
        self.handed = 0
        self.taken = 0

    def set_source(self, backend: str, rotation: int) -> None:
        """The decoder (``VideoReader.backend``) and rotation of the frames to come."""
        self.source = (str(backend), int(rotation))

    def put(self, index: int, img: np.ndarray) -> None:
        with self._lock:
            self._frames.put(int(index), img)
            self.handed += 1

    def offer(self, index: int, img: np.ndarray) -> None:
        """:meth:`put` unless frame ``index`` is held already (a frame decoded before and
        shown again: handed at each playing tick, stored once)."""
        with self._lock:
            if int(index) in self._frames:
                return
        self.put(index, img)

    def has(self, index: int) -> bool:
        with self._lock:
            return int(index) in self._frames

    def take(self, index: int) -> np.ndarray | None:
        """The frame ``index`` (removed from the store), or None."""
        with self._lock:
            img = self._frames.pop(int(index))
            if img is not None:
                self.taken += 1
            return img

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()


class FileFrames(FrameProvider):
    """A video file's frames (``VideoReader``; sequential reads never seek), or those of
    them another decoder handed over (``handed``, see :class:`HandedFrames`)."""

    def __init__(self, path: str | os.PathLike, handed: HandedFrames | None = None):
        from model_core.media.frames import VideoReader

        self.reader = VideoReader(path)
        self.frame_count = self.reader.frame_count
        self.handed = handed

    def time_at(self, index: int) -> float:
        return self.reader.time_at_index(index)

    def _usable(self) -> HandedFrames | None:
        h = self.handed
        if h is None or h.source is None or h.source != (self.reader.backend, self.reader.rotation):
            return None
        return h if self.reader.rotation == 0 else None

    @property
    def has_decoded(self):
        """``has(index)`` of the handed store when its frames are usable here (frame ``index``
        can be read without decoding), else None: the engine then decodes every frame itself,
        even for a ``decoded_only`` request."""
        h = self._usable()
        return None if h is None else h.has

    def read(self, indices: list[int], size: int | None) -> list[np.ndarray]:
        from model_core.media.frames import resize_frame

        # decode in increasing order (forward reads are cheap), return in the order asked
        handed = self._usable()
        out: dict[int, np.ndarray] = {}
        for i in sorted(set(indices)):
            img = handed.take(i) if handed is not None else None
            if img is None:
                out[i] = self.reader.read_at_index(i, (size, size) if size else None)
            else:
                out[i] = resize_frame(img, (size, size)) if size else img
        return [out[i] for i in indices]

    def close(self) -> None:
        self.reader.close()


@dataclass(frozen=True)
class FrameSpec:
    """Caller-side description of a frame provider: a video file, for now, and the store
    its display decoder hands its frames to (``handed``: compared by identity, so a file
    reopened with a new store reopens the engine's provider; not hashed)."""

    path: str
    handed: HandedFrames | None = field(default=None, hash=False, repr=False)

    def open(self) -> FrameProvider:
        return FileFrames(self.path, self.handed)

    def __reduce__(self):
        # sent to the map child process: the store stays here (the child decodes its own)
        return (FrameSpec, (self.path,))
