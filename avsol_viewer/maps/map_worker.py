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

With ``use_process`` (the viewer's own window, :mod:`avsol_viewer.app`), the maps are
computed in a child process (:class:`~model_core.inference.map_process.MapProcess`): this
thread still loads the models (the display's traits, the export and live mode reuse them)
and chooses the frames from the cache, but the child decodes and runs the models, off the
viewer's GIL, and sends back only the grid maps. Until the child has every model loaded
(it starts while this thread loads), and for good once it fails (one warning line, and
:attr:`MapWorker.process_failure`), the maps are computed here as before.

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
from model_core.inference.map_process import ComputeError, MapProcess, MapProcessError, picklable

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
#: ``AVSOL_MAP_PROCESS=1``: the window computes the maps in the child process. Opt-in, as on
#: a 2-core CPU the child displayed no more frames than the thread and held a second copy of
#: every model (benchmarks/README.md, playback); ``AVSOL_MAP_PROCESS=0`` keeps the maps in
#: the worker's thread even where a caller asks for the child (A/B runs, debugging).
PROCESS_REQUESTED = os.environ.get("AVSOL_MAP_PROCESS", "") == "1"
PROCESS_ALLOWED = os.environ.get("AVSOL_MAP_PROCESS", "1") != "0"

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
                 clock: Callable[[], float] = time.perf_counter, use_process: bool = False):
        super().__init__("avsol-map-worker", parent)
        #: compute in a child process (module docstring) when the factory can be sent there
        self.use_process = bool(use_process)
        self.process: MapProcess | None = None
        #: why the child process is not used (it failed, or could not start), None otherwise
        self.process_failure: str | None = None
        #: the child had every loaded model at the latest step (the playback benchmark)
        self.process_ready = False
        #: steps computed by the child process / in this thread (the playback benchmark)
        self.process_steps = 0
        self.thread_steps = 0
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
                        self._in_process(lambda p, key=key: p.remove(key))
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
                    self.problem.emit(str(exc) if isinstance(exc, _ChildFailure) else _message(exc))
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
        self._start_process()   # first, so the child starts while this thread loads
        try:
            info = self.engine.load(path, family)  # a forced family's mismatch is the loader's line
        except Exception as exc:  # noqa: BLE001 - CheckpointError, InputError, anything
            self.model_failed.emit(path, _message(exc, path))
            return
        with self._cond:
            self._loaded[info.key] = self.engine.models[info.key]
        if self.process is not None and not str(info.device).startswith("cpu"):
            # on a GPU the thread holds the GIL only to launch kernels, and a child would hold
            # a second CUDA context and copy of every model: the thread computes
            self._process_failed(f"models on {info.device}", warn=False)
        self._in_process(lambda p: p.load(path, family))
        self._served = -1  # the current request must be served for the new model too
        self.models_changed.emit(list(self.engine.infos))

    def _step(self, req: MapRequest) -> bool:
        """Compute one batch for ``req``; True when nothing is left to do. The step's wall
        time goes into :attr:`pace`: its reading per frame of video covered (``stride``
        frames per grid frame), the rest counted as every loaded model's map of each frame
        done (the usual step: a new frame lacks every model's map)."""
        t0 = self.clock()
        got = self._step_in_process(req)
        if got is None:
            read0 = self.engine.read_seconds
            done = self.engine.step(req, stop=lambda: self._stop)
            read = self.engine.read_seconds - read0
            self.thread_steps += done is not None
        else:
            done, read = got
        if done is None:
            return True
        self.pace.record(len(done) * max(1, len(self.engine.models)), self.clock() - t0 - read,
                         len(done) * max(1, int(req.stride)), read)
        self.maps_ready.emit(req.video, req.audio.key, done)
        return False

    # -- the child process ----------------------------------------------------------------
    def _start_process(self) -> None:
        """Start the child at the first model loaded, when asked for and possible."""
        if self.process is not None or self.process_failure is not None:
            return
        if not (self.use_process and PROCESS_ALLOWED):
            return
        if not picklable(self.engine.factory):
            self.process_failure = "the model factory cannot be sent to a process"
            return
        try:   # at the first model loaded: the models come to it as they load here
            self.process = MapProcess(self.engine.factory, self.engine.batch)
        except MapProcessError as exc:
            self._process_failed(str(exc))

    def _in_process(self, call) -> None:
        """``call(process)`` while the child lives (a failure ends its use)."""
        if self.process is None:
            return
        try:
            call(self.process)
        except MapProcessError as exc:
            self._process_failed(str(exc))

    def _process_failed(self, why: str, warn: bool = True) -> None:
        """The child is no longer used: one warning line (``warn``); maps go on in this thread."""
        (log.warning if warn else log.info)("%s: computing the maps in the viewer's thread from now on", why)
        self.process_failure = why
        proc, self.process = self.process, None
        if proc is not None:
            proc.close()

    def _step_in_process(self, req: MapRequest) -> tuple[list[int] | None, float] | None:
        """:meth:`MapEngine.step` with the computation in the child: (frames done or None
        when nothing is left, the child's decoding seconds), or None when the child is not
        ready for every loaded model (the thread computes this step)."""
        proc = self.process
        if proc is None or not self.engine.models:
            return None
        try:
            if not proc.ready_for(list(self.engine.models)):
                self.process_ready = False
                return None
            self.process_ready = True
            n = proc.frame_count(req.video, req.frames, req.audio)
            todo = self.engine.todo(req, n)
            if not todo:
                return None, 0.0
            indices = [i for i, _ in todo]
            entries, read = proc.compute(req.video, req.frames, req.audio, indices, req.audio_hop, dict(todo),
                                         stop=lambda: self._stop)
        except ComputeError as exc:
            raise _ChildFailure(str(exc)) from None
        except MapProcessError as exc:
            if self._stop:
                return None, 0.0
            self._process_failed(str(exc))
            return None
        for key, entry in entries:
            self.cache.put(key, entry)
        self.process_steps += 1
        return indices, float(read)

    def _release(self) -> None:
        """Free decoders and models in the thread that made them."""
        with self._cond:
            self._loaded.clear()
        if self.process is not None:
            self.process.close()
            self.process = None
        self.engine.close()


class _ChildFailure(Exception):
    """A step failed in the child: its line is the one the thread's failure would give."""
