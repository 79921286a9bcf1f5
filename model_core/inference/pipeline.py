"""The video pipeline: decode once, batch, overlap decoding with the model, share audio.

A decode thread reads the frames (sequentially, already resized by the decoder to the
model's input: resizing BGR before the colour conversion is the cheapest place) and the
audio windows, and hands batches to the calling thread through a bounded queue, so memory
stays at a few batches whatever the video's length and the model never waits for the
decoder unless decoding is the slower of the two. OpenCV and PyAV release the GIL while
decoding, so a thread overlaps as well as a process would, without copying frames between
processes. The calling thread runs every model on each batch: :func:`localize_many`
decodes a video once for several checkpoints (the evaluation of three heads, the viewer's
three overlays).

Audio. The audio of a frame at time ``t`` is a 1 s window chosen by the engine's one rule
(:mod:`model_core.inference.audio_window`: by default the window of the 1 s cell holding
``t``; ``audio_hop=None`` for a window centred on every frame). Each distinct window is
read once (in the decode thread), turned into a log-mel once (shared by the models) and
embedded once per model (:func:`model_core.inference.engine.embed_windows`, the step the
viewer's worker and the export run too), then shared by the frames that use it
(:func:`model_core.inference.engine.predict_frames`). So a frame gets the same map here,
in the viewer and in the export.

Models of several families. Models are grouped by the window they hear
(:func:`~model_core.inference.audio_window.window_group`: its length, and whether it is
placed inside the file); the decoder reads each distinct window once per group and the
models of a group share it. Frames are decoded at the square input size only when every
model takes the same squashed square input (``image_size``, our heads); otherwise they
are handed over as decoded and each model resizes (and crops) them its own way.
"""
from __future__ import annotations

import functools
import math
import os
import queue
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from model_core.inference.audio_sources import ArrayAudio, AudioSource, AudioSpec, FileAudio, SilenceAudio
from model_core.inference.audio_window import (AUDIO_HOP, check_hop, group_audio_key, window_centre, window_group,
                                               window_key)
from model_core.inference.engine import (EMBEDDING_CACHE, EmbeddingCache, decode_size, embed_idents,
                                         embed_windows, lower_thread_priority, predict_frames, predict_frames_audios)
from model_core.media import frames as media_frames

#: batches decoded ahead of the model, at most
QUEUE_BATCHES = 3
#: ... and at most this many bytes of frames waiting in the queue (at least one batch): a
#: batch of 16 frames at the heads' 112 px is 0.6 MB, but 16 frames at a published model's
#: native 1080p are 100 MB, and the decoder runs ahead while the model warms up
QUEUE_BYTES = 64 * 1024 * 1024
#: how the decode thread is demoted (see ``engine.lower_thread_priority``): "idle", a nice increment, or 0.
#: Measured (benchmarks/bench_inference.py): no gain from nice 10 or SCHED_IDLE on 2 cores,
#: and a demoted decoder starves when other processes load the machine, so: 0.
DECODER_PRIORITY: int | str = 0
_DONE = object()


@dataclass
class VideoMaps:
    """Maps of one model over frames of one video.

    ``times`` are the requested times (every frame: the frames' own times), in the order
    asked; a cancelled run holds the prefix done, in increasing time. ``frame_indices`` are
    the decoded frames (the frame shown at each time) and ``audio_times`` the centres of
    the audio windows used.
    """

    times: np.ndarray          # (N,) float64 seconds
    maps: np.ndarray           # (N, h, w) float32, the model's NATIVE map (its map_kind)
    p_avc: np.ndarray          # (N,) float32
    class_probs: np.ndarray    # (N, C) float32
    silent_audio: bool         # the video has no audio track: maps computed on silence
    cancelled: bool = False
    frame_indices: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    audio_times: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    video: str = ""
    #: ``localize_many(negatives=...)``: {name: {"maps": (N, h, w), "p_avc": (N,)}}, the
    #: same frames heard with each negative audio (SPEC 5), in the order of ``times``
    negatives: dict = field(default_factory=dict)
    #: which audio stream the maps heard, when the file has several ("audio stream 1 of 2
    #: (the first that is not silent)"); "" otherwise (see ``media.audio.AudioChoice``)
    audio: str = ""
    #: that stream's index among the file's audio streams (None: no audio stream, or not
    #: the file's own audio)
    audio_stream: int | None = None

    def __len__(self) -> int:
        return int(self.times.shape[0])


