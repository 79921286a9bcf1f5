"""The map engine: frames + audio -> maps, once, for every consumer.

``avsol infer`` and ``avsol eval`` (:func:`~model_core.inference.pipeline.localize_many`),
the viewer's map worker, the export and (later) live mode all compute their maps here, so
the same frame with the same audio gives the same map everywhere (SPEC 2). The pieces:

- frame sources (:mod:`~model_core.inference.frame_sources`) and audio sources
  (:mod:`~model_core.inference.audio_sources`: own track, silence, noise, another file,
  samples in memory), opened from immutable specs in the engine's thread;
- :class:`MapRequest`: "the playhead is at frame i, fill ``ahead`` frames after it";
- the per-(media, model, audio, frame) :class:`~model_core.inference.map_cache.MapCache`;
- the audio-window rule (:mod:`~model_core.inference.audio_window`: a 1 s hop by default,
  or a window per frame) and :class:`EmbeddingCache`, so each distinct window goes through
  each model's audio trunk once;
- :func:`predict_frames`, the one step every consumer runs: windows -> embeddings (log-mel
  computed once for all our heads) -> ``predict``.

The engine talks to a model only through the
:class:`~model_core.models.protocol.MapModel` protocol (our DNM heads and every published
family, :func:`model_core.models.loading.load_model`): each model hears its own window
length (:func:`~model_core.inference.audio_window.window_group`), gets frames as decoded
unless all models take the same squashed square input, and returns its native map
(``map_kind``).

:class:`MapEngine` is used by one thread at a time (it owns decoders, which are not
thread-safe); it has no Qt and imports torch only through the localizers it is given or
loads. The viewer's ``MapWorker`` keeps only the mailbox, the thread and the signals.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from model_core.inference.audio_sources import AudioSource, AudioSpec
from model_core.inference.audio_window import AUDIO_HOP, group_audio_key, window_centre, window_group
from model_core.inference.frame_sources import FrameProvider, FrameSpec
from model_core.inference.map_cache import MapCache, MapEntry, MapKey
from model_core.lru import LRU

#: Audio embeddings kept (a row of D = 128 float32 is 512 bytes: 4096 rows ~2 MB).
EMBEDDING_CACHE = 4096


@dataclass(frozen=True)
class MapRequest:
    """What a consumer wants now. ``generation`` increases with every request (latest wins).

    The frame at ``index`` comes first (alone, for latency), then ``priority`` frames, then
    up to ``ahead`` frames after ``index``. With ``stride`` k > 1 (while playing) only
    frames on the grid of multiples of k are computed, from the one at or before ``index``
    on, in batches: the display shows the nearest earlier map, and the model does 1/k of
    the work.
    """

    generation: int
    video: str                       # the media's identity (cache key)
    frames: FrameSpec                # where the frames come from
    index: int                       # the playhead's frame
    priority: tuple[int, ...] = ()   # frames wanted next (annotated frame of the segment)
    ahead: int = 50                  # frames to fill after the playhead
    audio: AudioSpec = field(default_factory=AudioSpec)
    audio_hop: float | None = AUDIO_HOP   # see model_core.inference.audio_window
    stride: int = 1                  # > 1: only frames k * stride (playback: fewer maps, see todo)
    #: only frames the provider already has decoded (``has_decoded``: the viewer's display
    #: decoder handed them over while playing, frame_sources.HandedFrames); a provider
    #: without ``has_decoded`` ignores it
    decoded_only: bool = False


@dataclass(frozen=True)
class ModelInfo:
    """A loaded model as callers see it (the viewer's menus, the export's job)."""

    key: str          # cache identity: resolved path + modification time
    name: str         # display name (file stem, made unique)
    head: str         # avc / cls / dnm
    path: str
    classes: tuple[str, ...]
    device: str
    map_size: int | tuple      # int (square) or (h, w): model_core.models.protocol.map_hw
    family: str = "dnm"        # the model's family key ("dnm", "ezvsl", "lvs", ...)
    map_kind: str = "sigmoid"  # the native map's scale (model_core.models.protocol.normalise)
    tau: float | None = None
    audio_window_s: float = 1.0


def model_key(path: str | os.PathLike) -> str:
    """Cache identity of a checkpoint file: its resolved path and modification time."""
    p = Path(path).resolve()
    try:
        return f"{p}:{p.stat().st_mtime_ns}"
    except OSError:
        return str(p)


def default_localizer(path: str, family: str | None = None, backend: str = "torch",
                      precision: str = "fp32"):
    """The model of any supported checkpoint (:func:`model_core.models.loading.load_model`:
    ours becomes a ``Localizer``, a published family's file its family's model; ``family``
    forces one) on device "auto", with all cores but one on the CPU (torch's threads are
    per process: the GUI thread keeps a core to draw on while maps are computed), its
    visual trunk run by ``backend`` at ``precision`` (:mod:`model_core.inference.backends`;
    the viewer passes its ``--backend`` / ``--precision``)."""
    from model_core.models.loading import load_model

    return load_model(path, device="auto", family=family, batch_size=8,
                      threads=max(1, (os.cpu_count() or 2) - 1), backend=backend, precision=precision)


def decode_size(locs: Sequence) -> tuple[int, int] | None:
    """``(S, S)`` when every model takes the same squashed square input of S pixels
    (``image_size``: our heads; the decoder's resize before the colour conversion is the
    cheapest place), else None: frames as decoded, each model resizing and cropping them
    as its repository does (a published family's ``predict``, which has no ``image_size``)."""
    sizes = {getattr(loc, "image_size", None) for loc in locs}
    size = sizes.pop() if len(sizes) == 1 else None
    return (int(size), int(size)) if size else None


def lower_thread_priority(policy: int | str) -> None:
    """Demote this thread so it takes the cores only when torch's workers leave them.

    ``policy``: ``"idle"`` (Linux ``SCHED_IDLE``: runs only on an otherwise idle core), a
    nice increment (> 0), or 0 (unchanged). Linux only: there ``sched_setscheduler`` and
    ``setpriority`` take a thread id and affect that thread alone (elsewhere the same call
    would take the id for a process id).
    """
    if not policy or not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        if policy == "idle":
            os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
        else:
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + int(policy)))
    except (OSError, AttributeError):
        pass


