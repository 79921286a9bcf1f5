"""The inference thread: one long-lived worker that runs the map engine for the window.

Habits of napari's slicer and SLEAP's frame loader: the GUI posts an immutable
:class:`~model_core.inference.engine.MapRequest` into a one-slot mailbox (a newer request
replaces an older one: the latest wins), and the worker serves it in small steps,
re-reading the mailbox between steps. Each step is one
:meth:`~model_core.inference.engine.MapEngine.step` (the playhead's frame alone, then the
request's priority frames, then frames ahead), writing into the shared map cache; a
``maps_ready`` signal tells the GUI thread, which redraws from the cache.

This module is only the Qt shell: the mailbox, the thread and the signals. Everything
about maps (models, sources, the audio-window rule, the embedding and map caches) is
``model_core.inference.engine``, shared with ``avsol infer``/``eval`` and the export. The
engine and its localizers (and, on a GPU, the CUDA context) are created, used and
released in this thread; torch is imported here, after the window is up.

The worker also times its steps (:class:`MapPace`: seconds per map, on an injectable
clock), so the service can ask for every frame's map while playing when the engine keeps
up, and for fewer when it does not (``MapService``'s playing stride).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Callable

from PySide6.QtCore import Signal

from avsol_viewer.workers import TrackedThread
from model_core.inference.engine import (MapEngine, MapRequest, ModelInfo, default_localizer,
                                         lower_thread_priority, model_key, one_line as _message)
from model_core.inference.map_cache import MapCache

log = logging.getLogger(__name__)
#: How the inference thread is demoted (``lower_thread_priority``: a nice increment, "idle"
#: or 0; torch's CPU worker threads are started by this thread and inherit it). Measured
#: with bench_viewer's playback (benchmarks/README.md): nice +10 and SCHED_IDLE displayed
#: no more frames than 0 (the worker holds the GIL for its Python steps, and a demoted
#: holder makes the GUI thread wait longer), so: 0. What keeps playback fluid is computing
#: only as many maps as the engine can while playing (``MapService``'s playing stride).
#: ``AVSOL_MAP_WORKER_NICE`` overrides it for such A/B runs.
PRIORITY: int | str = os.environ.get("AVSOL_MAP_WORKER_NICE", "0")
PRIORITY = PRIORITY if PRIORITY == "idle" else int(PRIORITY)

__all__ = ["MapPace", "MapRequest", "MapWorker", "ModelInfo", "default_localizer", "model_key"]

#: Weight of the newest step in :class:`MapPace`'s moving average: a few batches follow a
#: change (a compiled backend taking over from torch, the display competing for the cores)
#: while one slow batch (a page fault, another process) moves the figure by a quarter.
PACE_WEIGHT = 0.25


class MapPace:
    """The engine's recent cost as the worker measured its steps, in two parts (moving
    averages): ``seconds_per_map``, the models' wall seconds per map (one model, one frame:
    audio windows, trunks, read-out), which a playing stride divides, and
    ``read_seconds_per_frame``, the decoding per frame of video the step covered (the
    frames between two grid frames are decoded too), which it does not. What the playing
    stride is chosen from. Written by the worker thread, read by the GUI thread (floats:
    no lock needed).

    Wall time, not CPU time, on purpose: it includes the time the worker waits for a core
    the display holds, which is what decides whether the maps arrive before the playhead.
    """

    def __init__(self, weight: float = PACE_WEIGHT):
        self.weight = float(weight)
        self.seconds_per_map: float | None = None   # None until a step was measured
        self.read_seconds_per_frame = 0.0
        self.steps = 0

    def _mean(self, old: float | None, x: float) -> float:
        return x if old is None else old + self.weight * (x - old)

    def record(self, maps: int, seconds: float, frames: int = 0, read_seconds: float = 0.0) -> None:
        """A step computed ``maps`` maps in ``seconds`` (reading excluded), and read the
        ``frames`` frames of video it covered in ``read_seconds``."""
        if maps <= 0:
            return
        first = self.seconds_per_map is None
        self.seconds_per_map = self._mean(self.seconds_per_map, max(0.0, float(seconds)) / maps)
        if frames > 0:
            x = max(0.0, float(read_seconds)) / frames
            self.read_seconds_per_frame = self._mean(None if first else self.read_seconds_per_frame, x)
        self.steps += 1


class MapWorker(TrackedThread):
    """See the module docstring. Signals are delivered to the GUI thread."""

    maps_ready = Signal(str, str, object)   # video key, audio key, list of frame indices
    models_changed = Signal(object)         # list[ModelInfo], in load order
    unloaded = Signal(object)               # list[ModelInfo] left after an unload
    model_loading = Signal(str)             # path
    model_failed = Signal(str, str)         # path, one-line message
    problem = Signal(str)                   # a frame/audio source failed (message)
    idle = Signal(int)                      # this generation needs nothing more

    def __init__(self, cache: MapCache, localizer_factory=None, batch: int = 4, parent=None,
                 clock: Callable[[], float] = time.perf_counter):
        super().__init__("avsol-map-worker", parent)
        self.cache = cache
        #: what :attr:`pace` times the steps with (tests give a clock their fakes move)
        self.clock = clock
        self.pace = MapPace()
        self.engine = MapEngine(cache, localizer_factory, batch)   # used in the worker thread only
        self.engine.clock = clock
        self._cond = threading.Condition()
        self._request: MapRequest | None = None
        self._served = -1
        self._loads: list[tuple[str, str | None]] = []
        self._unloads: list[str] = []
        self._stop = False
        self._loaded: dict[str, object] = {}

    # -- GUI thread ---------------------------------------------------------------------
    def submit(self, request: MapRequest) -> None:
        """Replace the pending request (latest wins) and wake the worker."""
        with self._cond:
            self._request = request
            self._cond.notify()

    def withdraw(self) -> None:
        """Nothing is wanted now: the pending request goes, and the worker waits (after the
        batch it may be computing) for the next :meth:`submit`."""
        with self._cond:
            self._request = None

    def load_checkpoint(self, path: str | os.PathLike, family: str | None = None) -> None:
        """Queue a checkpoint to load (results: ``models_changed`` or ``model_failed``);
        ``family`` forces a published family (``--model-family``)."""
        with self._cond:
            self._loads.append((os.fspath(path), family))
            self._cond.notify()

    def unload(self, key: str) -> None:
        """Queue the model ``key`` to be forgotten (result: ``unloaded``); in the worker
        thread, between two batches, so no batch is computed with half a model list."""
        with self._cond:
            self._unloads.append(key)
            self._cond.notify()

    def request_stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()

    def loaded_localizers(self) -> dict[str, object]:
        """{model key: localizer} loaded so far (any thread): what the export may reuse."""
        with self._cond:
            return dict(self._loaded)

    @property
    def localizer_factory(self):
        """How this worker loads a checkpoint (the export loads the same way when it must)."""
        return self.engine.factory

    # -- worker thread ------------------------------------------------------------------
    def run(self) -> None:
        lower_thread_priority(PRIORITY)
        try:
            while True:
                with self._cond:
                    while not self._stop and not self._loads and not self._unloads and (
                            self._request is None or self._served == self._request.generation):
                        self._cond.wait()
                    if self._stop:
                        return
                    loads, self._loads = self._loads, []
                    unloads, self._unloads = self._unloads, []
                    for key in unloads:
                        self._loaded.pop(key, None)
                    req = self._request
                if unloads:
                    for key in unloads:
                        self.engine.remove(key)
                    self.unloaded.emit(list(self.engine.infos))
                for path, family in loads:
                    if self._stop:  # closing: don't make the window wait for more loads
                        return
                    self._load(path, family)
                if req is None or (not loads and self._served == req.generation):
                    continue
                try:
                    done = self._step(req)
                except Exception as exc:  # noqa: BLE001 - report, never kill the thread
                    # the window shows the one-line cause; the traceback only for debug logs
                    log.debug("map worker step failed", exc_info=True)
                    self.problem.emit(_message(exc))
                    done = True
                if done:
                    with self._cond:
                        if self._request is req:
                            self._served = req.generation
                    self.idle.emit(req.generation)
        finally:
            self._release()

    def _load(self, path: str, family: str | None = None) -> None:
        if model_key(path) in self.engine.models:  # already loaded: nothing changes, but answer
            self.models_changed.emit(list(self.engine.infos))
            return
        self.model_loading.emit(path)
        try:
            info = self.engine.load(path, family)  # a forced family's mismatch is the loader's line
        except Exception as exc:  # noqa: BLE001 - CheckpointError, InputError, anything
            self.model_failed.emit(path, _message(exc, path))
            return
        with self._cond:
            self._loaded[info.key] = self.engine.models[info.key]
        self._served = -1  # the current request must be served for the new model too
        self.models_changed.emit(list(self.engine.infos))

    def _step(self, req: MapRequest) -> bool:
        """Compute one batch for ``req``; True when nothing is left to do. The step's wall
        time goes into :attr:`pace`: its reading per frame of video covered (``stride``
        frames per grid frame), the rest counted as every loaded model's map of each frame
        done (the usual step: a new frame lacks every model's map)."""
        t0, read0 = self.clock(), self.engine.read_seconds
        done = self.engine.step(req, stop=lambda: self._stop)
        if done is None:
            return True
        read = self.engine.read_seconds - read0
        self.pace.record(len(done) * max(1, len(self.engine.models)), self.clock() - t0 - read,
                         len(done) * max(1, int(req.stride)), read)
        self.maps_ready.emit(req.video, req.audio.key, done)
        return False

    def _release(self) -> None:
        """Free decoders and models in the thread that made them."""
        with self._cond:
            self._loaded.clear()
        self.engine.close()