@dataclass
class _Batch:
    times: np.ndarray       # (B,) requested times
    indices: np.ndarray     # (B,) frame indices
    order: np.ndarray       # (B,) position of each item in the caller's ``times``
    frames: np.ndarray | list[np.ndarray]   # (B, S, S, 3) uint8, or a list at native size
    keys: dict              # window group -> (B,) audio window keys (audio_window.window_key)
    centres: np.ndarray     # (B,) audio window centres
    windows: dict           # window group -> {key: samples}, for keys not sent before
    neg_windows: dict = field(default_factory=dict)  # negative name -> group -> {key: window}
    frame_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (B,) 1 s keys


def _plan(reader, times, fps):
    """(times, frame indices, order) to decode, in increasing time; None for every frame."""
    if times is None and fps is None:
        return None
    if times is None:
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        n = max(1, int(math.floor(reader.duration * fps - 1e-6)) + 1)
        times = np.arange(n, dtype=np.float64) / fps
        times = times[times < reader.duration] if reader.duration > 0 else times[:1]
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    if not np.isfinite(times).all():
        raise ValueError("times must be finite")
    order = np.argsort(times, kind="stable")
    idx = np.array([reader.index_at_time(float(t)) for t in times[order]], dtype=np.int64)
    return times[order], idx, order