def one_line(exc: BaseException, path: str | None = None) -> str:
    """One line for the user: model_core's errors already name the file and the problem."""
    from model_core.errors import InputError

    if isinstance(exc, InputError):
        return str(exc)
    where = f"{path}: " if path else ""
    return f"{where}{type(exc).__name__}: {exc}"


class EmbeddingCache(LRU):
    """Audio embeddings by (model, audio identity, window key): one (1, D) row each."""

    def __init__(self, max_items: int = EMBEDDING_CACHE):
        super().__init__(max_items=max_items)


def _cat(rows: list):
    """Concatenate (1, D) embedding rows (tensors: ``MapModel.embed_audio``)."""
    import torch

    return torch.cat(rows)


def embed_windows(locs: Sequence, model_keys: Sequence[str], cache: EmbeddingCache, audio_key: str,
                  keys: Sequence[int], read: Callable[[int], np.ndarray]) -> None:
    """Make sure every (model, ``audio_key``, window key) of ``keys`` is in ``cache``.

    ``read(key)`` returns the window's samples; each missing window is read once and its
    log-mel computed once for all the models whose ``log_mel_input`` is set (our heads;
    the published families, with their own audio front ends, get the raw windows through
    ``embed_audio``). All ``locs`` must hear the same window (one window group).
    """
    embed_idents(locs, model_keys, cache, [(audio_key, k) for k in keys], lambda ident: read(ident[1]))


def embed_idents(locs: Sequence, model_keys: Sequence[str], cache: EmbeddingCache,
                 idents: Sequence[tuple[str, int]], read: Callable[[tuple[str, int]], np.ndarray]) -> None:
    """:func:`embed_windows` for windows of several audios at once: ``idents`` are (audio
    key, window key) pairs, ``read(ident)`` their samples. All the missing windows of a
    model go through its audio trunk in one call (batches of the same size every time:
    small, varying batches cost far more per window on the CPU)."""
    distinct = list(dict.fromkeys((str(a), int(k)) for a, k in idents))
    need = {mk: [i for i in distinct if (mk, *i) not in cache] for mk in model_keys}
    wanted = list(dict.fromkeys(i for ids in need.values() for i in ids))
    if not wanted:
        return
    windows = {i: np.asarray(read(i), np.float32) for i in wanted}
    mel = None
    for loc, mk in zip(locs, model_keys):
        ids = need[mk]
        if not ids:
            continue
        if loc.log_mel_input:
            if mel is None:
                from model_core.features import log_mel

                mel = dict(zip(wanted, log_mel(np.stack([windows[i] for i in wanted]))))
            import torch

            emb = loc.embed_log_mel(torch.stack([mel[i] for i in ids]))
        else:
            emb = loc.embed_audio(np.stack([windows[i] for i in ids]))
        for r, i in enumerate(ids):
            cache.put((mk, *i), emb[r:r + 1])


