"""Computed maps, kept per (media, model, audio, frame): replay and head switching are free.

Part of the map engine (:mod:`model_core.inference.engine`), Qt-free. The engine's thread
writes, the viewer's GUI thread and the export read; a lock makes both safe. Entries are tiny
(a 14 x 14 float32 map is 784 bytes), so a byte budget of a few hundred MB holds every
frame of an hour of video for three models; past it the least recently used go first.
Keys of other files stay, so reopening a file finds its maps (the issue's "caches kept
per file").
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from model_core.lru import LRU


class MapKey(NamedTuple):
    video: str   # the media's identity (the viewer's VideoKey: path + size + mtime)
    model: str   # model key (checkpoint path + mtime)
    audio: str   # AudioSpec.key
    index: int   # type: ignore[assignment]  # frame index (shadows tuple.index, never called on a key)


@dataclass(frozen=True)
class MapEntry:
    """One model's output for one frame: the map at model resolution and its scores."""

    map: np.ndarray          # (h, w) float32, sigmoid(Z)
    p_avc: float
    class_probs: np.ndarray  # (C,) float32
    time: float              # the frame's time (s)
    audio_centre: float      # centre of the audio window used (s)
    silent_audio: bool = False

    @property
    def nbytes(self) -> int:
        # the arrays plus what Python spends around them (entry, two array headers, key,
        # dict slot): ~700 bytes, more than a 7 x 7 map itself
        return int(self.map.nbytes + self.class_probs.nbytes + 700)


class MapCache:
    """Thread-safe LRU of :class:`MapEntry` under a byte budget."""

    def __init__(self, max_bytes: int = 256 * 1024 * 1024):
        self.max_bytes = int(max_bytes)
        self._data: LRU[MapKey, MapEntry] = LRU(max_bytes=self.max_bytes, sizeof=lambda e: e.nbytes,
                                                on_evict=lambda k, _e: self._count(k, -1))
        self._counts: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()

    def _count(self, key: MapKey, delta: int) -> None:
        k = (key.video, key.model, key.audio)
        n = self._counts.get(k, 0) + delta
        if n > 0:
            self._counts[k] = n
        else:
            self._counts.pop(k, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def __contains__(self, key: MapKey) -> bool:
        with self._lock:
            return key in self._data

    def get(self, key: MapKey) -> MapEntry | None:
        with self._lock:
            return self._data.get(key)

    def put(self, key: MapKey, entry: MapEntry) -> None:
        with self._lock:
            if key not in self._data:
                self._count(key, +1)
            self._data.put(key, entry)

    def missing(self, video: str, models: list[str], audio: str, index: int) -> list[str]:
        """The models in ``models`` without an entry for this frame."""
        with self._lock:
            return [m for m in models if MapKey(video, m, audio, index) not in self._data]

    def nearest_before(self, video: str, model: str, audio: str, index: int,
                       max_back: int) -> tuple[int, MapEntry] | None:
        """The entry of ``index`` or of the closest earlier frame within ``max_back``."""
        with self._lock:
            for i in range(index, max(-1, index - max_back - 1), -1):
                entry = self._data.peek(MapKey(video, model, audio, i))
                if entry is not None:
                    return i, entry
        return None

    def count(self, video: str, model: str, audio: str) -> int:
        """Frames of this (video, model, audio) held (progress display)."""
        with self._lock:
            return self._counts.get((video, model, audio), 0)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._counts.clear()