def queue_depth(batch: int, frame_shape: tuple[int, ...]) -> int:
    """Batches of ``batch`` uint8 frames of ``frame_shape`` the decode queue may hold:
    :data:`QUEUE_BATCHES`, fewer when they would pass :data:`QUEUE_BYTES`, never under 1.
    With the batch being filled and the one the model works on, the frames in flight are
    at most this plus two batches, whatever the film's length."""
    batch_bytes = max(1, int(batch) * int(np.prod(frame_shape)))
    return max(1, min(QUEUE_BATCHES, QUEUE_BYTES // batch_bytes))


class _Decoder:
    """Reads frames and audio windows into batches on a bounded queue (``run``, in the
    thread of a :class:`Decoding`), until done or ``stop`` is set."""

    def __init__(self, reader, plan, size, batch, audio_source, hop, out: queue.Queue, negatives,
                 stop: threading.Event, groups=((1.0, False),)):
        self.negatives = dict(negatives or {})
        self.groups = list(groups)
        self.reader, self.plan, self.size, self.batch = reader, plan, size, batch
        self.audio_source, self.hop, self.out = audio_source, hop, out
        self.stop = stop
        self._sent: set = set()

    def _items(self):
        """Yield (time, frame index, order position, frame) in decoding order."""
        r, size = self.reader, self.size
        if self.plan is None:
            for k, (i, img) in enumerate(r.iter_frames(size=size)):
                yield r.time_at_index(i), i, k, img
            return
        times, idx, order = self.plan
        last_i, last_img = -1, None
        for t, i, pos in zip(times, idx, order):
            if i != last_i:
                last_img, last_i = r.read_at_index(int(i), size), i
            yield float(t), int(i), int(pos), last_img

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _flush(self, items) -> bool:
        t, i, pos, imgs = zip(*items)
        centres = np.array([window_centre(x, self.hop) for x in t])
        keys: dict[tuple, np.ndarray] = {}
        windows: dict[tuple, dict[int, np.ndarray]] = {}
        neg: dict = {name: {} for name in self.negatives}
        for g in self.groups:
            seconds, placed = g
            keys[g] = np.array([self.audio_source.window_id(c, seconds, placed) for c in centres], dtype=np.int64)
            windows[g] = {}
            for name in self.negatives:
                neg[name][g] = {}
            for k, c in zip(keys[g].tolist(), centres.tolist()):
                if (g, k) in self._sent:
                    continue
                own = windows[g][k] = self.audio_source.read_window(c, seconds, placed)
                for name, src in self.negatives.items():
                    if getattr(src, "lazy", False):      # read later, only if needed
                        neg[name][g][k] = functools.partial(src.read_window, c, seconds, placed)
                    elif hasattr(src, "from_own"):       # noise at the own window's RMS
                        neg[name][g][k] = src.from_own(own, c, seconds)
                    else:
                        neg[name][g][k] = src.read_window(c, seconds, placed)
                self._sent.add((g, k))
        frames = np.stack(imgs) if self.size is not None else list(imgs)
        return self._put(_Batch(np.array(t, np.float64), np.array(i, np.int64), np.array(pos, np.int64),
                                frames, keys, centres, windows, neg,
                                np.array([window_key(c) for c in centres], dtype=np.int64)))

    def run(self) -> None:
        lower_thread_priority(DECODER_PRIORITY)
        try:
            items = []
            for item in self._items():
                if self.stop.is_set():
                    return
                items.append(item)
                if len(items) == self.batch:
                    if not self._flush(items):
                        return
                    items = []
            if items and not self._flush(items):
                return
            self._put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            self._put(exc)


class Decoding:
    """One video's frames and audio windows, opened and decoded in a thread of their own.

    :func:`localize_many` makes one for its video; :func:`decode_ahead` starts one for the
    *next* video while the models still work on this one (``avsol eval`` on an accelerator:
    a video of ten 1 s segments is one batch, so without it the models wait for every
    video's opening, seeks and audio reads; on the CPU the decoding would take the trunks'
    cores instead, see ``evaluation.runner._DecodeAhead``). The thread opens the
    file too, so starting one never blocks the caller; an error (a missing or undecodable
    file) is raised by :func:`localize_many` when it reads this decoding. ``close`` stops
    the thread and closes the file and the audio sources (also when never read).
    """

    def __init__(self, localizers: Sequence, path: str | os.PathLike, times=None, *, fps: float | None = None,
                 audio=None, audio_hop: float | None = AUDIO_HOP, batch_size: int | None = None,
                 negatives: dict | None = None):
        locs = list(localizers)
        self.path = os.fspath(path)
        self.size = decode_size(locs)
        self.groups = list(dict.fromkeys(window_group(loc) for loc in locs))
        self.batch = int(batch_size or max(loc.batch_size for loc in locs))
        self.hop = check_hop(audio_hop)
        self.negatives = dict(negatives or {})
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_BATCHES)
        self.reader: media_frames.VideoReader | None = None
        self.source: AudioSource | None = None
        self.plan = None        # (times, frame indices, order) to decode; None: every frame
        self.total = 0
        self.silent = False
        self._opened = threading.Event()
        self._error: BaseException | None = None
        self._args = (times, fps, audio)
        self.decoder: _Decoder | None = None
        self._stop = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._open_and_decode, name="avsol-decode", daemon=True)
        self._thread.start()

    def _open_and_decode(self) -> None:
        times, fps, audio = self._args
        try:
            self.reader = media_frames.VideoReader(self.path, sparse=_sparse(times, fps))
            self.plan = _plan(self.reader, times, fps)
            self.total = self.reader.frame_count if self.plan is None else len(self.plan[0])
            shape = ((self.size[1], self.size[0], 3) if self.size is not None
                     else (self.reader.height, self.reader.width, 3))
            self.queue.maxsize = queue_depth(self.batch, shape)  # nothing was put yet
            self.source = _audio_source(audio, self.path)
            self.silent = bool(self.source.silent)
            self.decoder = _Decoder(self.reader, self.plan, self.size, self.batch, self.source, self.hop,
                                    self.queue, self.negatives, self._stop, self.groups)
        except BaseException as exc:  # noqa: BLE001 - raised by the reader of this decoding
            self._error = exc
        finally:
            self._opened.set()
        if self.decoder is not None and not self._stop.is_set():
            self.decoder.run()  # in this thread: one thread per video

    def opened(self) -> None:
        """Wait until the file is open; raise what opening it raised."""
        self._opened.wait()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        while self._thread.is_alive():  # unblock a decoder waiting on a full queue
            try:
                self.queue.get_nowait()
            except queue.Empty:
                self._thread.join(0.05)
        for src in [self.source, *self.negatives.values()]:
            if src is not None:
                src.close()
        if self.reader is not None:
            self.reader.close()