def predict_frames(loc, model_key_: str, cache: EmbeddingCache, audio_key: str, frames,
                   keys: Sequence[int]):
    """``loc.predict`` on ``frames``, frame j paired with the cached embedding of ``keys[j]``.

    Frames sharing a window share one embedding row. Call :func:`embed_windows` first.
    """
    uniq, inverse = np.unique(np.asarray(keys, np.int64), return_inverse=True)
    emb = _cat([cache.get((model_key_, audio_key, int(k))) for k in uniq])
    return loc.predict(frames, emb, inverse.reshape(-1))


def predict_frames_audios(loc, model_key_: str, cache: EmbeddingCache, idents: Sequence[Sequence[tuple]],
                          frames) -> list:
    """Predictions of the same frames heard with several audios, one per ``idents[k]``:
    frame j takes the cached embedding ``(model_key_, *idents[k][j])`` (an (audio key,
    window key) pair; call :func:`embed_windows` first). ``predict_audios`` (part of the
    model protocol) runs the visual trunk once for all the audios (SPEC 5: the negative
    audios cost only the audio branch and the map read)."""
    n = len(frames)
    embs = [_cat([cache.get((model_key_, ak, int(wk))) for ak, wk in ids]) for ids in idents]
    return loc.predict_audios(frames, embs, np.arange(n))


