"""The display's frame decoder: one thread, newest request wins (SLEAP's frame loader).

The GUI asks for a frame index; if it is in the small cache of recent frames it gets it
at once, otherwise the request goes into a one-slot mailbox that a newer request
overwrites, so scrubbing decodes only the frames the user still wants and playback never
queues late frames. While playing, the thread decodes the next few frames ahead into the
cache after each request (sequential reads cost a fraction of a seek), so the frame due at
the next tick is usually ready.

Every frame it decodes is also handed to the map engine (``handed``, a
:class:`~model_core.inference.frame_sources.HandedFrames`): while playing, the maps are
computed from these frames instead of a second decode of the same file.
"""
from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import Signal

from model_core.lru import LRU

from avsol_viewer.workers import MailboxThread

#: Frames decoded ahead of the last request while playing. Besides the frame due at the
#: next tick, the map engine computes each frame's maps from these (``handed``): the
#: further ahead, the earlier a map can be ready before its frame is due (8 frames: 0.27 s
#: at 30 fps; 3 left the maps about one frame of work ahead, late at the first hiccup).
#: The frames are decoded anyway, only earlier; at 720p they take 22 MB of the cache.
PREFETCH = 8


class FrameSource(MailboxThread[tuple[int, bool, bool]]):
    """Decodes frames of one open ``VideoReader`` (which it owns from now on).

    Requests are ``(index, prefetch, announce)`` in the thread's one-slot mailbox.

    Signals
    -------
    frame_ready(index, image) : a requested frame, H x W x 3 uint8 RGB.
    failed(index, message) : the frame could not be decoded (damaged file).
    """

    frame_ready = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, reader, max_bytes: int = 64 * 1024 * 1024, parent=None, handed=None):
        super().__init__("avsol-frame-source", parent)
        self.reader = reader
        #: where each decoded frame is handed to the map engine (None: nowhere)
        self.handed = handed
        if handed is not None:
            handed.set_source(reader.backend, reader.rotation)
        self.frame_count = reader.frame_count
        self.max_bytes = int(max_bytes)
        self._cache: LRU[int, np.ndarray] = LRU(max_bytes=self.max_bytes, sizeof=lambda img: img.nbytes)
        self._lock = threading.Lock()   # the cache: read by the GUI, filled by the decoder

    # -- GUI thread ---------------------------------------------------------------------
    def cached(self, index: int) -> np.ndarray | None:
        with self._lock:
            return self._cache.get(index)

    def request(self, index: int, prefetch: bool = False) -> np.ndarray | None:
        """The frame if cached (returned now), else None and ``frame_ready`` later.

        ``prefetch``: decode a few frames after it too (playback).
        """
        index = int(min(max(index, 0), max(self.frame_count - 1, 0)))
        with self._lock:
            img = self._cache.get(index)
            ahead = prefetch and any(i not in self._cache for i in range(index + 1, index + 1 + PREFETCH))
            # playing over frames decoded before (a replay): they are handed over too, or the
            # map engine, which computes only handed frames while playing, would skip them
            cached = [] if not prefetch or self.handed is None else [
                (i, c) for i in range(index, index + 1 + PREFETCH) if (c := self._cache.peek(i)) is not None]
        for i, c in cached:
            self.handed.offer(i, c)
        if img is not None:
            if ahead:
                self.post((index, True, False))  # keep decoding ahead
            return img
        # announce: the caller got None, so frame_ready must follow even if the frame
        # lands in the cache (a prefetch) before the decoder reads this request
        self.post((index, prefetch, True))
        return None

    # -- decoder thread -----------------------------------------------------------------
    def _put(self, index: int, img: np.ndarray) -> None:
        with self._lock:
            if index not in self._cache:
                self._cache.put(index, img)

    def _decode(self, index: int) -> np.ndarray | None:
        try:
            img = self.reader.read_at_index(index)
        except Exception as exc:  # noqa: BLE001 - MediaError, IndexError on a truncated tail
            self.failed.emit(index, str(exc))
            return None
        self._put(index, img)
        if self.handed is not None:
            self.handed.put(index, img)
        return img

    def run(self) -> None:
        try:
            while (item := self.take()) is not None:
                index, prefetch, announce = item
                with self._lock:
                    img = self._cache.peek(index)
                if img is None:
                    img = self._decode(index)
                    if img is not None:
                        self.frame_ready.emit(index, img)
                elif announce:
                    self.frame_ready.emit(index, img)
                if not prefetch:
                    continue
                for ahead in range(index + 1, min(index + 1 + PREFETCH, self.frame_count)):
                    if self.superseded():
                        break
                    with self._lock:
                        have = ahead in self._cache
                    if not have and self._decode(ahead) is None:
                        break
        finally:
            self.reader.close()
            if self.handed is not None:   # a closed file's frames leave with its decoder
                self.handed.clear()