def decode_ahead(localizers: Sequence, path: str | os.PathLike, times=None, **options) -> Decoding:
    """Start decoding a video now, for a later ``localize_many(..., decoding=...)`` with the
    same localizers, path and times (``options``: ``localize_many``'s fps, audio, audio_hop,
    batch_size, negatives). Close it if it is never used."""
    return Decoding(localizers, path, times, **options)


def localize_many(localizers: Sequence, path: str | os.PathLike,
                  times: Sequence[float] | np.ndarray | None = None, *, fps: float | None = None,
                  audio: np.ndarray | AudioSource | AudioSpec | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  cancel: Callable[[], bool] | None = None, audio_hop: float | None = AUDIO_HOP,
                  batch_size: int | None = None, negatives: dict | None = None,
                  embeddings: EmbeddingCache | None = None, decoding: Decoding | None = None) -> dict:
    """Maps of several models over one video, decoding it once.

    Parameters
    ----------
    localizers : models of the :class:`~model_core.models.protocol.MapModel` protocol (our
        :class:`~model_core.inference.localizer.Localizer`, any published family) with distinct
        ``name``.
    path : the video. Audio-only, missing or undecodable files raise
        :class:`~model_core.errors.MediaError`.
    times : frame times in seconds (any order; the frame shown at each time is used).
        Default: every frame (``fps`` None) or ``k / fps`` for ``k / fps`` < duration.
    audio : what the maps hear instead of the file's own sound: a 16 kHz mono float32
        waveform (its sample 0 at the video's time 0), an
        :class:`~model_core.inference.audio_sources.AudioSource` or an
        :class:`~model_core.inference.audio_sources.AudioSpec` (silence, noise at the
        own window's RMS, another file: the viewer's choices and the negative audios of SPEC 5).
    progress : called as ``progress(done, total)`` after each batch (calling thread).
    cancel : polled between batches; when it returns True the run stops and the results
        so far are returned with ``cancelled=True``.
    audio_hop : which audio window a time uses (:mod:`model_core.inference.audio_window`):
        1 s cells by default, None for a window centred on every time.
    batch_size : frames per batch; default the largest ``batch_size`` of the localizers.
    negatives : ``{name: AudioSource}``, audios heard *as well as* ``audio`` on the same
        frames (SPEC 5's negative audios): each frame's visual features are computed once
        and read with every audio; results in ``VideoMaps.negatives[name]``. The sources
        are read in the decode thread (a ``lazy`` source's windows in this thread, only
        when not embedded already; a source with ``from_own`` gets the own window the
        decoder just read) and closed at the end.
    embeddings : an audio-embedding cache shared across calls (``avsol eval --negatives``:
        an off-screen window is another video's own window, embedded once for the run);
        default one per call. Its keys name the file, so videos never mix.
    decoding : a :func:`decode_ahead` of this video started earlier (same localizers, times
        and options; those given here are then ignored); closed when this returns.

    Returns
    -------
    dict
        ``{localizer.name: VideoMaps}``.
    """
    import torch

    locs = list(localizers)
    names = [loc.name for loc in locs]
    try:  # whatever happens, the decoding (given or made here) is closed on the way out
        if not locs or len(set(names)) != len(names):
            raise ValueError(f"localizers need distinct names, got {names}" if locs else "no localizers given")
        if decoding is None:
            decoding = Decoding(locs, path, times, fps=fps, audio=audio, audio_hop=audio_hop,
                                batch_size=batch_size, negatives=negatives)
        elif os.fspath(path) != decoding.path:
            raise ValueError(f"decoding of {decoding.path} given for {os.fspath(path)}")
        decoding.opened()
        plan, total, silent, q = decoding.plan, decoding.total, decoding.silent, decoding.queue
        source, negatives = decoding.source, decoding.negatives
        assert source is not None        # opened() raised the decoding's error otherwise
        parts: dict[str, list] = {loc.name: [] for loc in locs}
        neg_parts: dict[str, dict[str, list]] = {loc.name: {n: [] for n in negatives} for loc in locs}
        meta = []
        cancelled = False
        done = 0
        if embeddings is None:
            embeddings = EmbeddingCache(EMBEDDING_CACHE * (1 + len(negatives)))
        own_key = f"{source.key}|{os.fspath(path)}"
        with torch.inference_mode():
            while True:
                if cancel is not None and cancel():
                    cancelled = True
                    break
                item = q.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                _run_batch(locs, item, embeddings, own_key, parts, neg_parts, negatives, os.fspath(path))
                # keep the batch's times and indices only: holding its frames (and
                # windows) made memory grow with the film (~0.7 GB for 10 min at 720p)
                item.frames, item.windows, item.neg_windows = None, {}, {}
                meta.append(item)
                done += len(item.times)
                if progress is not None:
                    progress(done, max(total, done))
        if not cancelled and progress is not None and done != total:
            progress(done, done)  # a truncated file ended early: report it finished
        out = {loc.name: _assemble(parts[loc.name], meta, loc, silent, cancelled, plan, path)
               for loc in locs}
        reader = getattr(source, "reader", None)
        for vm in out.values():
            vm.audio = getattr(source, "note", "")
            vm.audio_stream = getattr(getattr(reader, "choice", None), "index", None)
        for loc in locs:
            for n in negatives:
                vm = _assemble(neg_parts[loc.name][n], meta, loc, silent, cancelled, plan, path)
                out[loc.name].negatives[n] = {"maps": vm.maps, "p_avc": vm.p_avc}
        return out
    finally:
        if decoding is not None:
            decoding.close()


