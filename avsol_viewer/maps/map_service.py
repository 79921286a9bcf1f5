"""The GUI thread's side of the map pipeline: requests, models, and reading the cache.

It turns "the playhead is at frame i" into a :class:`~model_core.inference.engine.MapRequest`
(a new generation each time), forwards checkpoint loads, and answers "which map do I draw
for model m at frame i" from the cache: the frame's own map, or while playing the closest
earlier one within a fraction of a second (marked stale), so the overlay follows the
picture when the model is slower than the video.

While playing, every frame's map is asked for when the engine keeps up; when it does not,
only every k-th frame's (:class:`PlayingStride`, from the worker's measured pace), and the
overlay shows the nearest earlier map: the frames displayed come first, the maps per frame
second.

With ``map_process`` (``avsol-viewer``'s window), the worker computes the maps in a child
process, off the viewer's GIL (``MapWorker``); what this service asks and reads is the same.

Any model is a head: ours or a published family's, loaded by pointing at its
file. What the display needs to know about a loaded model beyond ``ModelInfo`` (its
family, the scale of its native maps, the part of the frame it sees) is read once from
the model itself (the ``MapModel`` protocol) into a :class:`HeadTraits`.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QObject, Signal

from avsol_viewer.maps.map_worker import MapWorker
from model_core.inference.audio_sources import AudioSpec
from model_core.inference.audio_window import AUDIO_HOP
from model_core.inference.engine import MapRequest, ModelInfo
from model_core.inference.frame_sources import FrameSpec
from model_core.inference.map_cache import MapCache, MapEntry, MapKey

#: Seconds of frames filled ahead of the playhead (paused / playing).
AHEAD_PAUSED_S = 4.0
AHEAD_PLAYING_S = 2.0
#: While playing, a map up to this old may stand in for the frame's own (seconds), or up
#: to the playing stride when that is longer (the nearest earlier grid map).
STALE_S = 0.5
#: The longest playing stride (seconds of video): past it an overlay would say little about
#: the picture under it, so the maps are asked for at least this often.
MAX_STRIDE_S = 2.0
#: While playing, the share of the wall clock the map worker may spend on the maps of the
#: frames played (its measured seconds per map x models x frames per second / stride): the
#: rest is the display's. Every frame's maps costing more than the display can spare
#: dropped displayed frames (benchmarks/README.md, viewer playback), so the stride grows
#: until the maps fit in this share.
PLAYING_BUSY_SHARE = 0.8
#: A smaller stride is taken again only when it fits in this fraction of the share, so a
#: pace that hovers at the boundary does not switch the stride every frame.
STRIDE_DOWN_MARGIN = 0.8
#: Steps the worker must have timed before playback may go without maps (``starved``): the
#: first steps of a file include opening the decoder and seeking.
STARVED_AFTER_STEPS = 8
#: While playing, maps are asked for at least this often (per second of video): the
#: measured pace only makes the stride SHORTER than this rate's (more maps when the engine
#: keeps up), never longer. The pace's reading cost is measured on the worker's wall clock,
#: which the display thread's painting also takes (the GIL), so on a quiet 2-core machine it
#: read 26 ms a 720p frame and asked for far fewer maps than the fixed rate delivered in time
#: (benchmarks/README.md, viewer playback, before/after).
MIN_PLAYING_MAPS_PER_S = 10.0


class PlayingStride:
    """The playing stride k (maps of every k-th frame) from the engine's pace.

    Playing at stride k, one second of video costs the worker ``fps x (read + model / k)``
    seconds of its wall clock: every frame is decoded (``read`` per frame), one in k gets
    the models' maps (``model`` per frame, every model). The stride is the smallest k for
    which that fits in ``share``. It grows at once when the maps stop fitting (displayed
    frames are the hard target) and shrinks only when the smaller stride fits in ``share x
    margin``. It never exceeds ``limit``. When even ``limit`` does not fit (decoding alone
    may not), ``starved`` is True: the service then asks for no maps while playing, since
    the worker's decoding of every frame would take the display's time (measured:
    benchmarks/README.md, viewer playback). Before anything was measured it is 1. Pure
    arithmetic: no Qt, no clock.
    """

    def __init__(self, share: float = PLAYING_BUSY_SHARE, margin: float = STRIDE_DOWN_MARGIN):
        self.share, self.margin = float(share), float(margin)
        self.k = 1
        self.starved = False

    def update(self, fps: float, seconds_per_frame: float | None, limit: int,
               read_seconds_per_frame: float = 0.0) -> int:
        """The stride for playing at ``fps`` when one frame's maps (every model) take
        ``seconds_per_frame`` (None: not measured yet) and reading one frame
        ``read_seconds_per_frame``, at most ``limit``."""
        limit = max(1, int(limit))
        if seconds_per_frame is None:
            self.k = min(self.k, limit)
            return self.k
        model = max(0.0, float(seconds_per_frame)) * float(fps)        # seconds per second at k = 1
        read = max(0.0, float(read_seconds_per_frame)) * float(fps)    # the same at any k
        room = self.share - read
        need = limit if room <= 0 else max(1, math.ceil(model / room - 1e-9))
        k = self.k
        if need > k:
            k = need
        else:
            while k > 1 and read + model / (k - 1) <= self.share * self.margin:
                k -= 1
        self.k = min(k, limit)
        self.starved = read + model / self.k > self.share + 1e-9
        return self.k


def _full_frame(width: int, height: int) -> tuple[float, float, float, float]:
    return (0.0, 0.0, float(width), float(height))


@dataclass(frozen=True)
class HeadTraits:
    """What the display needs of a loaded model (``MapModel``'s attributes, read once):
    ``family`` (``dnm`` or a published family's key), ``map_kind`` and ``tau`` (how its
    native maps are normalised before colouring) and ``crop(width, height)`` (the pixels
    of the frame its map covers)."""

    family: str = "dnm"
    map_kind: str = "sigmoid"
    tau: float | None = None
    crop: Callable[[int, int], tuple] = _full_frame

    @classmethod
    def of(cls, model) -> "HeadTraits":
        tau = model.tau
        return cls(str(model.family), str(model.map_kind), None if tau is None else float(tau), model.crop)

    def region(self, width: int, height: int) -> tuple[float, float, float, float]:
        """The map's region in fractions of a ``width`` x ``height`` frame."""
        from avsol_viewer.core.map_display import crop_region

        return crop_region(self.crop(int(width), int(height)), width, height)

    def prepare(self, raw, scale: str, width: int, height: int):
        """``map_display.prepare`` of a native map of this model on a ``width`` x ``height``
        frame: normalised by its kind, placed on its crop."""
        from avsol_viewer.core.map_display import prepare

        return prepare(raw, scale, map_kind=self.map_kind, tau=self.tau, region=self.region(width, height))

    def normalised_entry(self, entry):
        """``entry`` with its map in [0, 1] (what scoring reads; ours are already)."""
        if self.map_kind == "sigmoid":
            return entry
        import dataclasses

        from model_core.models.protocol import normalise

        return dataclasses.replace(entry, map=normalise(entry.map, self.map_kind, self.tau))


#: Traits of a head that is not a loaded model (a live recording's stored maps: sigmoid,
#: whole frame, as they were written).
DEFAULT_TRAITS = HeadTraits()


class MapService(QObject):
    """Owns the cache and the worker thread; see the module docstring."""

    maps_ready = Signal(object)        # list of frame indices of the current video + audio
    models_changed = Signal(object)    # list[ModelInfo]
    model_loading = Signal(str)
    model_failed = Signal(str, str)
    problem = Signal(str)
    idle = Signal()                    # the latest request is fully served
    audio_maps_ready = Signal(str, object)  # audio key, frame indices: maps of the current video, any audio

    def __init__(self, localizer_factory=None, cache: MapCache | None = None, parent=None,
                 clock: Callable[[], float] | None = None, map_process: bool = False):
        super().__init__(parent)
        self.cache = cache or MapCache()
        # map_process: the maps computed in a child process (MapWorker's docstring)
        self.worker = MapWorker(self.cache, localizer_factory, use_process=map_process,
                                **({} if clock is None else {"clock": clock}))
        #: the stride of the latest request while playing (1: every frame's map)
        self.stride_policy = PlayingStride()
        self.models: list[ModelInfo] = []
        self.audio = AudioSpec()
        #: the engine's audio-window rule (model_core.inference.audio_window): 1 s cells, as
        #: ``avsol infer``/``eval``; None computes a window per frame
        self.audio_hop: float | None = AUDIO_HOP
        self._video: str | None = None
        self._frames: FrameSpec | None = None
        self._fps = 25.0
        self._generation = 0
        self._last: MapRequest | None = None
        self.pending_loads = 0
        #: Why maps of the current video cannot be computed (the worker's last failure),
        #: cleared when maps arrive again or another video opens.
        self.failure: str | None = None
        #: (path, message) of checkpoints that failed to load, newest last.
        self.load_failures: list[tuple[str, str]] = []
        #: called with the video key when a video is set, before any request for it (live
        #: recordings put their recorded maps into the cache here)
        self.video_hooks: list = []
        self._traits: dict[str, HeadTraits] = {}
        self.worker.maps_ready.connect(self._on_maps_ready)
        self.worker.models_changed.connect(self._on_models_changed)
        self.worker.unloaded.connect(self._on_unloaded)
        self.worker.model_loading.connect(self.model_loading)
        self.worker.model_failed.connect(self._on_model_failed)
        self.worker.problem.connect(self._on_problem)
        self.worker.idle.connect(self._on_idle)

    def start(self) -> None:
        if not self.worker.isRunning():
            self.worker.start()

    def stop(self) -> None:
        self.worker.stop_and_wait()

    # -- inputs -------------------------------------------------------------------------
    def load_checkpoint(self, path: str | os.PathLike, family: str | None = None) -> None:
        """Load any supported checkpoint (ours, ``.pt``; a published family's, ``.pth`` /
        ``.pth.tar``, detected from its keys or ``family``, ``--model-family``)."""
        self.pending_loads += 1
        self.start()
        self.worker.load_checkpoint(path, family)

    def traits(self, key: str) -> HeadTraits:
        """The display traits of the loaded model ``key`` (:data:`DEFAULT_TRAITS` for a
        head that is not a loaded model)."""
        got = self._traits.get(key)
        if got is None:
            model = self.worker.loaded_localizers().get(key)
            if model is None:
                return DEFAULT_TRAITS
            got = self._traits[key] = HeadTraits.of(model)
        return got

    def unload(self, key: str) -> None:
        """Unload the model ``key`` (``models_changed`` follows)."""
        self.worker.unload(key)

    def set_video(self, key: str | None, frames: FrameSpec | None, fps: float = 25.0) -> None:
        self._video, self._frames, self._fps = key, frames, fps or 25.0
        self._last = None
        self.failure = None
        if key is not None:
            for hook in self.video_hooks:
                hook(key)

    def set_audio(self, spec: AudioSpec) -> None:
        self.audio = spec
        if self._last is not None:
            self.want(self._last.index, playing=False, priority=self._last.priority)

    def want(self, index: int, playing: bool = False, priority: tuple[int, ...] = ()) -> None:
        """The playhead is at ``index``: post a request (latest wins)."""
        if self._video is None or self._frames is None:
            return
        ahead = int(round((AHEAD_PLAYING_S if playing else AHEAD_PAUSED_S) * self._fps))
        stride = self.playing_stride() if playing else 1
        self._generation += 1
        # playing: the maps of the frames the display decoder handed over (frame_sources.
        # HandedFrames), not a second decode of each frame; paused: today's path
        req = MapRequest(self._generation, self._video, self._frames, int(index), tuple(priority),
                         ahead, self.audio, self.audio_hop, stride,
                         decoded_only=playing and self._frames.handed is not None)
        self._last = req
        self.start()
        self.worker.submit(req)

    @property
    def starved(self) -> bool:
        """Even the longest stride would take more than the worker's share
        (:class:`PlayingStride`), measured over enough steps. Reported (the playback
        benchmark), not acted on: playing still gets :data:`MIN_PLAYING_MAPS_PER_S`."""
        return self.stride_policy.starved and self.worker.pace.steps >= STARVED_AFTER_STEPS

    def longest_playing_stride(self) -> int:
        """The stride of :data:`MIN_PLAYING_MAPS_PER_S` at this video's frame rate."""
        return max(1, int(round(self._fps / MIN_PLAYING_MAPS_PER_S)))

    def playing_stride(self) -> int:
        """Maps of every k-th frame while playing: :class:`PlayingStride` on the worker's
        pace (seconds per map x the models loaded, reading per frame), at most
        :meth:`longest_playing_stride`."""
        pace = self.worker.pace
        per_map = pace.seconds_per_map
        per_frame = None if per_map is None else per_map * max(1, len(self.models))
        k = self.stride_policy.update(self._fps, per_frame, int(round(MAX_STRIDE_S * self._fps)),
                                      pace.read_seconds_per_frame)
        return min(k, self.longest_playing_stride())

    def want_audio(self, index: int, spec: AudioSpec) -> None:
        """Maps of frame ``index`` heard with ``spec`` (not the shown audio): the "Follows the
        sound?" comparison. Supersedes the playhead's request until :meth:`want` again."""
        if self._video is None or self._frames is None:
            return
        self._generation += 1
        self.start()
        self.worker.submit(MapRequest(self._generation, self._video, self._frames, int(index), (), 0, spec,
                                      self.audio_hop))

    def entry_with(self, model: str, index: int, audio_key: str) -> MapEntry | None:
        """The cached map of ``model`` at ``index`` heard with the audio ``audio_key``."""
        if self._video is None:
            return None
        return self.cache.get(MapKey(self._video, model, audio_key, index))

    # -- outputs ------------------------------------------------------------------------
    def entry(self, model: str, index: int, playing: bool = False) -> tuple[MapEntry | None, int]:
        """(map to draw for ``model`` at ``index``, how many frames old it is). While
        playing, the nearest earlier map within :data:`STALE_S` or the playing stride."""
        if self._video is None:
            return None, 0
        back = max(int(round(STALE_S * self._fps)), self.stride_policy.k - 1) if playing else 0
        hit = self.cache.nearest_before(self._video, model, self.audio.key, index, back)
        if hit is None:
            return None, 0
        return hit[1], index - hit[0]

    def has(self, model: str, index: int) -> bool:
        return self._video is not None and MapKey(self._video, model, self.audio.key, index) in self.cache

    def ready_at(self, index: int) -> bool:
        """Every loaded model has its map of frame ``index``."""
        return all(self.has(m.key, index) for m in self.models)

    def count(self, model: str) -> int:
        return self.cache.count(self._video, model, self.audio.key) if self._video else 0

    @property
    def loading(self) -> bool:
        return self.pending_loads > 0

    # -- worker signals -----------------------------------------------------------------
    def _on_maps_ready(self, video: str, audio: str, indices) -> None:
        if video == self._video:
            self.audio_maps_ready.emit(audio, list(indices))
        if video == self._video and audio == self.audio.key:
            self.failure = None
            self.maps_ready.emit(list(indices))

    def _on_problem(self, message: str) -> None:
        self.failure = message
        self.problem.emit(message)

    def _on_models_changed(self, infos) -> None:
        self.pending_loads = max(0, self.pending_loads - 1)
        self.models = list(infos)
        self.models_changed.emit(self.models)

    def _on_unloaded(self, infos) -> None:  # not a load: pending_loads stays
        self.models = list(infos)
        self.models_changed.emit(self.models)

    def _on_model_failed(self, path: str, message: str) -> None:
        self.pending_loads = max(0, self.pending_loads - 1)
        self.load_failures.append((path, message))
        self.model_failed.emit(path, message)

    def _on_idle(self, generation: int) -> None:
        if generation == self._generation:
            self.idle.emit()
