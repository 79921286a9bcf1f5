"""The inference thread: one long-lived worker that owns the models and fills the map cache.

Habits of napari's slicer and SLEAP's frame loader: the GUI posts an immutable
:class:`MapRequest` into a one-slot mailbox (a newer request replaces an older one: the
latest wins), and the worker serves it in small steps, re-reading the mailbox between
steps. Each step computes one batch: first the frame at the playhead (alone, for latency),
then the request's priority frames (the annotated frame of the current segment), then
frames ahead of the playhead. Results go into the shared :class:`MapCache` and a
``maps_ready`` signal tells the GUI thread, which redraws from the cache.

The worker owns the :class:`~model_core.inference.Localizer` objects (and, on a GPU, the
CUDA context): they are created, used and released in this thread only. Importing torch
happens here too, after the window is up. The viewer does no model maths: it calls
``Localizer.embed_audio`` once per distinct audio window (kept in a small cache per model
and audio) and ``Localizer.predict`` per batch.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal

from avsol_viewer.audio_sources import AudioSpec, window_centre, window_key
from avsol_viewer.map_cache import MapCache, MapEntry, MapKey
from avsol_viewer.map_frames import FrameSpec
from avsol_viewer.workers import TrackedThread

log = logging.getLogger(__name__)
EMBEDDING_CACHE = 4096


@dataclass(frozen=True)
class MapRequest:
    """What the GUI wants now. ``generation`` increases with every request."""

    generation: int
    video: str                       # the session's video key (cache identity)
    frames: FrameSpec                # where the frames come from
    index: int                       # the playhead's frame
    priority: tuple[int, ...] = ()   # frames wanted next (annotated frame of the segment)
    ahead: int = 50                  # frames to fill after the playhead
    audio: AudioSpec = field(default_factory=AudioSpec)
    audio_hop: float | None = None   # None: window centred on each frame (SPEC 3)


@dataclass(frozen=True)
class ModelInfo:
    """A loaded model as the GUI sees it."""

    key: str          # cache identity: resolved path + modification time
    name: str         # display name (file stem, made unique)
    head: str         # avc / cls / dnm
    path: str
    classes: tuple[str, ...]
    device: str
    map_size: int


def default_localizer(path: str):
    """``Localizer(path, device="auto")``: the one place torch gets imported.

    On the CPU the model gets all cores but one (torch's threads are per process), so the
    GUI thread always has a core to draw on while maps are computed.
    """
    from model_core.inference import Localizer

    return Localizer(path, device="auto", batch_size=8, threads=max(1, (os.cpu_count() or 2) - 1))


def model_key(path: str) -> str:
    p = Path(path).resolve()
    try:
        return f"{p}:{p.stat().st_mtime_ns}"
    except OSError:
        return str(p)


class MapWorker(TrackedThread):
    """See the module docstring. Signals are delivered to the GUI thread."""

    maps_ready = Signal(str, str, object)   # video key, audio key, list of frame indices
    models_changed = Signal(object)         # list[ModelInfo], in load order
    model_loading = Signal(str)             # path
    model_failed = Signal(str, str)         # path, one-line message
    problem = Signal(str)                   # a frame/audio source failed (message)
    idle = Signal(int)                      # this generation needs nothing more

    def __init__(self, cache: MapCache, localizer_factory=None, batch: int = 4, parent=None):
        super().__init__("avsol-map-worker", parent)
        self.cache = cache
        self._factory = localizer_factory or default_localizer
        self.batch = max(1, int(batch))
        self._cond = threading.Condition()
        self._request: MapRequest | None = None
        self._served = -1
        self._loads: list[str] = []
        self._stop = False
        # owned by the worker thread only
        self._locs: OrderedDict[str, object] = OrderedDict()
        self._infos: list[ModelInfo] = []
        self._frames = None
        self._frames_spec: FrameSpec | None = None
        self._audio = None
        self._audio_id: tuple | None = None
        self._emb: OrderedDict[tuple, object] = OrderedDict()

    # -- GUI thread ---------------------------------------------------------------------
    def submit(self, request: MapRequest) -> None:
        """Replace the pending request (latest wins) and wake the worker."""
        with self._cond:
            self._request = request
            self._cond.notify()

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Queue a checkpoint to load (results: ``models_changed`` or ``model_failed``)."""
        with self._cond:
            self._loads.append(os.fspath(path))
            self._cond.notify()

    def request_stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()

    # -- worker thread ------------------------------------------------------------------
    def run(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._stop and not self._loads and (
                            self._request is None or self._served == self._request.generation):
                        self._cond.wait()
                    if self._stop:
                        return
                    loads, self._loads = self._loads, []
                    req = self._request
                for path in loads:
                    if self._stop:  # closing: don't make the window wait for more loads
                        return
                    self._load(path)
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

    def _load(self, path: str) -> None:
        key = model_key(path)
        if key in self._locs:  # already loaded: nothing changes, but answer the request
            self.models_changed.emit(list(self._infos))
            return
        self.model_loading.emit(path)
        try:
            loc = self._factory(path)
        except Exception as exc:  # noqa: BLE001 - CheckpointError, InputError, anything
            self.model_failed.emit(path, _message(exc, path))
            return
        names = {i.name for i in self._infos}
        name, k = str(getattr(loc, "name", Path(path).stem)), 2
        base = name
        while name in names:
            name, k = f"{base}-{k}", k + 1
        self._locs[key] = loc
        self._infos.append(ModelInfo(key=key, name=name, head=str(loc.head), path=str(path),
                                     classes=tuple(loc.classes), device=str(getattr(loc, "device", "cpu")),
                                     map_size=int(loc.map_size)))
        self._served = -1  # the current request must be served for the new model too
        self.models_changed.emit(list(self._infos))

    def _source(self, req: MapRequest):
        if self._frames_spec != req.frames:
            if self._frames is not None:
                self._frames.close()
            self._frames, self._frames_spec = None, None
            self._frames = req.frames.open()
            self._frames_spec = req.frames
        audio_id = (req.video, req.audio)
        if self._audio_id != audio_id:
            if self._audio is not None:
                self._audio.close()
            self._audio, self._audio_id = None, None
            self._audio = req.audio.open(req.frames.path)
            self._audio_id = audio_id
        return self._frames, self._audio

    def _todo(self, req: MapRequest, n_frames: int) -> list[tuple[int, list[str]]]:
        """The next batch: [(frame index, model keys missing)], playhead first and alone."""
        models = list(self._locs)
        order = [req.index, *req.priority, *range(req.index + 1, req.index + 1 + req.ahead)]
        todo: list[tuple[int, list[str]]] = []
        seen = set()
        for i in order:
            if i in seen or not 0 <= i < n_frames:
                continue
            seen.add(i)
            miss = self.cache.missing(req.video, models, req.audio.key, i)
            if miss:
                todo.append((i, miss))
                if i == req.index or len(todo) >= self.batch:
                    break
        return todo

    def _step(self, req: MapRequest) -> bool:
        """Compute one batch for ``req``; True when nothing is left to do."""
        if not self._locs:
            return True
        frames, audio = self._source(req)
        todo = self._todo(req, frames.frame_count)
        if not todo:
            return True
        indices = [i for i, _ in todo]
        size = max(int(loc.image_size) for loc in self._locs.values())
        imgs = frames.read(indices, size)
        times = [frames.time_at(i) for i in indices]
        centres = [window_centre(t, req.audio_hop) for t in times]
        wkeys = [window_key(c) for c in centres]
        for mkey, loc in list(self._locs.items()):
            sel = [j for j, (_, miss) in enumerate(todo) if mkey in miss]
            if not sel:
                continue
            if self._stop:
                return True
            emb, rows = self._embeddings(mkey, loc, req, audio, [wkeys[j] for j in sel],
                                         [centres[j] for j in sel])
            pred = loc.predict(np.stack([imgs[j] for j in sel]), emb, audio_index=rows)
            for r, j in enumerate(sel):
                self.cache.put(MapKey(req.video, mkey, req.audio.key, indices[j]),
                               MapEntry(np.asarray(pred.maps[r], np.float32), float(pred.p_avc[r]),
                                        np.asarray(pred.class_probs[r], np.float32), float(times[j]),
                                        float(centres[j]), bool(audio.silent)))
        self.maps_ready.emit(req.video, req.audio.key, indices)
        return False

    def _embeddings(self, mkey, loc, req, audio, wkeys, centres):
        """Audio embeddings for the frames' windows: (emb, row of emb per frame).

        One window for every frame and already embedded: the cached row. Otherwise the
        distinct windows are embedded in one call (and each row cached for later).
        """
        distinct = list(dict.fromkeys(wkeys))
        ck = (mkey, req.video, req.audio.key)
        if len(distinct) == 1 and (*ck, distinct[0]) in self._emb:
            self._emb.move_to_end((*ck, distinct[0]))
            return self._emb[(*ck, distinct[0])], np.zeros(len(wkeys), np.int64)
        centre_of = dict(zip(wkeys, centres))
        emb = loc.embed_audio(np.stack([audio.window(centre_of[k]) for k in distinct]))
        for r, k in enumerate(distinct):
            self._emb[(*ck, k)] = emb[r:r + 1]
        while len(self._emb) > EMBEDDING_CACHE:
            self._emb.popitem(last=False)
        row = {k: r for r, k in enumerate(distinct)}
        return emb, np.array([row[k] for k in wkeys], np.int64)

    def _release(self) -> None:
        """Free decoders and models in the thread that made them."""
        for obj in (self._frames, self._audio):
            if obj is not None:
                try:
                    obj.close()
                except Exception:  # noqa: BLE001
                    pass
        self._frames = self._audio = None
        self._emb.clear()
        self._locs.clear()


def _message(exc: Exception, path: str | None = None) -> str:
    """One line for the user: model_core's errors already name the file and the problem."""
    from model_core.errors import InputError

    if isinstance(exc, InputError):
        return str(exc)
    where = f"{path}: " if path else ""
    return f"{where}{type(exc).__name__}: {exc}"