#: frames planned at most this many per second are read sparsely (see :func:`_sparse`)
SPARSE_MAX_PER_S = 5.0


def _sparse(times, fps: float | None = None) -> bool:
    """Whether ``times`` (or sampling at ``fps``) are far enough apart to read sparsely
    (``VideoReader(sparse=True)``: one decoder thread, the non-reference frames between two
    wanted ones left undecoded). ``avsol eval``'s one frame per 1 s segment is: reading
    it then costs 0.60-0.64 of the CPU time of OpenCV's two threads decoding every frame,
    in 0.78-0.99 of the wall time (``python -m benchmarks.run decode``,
    ``segment_read_sparse_vs_dense``, 2 cores: the demo clip and a 720p30 file), with the
    same pixels (``tests/test_media_frames.py``)."""
    if times is None:
        return fps is not None and 0 < fps <= SPARSE_MAX_PER_S
    t = np.sort(np.asarray(times, dtype=np.float64).reshape(-1))
    return t.size < 2 or (t[-1] - t[0]) / (t.size - 1) >= 1.0 / SPARSE_MAX_PER_S


def _audio_source(audio, path) -> AudioSource:
    """The source of the maps' audio (``localize_many``'s ``audio`` argument)."""
    if audio is None:
        return FileAudio(path, "own", "own audio")
    if isinstance(audio, AudioSpec):
        return audio.open(path)
    if isinstance(audio, AudioSource):
        return audio
    return ArrayAudio(np.asarray(audio, dtype=np.float32).reshape(-1), key="array", label="given audio")


def _run_batch(locs, b: _Batch, embeddings: EmbeddingCache, audio_key: str, parts: dict,
               neg_parts: dict | None = None, negatives: dict | None = None, path: str = "") -> None:
    """The engine's step on one batch, per window group: embed its new windows (read by
    the decoder), predict; with negative audios, every audio is read from the same visual
    features."""
    for g in dict.fromkeys(window_group(loc) for loc in locs):
        _run_group(g, [loc for loc in locs if window_group(loc) == g], b, embeddings, audio_key, parts,
                   neg_parts, negatives, path)