class MapEngine:
    """Models, sources and caches for one thread; see the module docstring.

    Parameters
    ----------
    cache : the map cache to fill (shared with readers in other threads).
    localizer_factory : ``factory(path) -> MapModel`` used by :meth:`load`
        (default :func:`default_localizer`: any family; tests pass fakes).
    batch : most frames computed per :meth:`step`.
    """

    def __init__(self, cache: MapCache | None = None, localizer_factory=None, batch: int = 4):
        self.cache = cache if cache is not None else MapCache()
        self.factory = localizer_factory or default_localizer
        self.batch = max(1, int(batch))
        self.models: dict[str, object] = {}      # model key -> localizer, in load order
        self.infos: list[ModelInfo] = []
        self.embeddings = EmbeddingCache()
        self._frames: FrameProvider | None = None
        self._frames_spec: FrameSpec | None = None
        self._audio: AudioSource | None = None
        self._audio_id: tuple | None = None
        #: seconds spent reading (decoding) frames so far, on :attr:`clock`: the part of a
        #: step that a playing stride does not save (the frames between two grid frames are
        #: decoded too), which the viewer's map worker tells apart from the models' part
        self.clock: Callable[[], float] = time.perf_counter
        self.read_seconds = 0.0

    # -- models -------------------------------------------------------------------------
    def load(self, path: str | os.PathLike, family: str | None = None) -> ModelInfo | None:
        """Load a checkpoint of any family (None if already loaded); ``family`` forces one
        (``--model-family``). Raises what the factory raises (a
        :class:`~model_core.errors.CheckpointError` line for a file of no known family)."""
        path = os.fspath(path)
        key = model_key(path)
        if key in self.models:
            return None
        return self.add(key, self.factory(path) if family is None else self.factory(path, family), path)

    def add(self, key: str, loc, path: str = "") -> ModelInfo:
        """Register an already-loaded localizer under ``key`` (named uniquely)."""
        names = {i.name for i in self.infos}
        base = name = str(loc.name or Path(path).stem)
        k = 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        size = loc.map_size
        info = ModelInfo(key=key, name=name, head=str(loc.head), path=str(path), classes=tuple(loc.classes),
                         device=str(loc.device), map_size=tuple(size) if isinstance(size, (tuple, list)) else int(size),
                         family=str(loc.family), map_kind=str(loc.map_kind), tau=loc.tau,
                         audio_window_s=float(loc.audio_window_s))
        self.models[key] = loc
        self.infos = [i for i in self.infos if i.key != key] + [info]
        return info

    def remove(self, key: str) -> bool:
        """Forget the model ``key`` (the viewer's "unload"); False if it is not loaded. Its
        maps and audio embeddings stay cached until evicted: reloading it costs nothing."""
        if self.models.pop(key, None) is None:
            return False
        self.infos = [i for i in self.infos if i.key != key]
        return True

    def localizers(self) -> dict[str, object]:
        """A snapshot {model key: localizer} (what the export may reuse)."""
        return dict(self.models)

    # -- sources ------------------------------------------------------------------------
    def sources(self, video: str, frames: FrameSpec, audio: AudioSpec):
        """The open (frame provider, audio source) for this media and audio (reopened on change)."""
        if self._frames_spec != frames:
            if self._frames is not None:
                self._frames.close()
            self._frames, self._frames_spec = None, None
            self._frames = frames.open()
            self._frames_spec = frames
        audio_id = (video, audio)
        if self._audio_id != audio_id:
            if self._audio is not None:
                self._audio.close()
            self._audio, self._audio_id = None, None
            self._audio = audio.open(frames.path)
            self._audio_id = audio_id
        return self._frames, self._audio

    # -- work ---------------------------------------------------------------------------
    def todo(self, req: MapRequest, n_frames: int,
             decoded: Callable[[int], bool] | None = None) -> list[tuple[int, list[str]]]:
        """The next batch: [(frame index, model keys missing)], the playhead first and alone.
        With ``req.decoded_only`` and ``decoded`` (the provider's ``has_decoded``), only the
        frames it has decoded already, in the same order, batched (no decode of its own)."""
        models = list(self.models)
        only = decoded if req.decoded_only else None
        k = max(1, int(req.stride))
        if k == 1:
            order = [req.index, *req.priority, *range(req.index + 1, req.index + 1 + req.ahead)]
        else:
            first = req.index - req.index % k
            order = [*req.priority, *range(first, req.index + 1 + req.ahead, k)]
        todo: list[tuple[int, list[str]]] = []
        seen = set()
        for i in order:
            if i in seen or not 0 <= i < n_frames or (only is not None and not only(i)):
                continue
            seen.add(i)
            miss = self.cache.missing(req.video, models, req.audio.key, i)
            if miss:
                todo.append((i, miss))
                if (i == req.index and k == 1 and only is None) or len(todo) >= self.batch:
                    break
        return todo

    def step(self, req: MapRequest, stop: Callable[[], bool] | None = None) -> list[int] | None:
        """Compute the next batch of ``req`` into the cache: the frame indices done, or None
        when nothing is left to do (or no model is loaded)."""
        if not self.models:
            return None
        frames, _audio = self.sources(req.video, req.frames, req.audio)
        todo = self.todo(req, frames.frame_count, frames.has_decoded)
        if not todo:
            return None
        self.compute(req.video, req.frames, req.audio, [i for i, _ in todo], req.audio_hop,
                     {i: miss for i, miss in todo}, stop)
        return [i for i, _ in todo]

    def compute(self, video: str, frames_spec: FrameSpec, audio_spec: AudioSpec, indices: Sequence[int],
                hop: float | None = AUDIO_HOP, missing: dict | None = None,
                stop: Callable[[], bool] | None = None) -> None:
        """Maps of frames ``indices`` for every model (or ``missing[i]``'s) into the cache."""
        frames, audio = self.sources(video, frames_spec, audio_spec)
        indices = list(indices)
        if not indices or not self.models:
            return
        size = decode_size(list(self.models.values()))
        t0 = self.clock()
        imgs = frames.read(indices, size[0] if size else None)
        self.read_seconds += self.clock() - t0
        times = [frames.time_at(i) for i in indices]
        centres = [window_centre(t, hop) for t in times]
        base_akey = f"{video}|{audio_spec.key}"
        for mkey, loc in list(self.models.items()):
            sel = [j for j, i in enumerate(indices) if missing is None or mkey in missing.get(i, ())]
            if not sel:
                continue
            if stop is not None and stop():
                return
            seconds, placed = group = window_group(loc)
            akey = group_audio_key(base_akey, group)
            wkeys = [audio.window_id(c, seconds, placed) for c in centres]
            centre_of = dict(zip(wkeys, centres))
            keys = [wkeys[j] for j in sel]
            embed_windows([loc], [mkey], self.embeddings, akey, keys,
                          lambda k: audio.read_window(centre_of[k], seconds, placed))
            batch = np.stack([imgs[j] for j in sel]) if size else [imgs[j] for j in sel]
            pred = predict_frames(loc, mkey, self.embeddings, akey, batch, keys)
            for r, j in enumerate(sel):
                self.cache.put(MapKey(video, mkey, audio_spec.key, indices[j]),
                               MapEntry(np.asarray(pred.maps[r], np.float32), float(pred.p_avc[r]),
                                        np.asarray(pred.class_probs[r], np.float32), float(times[j]),
                                        float(centres[j]), bool(audio.silent)))

    def close(self) -> None:
        """Free decoders and models (in the thread that made them)."""
        for obj in (self._frames, self._audio):
            if obj is not None:
                try:
                    obj.close()
                except Exception:  # noqa: BLE001 - closing must not fail the caller
                    pass
        self._frames = self._audio = None
        self._frames_spec = self._audio_id = None
        self.embeddings.clear()
        self.models.clear()
        self.infos = []
