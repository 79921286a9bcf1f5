"""The Qt side of one live run: the model_core live loop, its results posted to the GUI.

:class:`~model_core.inference.live_loop.LiveLoop` runs in its own two threads (audio
embedding ~10 Hz, visual trunk on the newest frame). Its callbacks run in those threads;
this bridge keeps only the newest result and posts one queued signal at a time, so a busy
GUI thread draws the latest maps and never a backlog (latest wins, end to end).
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from model_core.inference.live_loop import LiveLoop
from model_core.inference.live_sources import LiveSpec


class LiveSession(QObject):
    """Start/stop one :class:`LiveLoop`; signals arrive in the GUI thread."""

    maps_ready = Signal()                 # take :meth:`take_maps`
    problem = Signal(str, object)         # kind, message (None: solved)
    spectrogram = Signal(object, int)     # log-mel (64, T), end sample

    def __init__(self, localizers: dict, spec: LiveSpec, parent=None, **loop_kw):
        super().__init__(parent)
        self.spec = spec
        self._lock = threading.Lock()
        self._latest = None
        self._posted = False
        self._spec_latest = None
        self._spec_posted = False
        self.loop = LiveLoop(localizers, spec, on_maps=self._on_maps, on_problem=self._on_problem,
                             on_spectrogram=self._on_spectrogram, **loop_kw)

    def start(self) -> None:
        self.loop.start()

    def stop(self) -> bool:
        return self.loop.stop()

    @property
    def stats(self):
        return self.loop.stats

    # -- loop threads -------------------------------------------------------------------
    def _on_maps(self, result) -> None:
        with self._lock:
            self._latest = result
            post = not self._posted
            self._posted = True
        if post:
            self.maps_ready.emit()

    def _on_problem(self, kind: str, message) -> None:
        self.problem.emit(kind, message)

    def _on_spectrogram(self, mel, end: int) -> None:
        with self._lock:
            self._spec_latest = (mel, end)
            post = not self._spec_posted
            self._spec_posted = True
        if post:
            self.spectrogram.emit(None, 0)

    # -- GUI thread ---------------------------------------------------------------------
    def take_maps(self):
        with self._lock:
            r, self._posted = self._latest, False
        return r

    def take_spectrogram(self):
        with self._lock:
            s, self._spec_posted = self._spec_latest, False
        return s