def _run_group(g, locs, b: _Batch, embeddings: EmbeddingCache, audio_key: str, parts: dict,
               neg_parts: dict | None, negatives: dict | None, path: str) -> None:
    keys = [int(k) for k in b.keys[g]]
    names = [loc.name for loc in locs]
    akey = group_audio_key(audio_key, g)
    windows = b.windows[g]
    if not negatives:
        embed_windows(locs, names, embeddings, akey, keys, windows.__getitem__)
        for loc in locs:
            parts[loc.name].append(predict_frames(loc, loc.name, embeddings, akey, b.frames, keys))
        return
    assert neg_parts is not None                 # given with the negatives
    idents = [[(akey, k) for k in keys]]
    window_of: dict = {(akey, k): w for k, w in windows.items()}
    for n, src in negatives.items():
        ids = [_ident(src, k, k1, path, g) for k, k1 in zip(keys, b.frame_keys.tolist())]
        sent = b.neg_windows.get(n, {}).get(g, {})
        window_of.update({ids[j]: sent[k] for j, k in enumerate(keys) if k in sent})
        idents.append(ids)
    # every window of the batch, own and negative, through each audio trunk in one call
    embed_idents(locs, names, embeddings, [i for ids in idents for i in ids], lambda i: _value(window_of[i]))
    for loc in locs:
        preds = predict_frames_audios(loc, loc.name, embeddings, idents, b.frames)
        parts[loc.name].append(preds[0])
        for n, p in zip(negatives, preds[1:]):
            neg_parts[loc.name][n].append(p)


def _value(window):
    """A window sent by the decoder, or read now when it was sent as a call (lazy source)."""
    return window() if callable(window) else window


def _ident(src: AudioSource, key: int, frame_key: int, path: str, group=(1.0, False)) -> tuple[str, int]:
    """Embedding-cache identity of the window a negative source gives for frame window
    ``key`` of window ``group`` (``frame_key``: the same window's 1 s key): silence is one
    window; a source with ``ident`` names its own (an off-screen pick is another file's
    own window); others are this file's."""
    seconds = group[0]
    if isinstance(src, SilenceAudio):
        return (group_audio_key("silence", group), 0)
    ident = getattr(src, "ident", None)
    if ident is not None:
        a, k = ident(frame_key, seconds)
        return (group_audio_key(a, group) if a != "silence" else group_audio_key("silence", group), k)
    return (group_audio_key(f"{src.key}|{path}", group), key)


def _assemble(preds, meta, loc, silent, cancelled, plan, path) -> VideoMaps:
    from model_core.models.protocol import map_hw

    (mh, mw), c = map_hw(loc.map_size), len(loc.classes)
    if preds:
        maps = np.concatenate([p.maps for p in preds])
        p_avc = np.concatenate([p.p_avc for p in preds])
        probs = np.concatenate([p.class_probs for p in preds])
        times = np.concatenate([b.times for b in meta])
        idx = np.concatenate([b.indices for b in meta])
        centres = np.concatenate([b.centres for b in meta])
        order = np.concatenate([b.order for b in meta])
    else:
        maps, p_avc, probs = np.zeros((0, mh, mw), np.float32), np.zeros(0, np.float32), np.zeros((0, c), np.float32)
        times, centres = np.zeros(0), np.zeros(0)
        idx = order = np.zeros(0, np.int64)
    if plan is not None and not cancelled:  # back to the caller's order of times
        inv = np.empty_like(order)
        inv[order] = np.arange(len(order))
        maps, p_avc, probs, times, idx, centres = (a[inv] for a in (maps, p_avc, probs, times, idx, centres))
    return VideoMaps(times.astype(np.float64), maps.astype(np.float32, copy=False), p_avc, probs,
                     silent, cancelled, idx, centres.astype(np.float64), os.fspath(path))
