"""File › Export overlay video: the view's overlay as an mp4 (H.264 + AAC) with its sound.

The "do" half of the command (the dialogs are in ``export_dialog``): :func:`export_overlay`
reads what the window shows into an immutable :class:`ExportJob` on the GUI thread and
runs it in an :class:`ExportWorker` thread; :func:`export_video` is the blocking work
itself, usable from any thread and from tests.

Maps come from the viewer's own :class:`~model_core.inference.map_cache.MapCache`: frames
whose maps the viewer already computed cost nothing. Missing ones are computed by the map
engine (:class:`~model_core.inference.engine.MapEngine`, the code ``avsol infer`` and the
viewer run) in the export's own thread, a chunk of frames at a time, into that same cache:
no second worker thread, no polling. It is not the viewer's worker because that one serves
the playhead with a latest-request-wins mailbox: sharing it, the export and the user would
keep cancelling each other.

The export reuses the models the viewer already loaded (``localizers``): the map cache's
keys name exactly those models, nothing is loaded twice (memory, seconds), and a
checkpoint rewritten on disk since cannot slip in. That is safe because a ``Localizer``
holds no state that a forward pass changes (eval mode, ``torch.inference_mode``, no
buffers written), so the viewer's worker and the export may run it at the same time; the
worker dropping its reference on close does not free a model the export still holds. A
model that is not loaded in the viewer is loaded here with the viewer's factory.

The file is written in one streaming pass (constant memory whatever the length: frames
are decoded, drawn and encoded one at a time, the sound read in blocks and interleaved)
to a temporary file beside the target that replaces it only when complete; a cancelled
or failed export leaves the target as it was.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import Signal

from avsol_viewer.export.export_media import SoundFeed
from avsol_viewer.export.export_render import Layout, RenderOptions, compose_grid, render_tile
from avsol_viewer.workers import TrackedThread
from model_core.inference.audio_sources import AudioSpec
from model_core.inference.audio_window import AUDIO_HOP
from model_core.inference.frame_sources import FrameSpec
from model_core.inference.map_cache import MapCache, MapKey

log = logging.getLogger(__name__)
#: Frames of maps computed in one go when the frame being encoded lacks its maps.
AHEAD = 16
SOUNDS = ("own", "maps")


class ExportCancelled(Exception):
    """The export was cancelled (nothing was written)."""


class ExportError(Exception):
    """The export cannot run or could not finish (the message says why)."""


@dataclass(frozen=True, eq=False)
class ExportJob:
    """Everything an export needs, fixed when it starts (the user may go on using the view).

    ``models`` are the views' heads in order (``ModelInfo``: key, name, head, path);
    ``layout`` is ``single`` (one head, or the plain frame when ``models`` is empty) or
    ``side_by_side`` (the plain frame, then each head); ``sound`` is ``own`` (the file's
    track at its own rate when AAC can encode it) or ``maps`` (what the maps heard:
    silence, noise or another file's track, 16 kHz). ``end`` None: to the last frame.
    """

    video_path: str
    video_key: str
    out_path: str
    models: tuple = ()
    layout: str = "single"
    lut: np.ndarray = field(default_factory=lambda: np.zeros((256, 4), np.uint8))
    options: RenderOptions = RenderOptions()
    audio: AudioSpec = AudioSpec()
    audio_hop: float | None = AUDIO_HOP
    annotations: object = None
    start: float = 0.0
    end: float | None = None
    sound: str = "own"
    max_width: int = 1920
    #: each model's display traits (``map_service.HeadTraits``: how its native map is
    #: normalised, which part of the frame it covers), in ``models`` order; empty: ours
    traits: tuple = ()
    crf: int = 20
    preset: str = "veryfast"

    def __post_init__(self) -> None:
        if self.layout not in ("single", "side_by_side"):
            raise ValueError(f"unknown layout {self.layout!r}")
        if self.sound not in SOUNDS:
            raise ValueError(f"unknown sound {self.sound!r}")
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"empty time range {self.start:g}..{self.end:g} s")


@dataclass(frozen=True)
class ExportResult:
    path: str
    frames: int
    size: tuple[int, int]
    fps: float
    duration: float
    has_audio: bool
    computed_maps: int        # frames of the range whose maps were not all cached at the start
    seconds: float            # wall time


def frame_range(reader, start: float, end: float | None) -> tuple[int, int]:
    """[first, stop) frame indices of the frames shown from ``start`` to ``end`` seconds."""
    i0 = reader.index_at_time(max(0.0, start))
    if end is None or end >= reader.duration:
        return i0, reader.frame_count
    stop = reader.index_at_time(end)
    if reader.time_at_index(stop) < end - 1e-6:  # that frame starts before ``end``: include it
        stop += 1
    return i0, min(max(stop, i0 + 1), reader.frame_count)


class _MapFeed:
    """Maps of each frame for the job's models, from the cache or computed here (see module)."""

    def __init__(self, job: ExportJob, cache: MapCache, factory, localizers: dict | None,
                 cancel: threading.Event, stop: int):
        self.job, self.cache, self.factory, self.cancel, self.stop = job, cache, factory, cancel, stop
        self.localizers = dict(localizers or {})
        self.keys = [m.key for m in job.models]
        self._engine = None
        self._frames = FrameSpec(job.video_path)

    def _missing(self, index: int) -> list[str]:
        return self.cache.missing(self.job.video_key, self.keys, self.job.audio.key, index)

    def count_cached(self, lo: int, hi: int) -> int:
        """Frames of [lo, hi) whose maps are all cached already (the export's head start)."""
        if not self.keys:
            return hi - lo
        return sum(not self._missing(i) for i in range(lo, hi))

    def entries(self, index: int) -> list:
        """The models' entries for frame ``index``, computing the next chunk if needed."""
        if not self.keys:
            return []
        if self._missing(index):
            self._fill(index)
            if self.cancel.is_set():
                raise ExportCancelled()
        got = [self.cache.get(MapKey(self.job.video_key, k, self.job.audio.key, index)) for k in self.keys]
        if any(e is None for e in got):  # evicted at once: the cache is far too small
            raise ExportError(f"maps of frame {index} could not be kept (map cache too small)")
        return got

    def _fill(self, index: int) -> None:
        """Compute the missing maps of frames ``index`` .. ``index + AHEAD`` (capped at the end)."""
        from model_core.inference.engine import one_line

        engine = self._engine or self._open()
        todo = {i: m for i in range(index, min(self.stop, index + AHEAD)) if (m := self._missing(i))}
        chunk = list(todo)
        for lo in range(0, len(chunk), engine.batch):
            if self.cancel.is_set():
                raise ExportCancelled()
            part = chunk[lo:lo + engine.batch]
            try:
                engine.compute(self.job.video_key, self._frames, self.job.audio, part, self.job.audio_hop,
                               {i: todo[i] for i in part}, stop=self.cancel.is_set)
            except (ExportCancelled, ExportError):
                raise
            except Exception as exc:  # noqa: BLE001 - a source or model failure: one line
                raise ExportError(f"maps: {one_line(exc)}") from None

    def _open(self):
        """The export's engine, with the viewer's models (or loaded here when not given)."""
        from model_core.inference.engine import MapEngine, model_key, one_line

        engine = MapEngine(self.cache, self.factory, batch=8)
        for m in self.job.models:
            loc = self.localizers.get(m.key)
            if loc is not None:
                engine.add(m.key, loc, m.path)
                continue
            if model_key(m.path) != m.key:
                raise ExportError("maps: a checkpoint changed on disk since the viewer loaded it; load it again")
            try:
                loc = engine.factory(m.path)
            except Exception as exc:  # noqa: BLE001 - CheckpointError, InputError, anything
                raise ExportError(f"maps: {one_line(exc, m.path)}") from None
            engine.add(m.key, loc, m.path)
        self._engine = engine
        return engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None


def _head_label(model, entry) -> str:
    """The view's title in short: the viewer's head title (``head_style``, in ASCII), p(av)."""
    from avsol_viewer.maps.head_style import head_label

    from avsol_viewer.core.map_display import p_avc_text

    name = head_label(model.name, model.head, sep=" - ")
    p_avc = p_avc_text(entry.p_avc) if entry is not None else ""  # only where the family has one
    text = f"{name}  {p_avc}" if p_avc else name
    return text + ("  on silence" if entry is not None and entry.silent_audio else "")


def render_frame(job: ExportJob, frame: np.ndarray, index: int, t: float, entries: list, layout: Layout,
                 memo: dict | None = None) -> np.ndarray:
    """The output picture of one source frame: its views drawn and placed (see export_render)."""
    from avsol_viewer.maps.map_service import DEFAULT_TRAITS
    from model_core.media.frames import resize_frame

    found = job.annotations.at(t) if job.annotations is not None else None
    segment = found[1] if found else None
    base = frame if (frame.shape[1], frame.shape[0]) == layout.tile else resize_frame(frame, layout.tile)
    views = []
    if job.layout == "side_by_side" or not job.models:
        views.append((None, f"Frame {index}  {t:.3f} s"))
    h, w = frame.shape[:2]
    for k, (m, e) in enumerate(zip(job.models, entries)):
        traits = job.traits[k] if k < len(job.traits) else DEFAULT_TRAITS
        dm = traits.prepare(e.map, job.options.scale, w, h) if e is not None else None
        views.append((dm, _head_label(m, e)))
    tiles = [render_tile(base, dm, job.lut, job.options, segment, label) for dm, label in views]
    return compose_grid(tiles, layout)


def export_video(job: ExportJob, cache: MapCache | None = None, localizer_factory=None, progress=None,
                 cancel: threading.Event | None = None, localizers: dict | None = None) -> ExportResult:
    """Write ``job`` (blocking). ``progress(done, total)`` is called per frame.

    ``localizers`` ({model key: localizer}) are models already loaded (the viewer's); the
    job's other models are loaded with ``localizer_factory`` (default: the engine's).

    Raises
    ------
    ExportCancelled
        ``cancel`` was set; the target is untouched.
    ExportError, model_core.errors.InputError
        Nothing to export, an unreadable video, an unwritable target, a model that fails.
    """
    from model_core.atomic import atomic_path
    from model_core.errors import InputError
    from model_core.media.frames import VideoReader
    from model_core.media.writer import Mp4Writer

    from model_core.input_protection import OWN_VIDEO_METADATA
    from model_core.input_protection import beside
    from model_core.outputs.checks import check_writable_output

    # never over the video shown, the files beside it, a model, or any media file but an
    # earlier export (input_protection: the one rule of every writer)
    check_writable_output(job.out_path, "video", [*beside(job.video_path), getattr(job.audio, "path", None),
                                                  *(getattr(m, "path", None) for m in job.models)])
    t_start = time.perf_counter()
    cancel = cancel or threading.Event()
    cache = cache if cache is not None else MapCache()
    reader = VideoReader(job.video_path)
    feed = sound = None
    try:
        i0, i1 = frame_range(reader, job.start, job.end)
        total = i1 - i0
        n_views = len(job.models) + 1 if job.layout == "side_by_side" else 1
        layout = Layout.for_views(n_views, reader.width, reader.height, job.max_width)
        feed = _MapFeed(job, cache, localizer_factory, localizers, cancel, i1)
        cached = feed.count_cached(i0, i1)
        t0 = reader.time_at_index(i0)
        sound = SoundFeed(job.video_path, t0, job.audio if job.sound == "maps" else None)
        done = 0
        try:
            with atomic_path(job.out_path) as tmp:
                enc = Mp4Writer(tmp, layout.size, reader.fps, sound.rate, crf=job.crf, preset=job.preset,
                                audio_bitrate=96000, container="mp4", metadata=OWN_VIDEO_METADATA)
                complete = False
                try:
                    for i, img in reader.iter_frames(i0, stop_index=i1):
                        if cancel.is_set():
                            raise ExportCancelled()
                        t = reader.time_at_index(i)
                        enc.picture(render_frame(job, img, i, t, feed.entries(i), layout))
                        done += 1
                        if sound.rate:
                            enc.sound(sound.until(done / reader.fps))
                        if progress is not None:
                            progress(done, total)
                    if sound.rate:
                        enc.sound(sound.until(done / reader.fps), final=True)
                    complete = True
                finally:
                    enc.close(complete)
        except OSError as exc:
            raise InputError(job.out_path, f"cannot write the video ({exc.strerror or exc})") from None
        return ExportResult(str(job.out_path), done, layout.size, float(reader.fps), done / reader.fps,
                            bool(sound.rate), total - cached, time.perf_counter() - t_start)
    finally:
        for obj in (feed, sound, reader):
            if obj is not None:
                obj.close()


class ExportWorker(TrackedThread):
    """Runs :func:`export_video` in the background; Cancel = :meth:`request_stop`."""

    progress = Signal(int, int)    # frames done, total
    done = Signal(object)          # ExportResult
    failed = Signal(str)           # one line for the user
    cancelled = Signal()

    def __init__(self, job: ExportJob, cache: MapCache | None = None, localizer_factory=None,
                 localizers: dict | None = None, parent=None):
        super().__init__("avsol-export", parent)
        self.job, self.cache, self.factory, self.localizers = job, cache, localizer_factory, localizers
        self._cancel = threading.Event()
        self._last_emit = 0.0

    def request_stop(self) -> None:
        self._cancel.set()

    def _progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - self._last_emit >= 0.1:
            self._last_emit = now
            self.progress.emit(done, total)

    def run(self) -> None:
        try:
            result = export_video(self.job, self.cache, self.factory, self._progress, self._cancel,
                                  self.localizers)
        except ExportCancelled:
            self.cancelled.emit()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message, never a crash
            self.failed.emit(failure_message(exc))
        else:
            self.done.emit(result)


def failure_message(exc: BaseException) -> str:
    """One line for the user: our errors already say what and where; others get their type."""
    from model_core.errors import InputError

    if isinstance(exc, (ExportError, InputError)):
        return str(exc)
    log.error("export failed", exc_info=exc)
    return f"{type(exc).__name__}: {exc}"


def job_for_window(ctx, out_path: str | os.PathLike, start: float = 0.0, end: float | None = None,
                   sound: str = "own", layout: str | None = None, max_width: int = 1920,
                   labels: bool = True) -> ExportJob:
    """An :class:`ExportJob` of what the window shows now (its heads, layout, colours, audio);
    ``ctx`` is its :class:`~avsol_viewer.context.WindowContext`."""
    from avsol_viewer.maps.colormaps import overlay_lut

    c = ctx.controller
    s = c.session
    if s is None:
        raise ExportError("no video is open")
    o = ctx.options
    models = tuple(ctx.presenter.visible_models())
    return ExportJob(video_path=str(s.path), video_key=s.key, out_path=os.fspath(out_path),
                     models=models, traits=tuple(c.maps.traits(m.key) for m in models), layout=layout or o.layout,
                     lut=overlay_lut(o.colormap, o.opacity), options=RenderOptions.like(o, labels),
                     audio=c.maps.audio, audio_hop=c.maps.audio_hop, annotations=s.annotations,
                     start=float(start), end=None if end is None else float(end), sound=sound,
                     max_width=int(max_width))


def export_overlay(ctx, out_path: str | os.PathLike, **options) -> ExportWorker:
    """Start exporting what the window shows to ``out_path`` (no dialogs; see job_for_window
    for ``options``). The caller connects to the worker's signals; it is already running."""
    job = job_for_window(ctx, out_path, **options)
    maps = ctx.controller.maps
    worker = ExportWorker(job, maps.cache, maps.worker.localizer_factory, maps.worker.loaded_localizers(),
                          parent=ctx.widget)
    worker.start()
    return worker
