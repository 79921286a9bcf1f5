"""Where the maps' frames come from: a provider the map engine reads in its own thread.

Part of the map engine (:mod:`model_core.inference.engine`), Qt-free. The engine never
assumes a file: it asks a :class:`FrameProvider` for frames by index
at the model's input size and for their times. :class:`FileFrames` reads a video file with
``model_core.media.frames.VideoReader`` (its own decoder, separate from the display's, as
readers are not thread-safe); a live camera will be another provider with the same two
methods. An immutable :class:`FrameSpec` describes the provider on the caller's side (the viewer's
GUI thread, the export) and is opened in the engine's thread.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np


class FrameProvider:
    """Frames by index, resized (without crop) to a square ``size`` given one, else as
    decoded (``size`` None: models of several families each resize and crop their own way)."""

    frame_count = 0

    def time_at(self, index: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, indices: list[int], size: int | None) -> list[np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:
        """Release the decoder."""


class FileFrames(FrameProvider):
    """A video file's frames (``VideoReader``; sequential reads never seek)."""

    def __init__(self, path: str | os.PathLike):
        from model_core.media.frames import VideoReader

        self.reader = VideoReader(path)
        self.frame_count = self.reader.frame_count

    def time_at(self, index: int) -> float:
        return self.reader.time_at_index(index)

    def read(self, indices: list[int], size: int | None) -> list[np.ndarray]:
        # decode in increasing order (forward reads are cheap), return in the order asked
        out: dict[int, np.ndarray] = {}
        for i in sorted(set(indices)):
            out[i] = self.reader.read_at_index(i, (size, size) if size else None)
        return [out[i] for i in indices]

    def close(self) -> None:
        self.reader.close()


@dataclass(frozen=True)
class FrameSpec:
    """Caller-side description of a frame provider: a video file, for now."""

    path: str

    def open(self) -> FrameProvider:
        return FileFrames(self.path)
