"""The viewer's state and workers, without widgets: what is open, what is shown, when.

The window (``main_window``) is a thin shell around this object: it forwards user
commands here and redraws on its signals, so the tests can drive everything (open, seek,
play on a manual clock, load models) without a single dialog.

Frames: the player announces the frame due; the display shows the newest decoded frame
at or before it. A frame that arrives after a newer one became due is still shown if
nothing newer is on screen (so a slow decoder still shows pictures), and a due frame that
is never shown counts as dropped: late frames are dropped, never queued.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from avsol_viewer.core.annotation_finder import VideoSegments
from avsol_viewer.playback.clock import AudioClock, WallClock
from avsol_viewer.core.session import Session, open_session
from avsol_viewer.maps.map_service import MapService
from avsol_viewer.playback.audio_loader import AudioLoader, TrackAudio
from avsol_viewer.playback.frame_source import FrameSource
from avsol_viewer.playback.player import Player
from model_core.inference.frame_sources import FrameSpec, HandedFrames
from model_core.lru import LRU

log = logging.getLogger(__name__)
#: Loaded tracks (spectrogram overview + cached tiles: at most ~17 MB each, whatever the
#: length; playback streams from the file) kept for a quick reopen: at most this many, and
#: at most this many bytes beside the open file's.
TRACKS_KEPT = 3
TRACKS_BYTES = 64 * 1024 * 1024


def default_clock(track: TrackAudio | None):
    """(clock, status text): the audio output's clock when sound can play, else wall time."""
    from avsol_viewer.playback.audio_output import AudioUnavailable, open_output

    if track is None:
        return WallClock(), ""
    if not track.has_audio:
        return WallClock(), "no audio track"
    try:
        out = open_output(track.stream(), track.sample_rate)
    except AudioUnavailable as exc:
        return WallClock(), f"no audio output: {exc}"
    return AudioClock(out), f"audio out {out.device_rate} Hz"


def wall_clock(track: TrackAudio | None):
    """A clock factory without sound (headless runs)."""
    return WallClock(), ("no audio output (headless)" if track is not None else "")


class ViewerController(QObject):
    """Open file, player, frame decoder, audio loader and map service, wired together.

    Parameters
    ----------
    localizer_factory : path -> Localizer-like (tests pass fakes); default real Localizer.
    clock_factory : TrackAudio | None -> (Clock, status); default :func:`default_clock`.
    autotick : let the player's timer run (tests step a manual clock instead).
    map_process : compute the maps in a child process (``MapWorker``; the app's window).
    """

    session_changed = Signal(object)     # Session
    frame_shown = Signal(int, object)    # index, RGB image
    track_changed = Signal(object)       # TrackAudio | None
    annotations_changed = Signal(object)  # VideoSegments | None
    maps_changed = Signal()              # maps of what is on screen may have changed
    audio_status = Signal(bool, str)     # sound plays, status text
    message = Signal(str)                # a line for the status bar
    track_failed = Signal(str)           # the open file's sound track cannot be decoded (why)

    def __init__(self, localizer_factory=None, clock_factory=None, autotick: bool = True, parent=None,
                 map_process: bool = False):
        super().__init__(parent)
        self.player = Player(self, autotick=autotick)
        self.maps = MapService(localizer_factory, parent=self, map_process=map_process)
        self.clock_factory = clock_factory or default_clock
        self.session: Session | None = None
        self.track: TrackAudio | None = None
        self.track_failure: str | None = None
        self.frames: FrameSource | None = None
        self.image = None
        self.shown_index = -1
        self.displayed = 0
        self.dropped = 0
        self._due_shown = True
        self._last_due = -1
        self._loaders: list[AudioLoader] = []
        self._tracks: LRU[str, TrackAudio] = LRU()
        self._closed = False
        self.player.index_changed.connect(self._on_index)
        self.maps.maps_ready.connect(self._on_maps_ready)
        self.maps.models_changed.connect(self._on_models_changed)
        self.player.playing_changed.connect(self._on_playing_changed)

    # -- opening ------------------------------------------------------------------------
    def open(self, path: str | Path) -> Session:
        """Open ``path``; on error (``InputError``) nothing changes and the error propagates."""
        session = open_session(path)
        self._close_session()
        self.session = session
        # the display's decoder hands its frames to the map engine (playing: one decode a frame)
        handed = HandedFrames()
        self.frames = FrameSource(session.take_reader(), parent=self, handed=handed)
        self.frames.frame_ready.connect(self._on_frame_ready)
        self.frames.failed.connect(self._on_frame_failed)
        self.frames.start()
        self.maps.set_video(session.key, FrameSpec(str(session.path), handed), session.timeline.fps)
        self.track = None
        self.track_failure = None
        clock, _ = self.clock_factory(None)
        self.shown_index = -1
        self.player.set_timeline(session.timeline, clock)
        self._show(0, session.first_frame)
        self.session_changed.emit(session)
        self.annotations_changed.emit(session.annotations)
        self.track_changed.emit(None)
        cached = self._tracks.get(session.key)
        if cached is not None:
            self._set_track(cached)
        else:
            self._start_loader(session)
        for w in session.warnings:
            self.message.emit(w)
        if session.annotation_note:
            self.message.emit(session.annotation_note)
        return session

    def _start_loader(self, session: Session) -> None:
        loader = AudioLoader(session.key, str(session.path), session.timeline.duration, parent=self)
        loader.loaded.connect(self._on_track_loaded)
        loader.failed.connect(self._on_track_failed)
        loader.finished.connect(self._reap_loaders)
        self._loaders.append(loader)
        loader.start()

    def _reap_loaders(self) -> None:
        for loader in [x for x in self._loaders if x.isFinished()]:
            loader.wait()
            self._loaders.remove(loader)

    def _on_frame_failed(self, index: int, message: str) -> None:
        self.message.emit(message)

    def _on_track_loaded(self, key: str, track: TrackAudio) -> None:
        self._tracks.put(key, track)
        current = self.session.key if self.session is not None else key
        # the oldest go first, never the open file's track
        while len(self._tracks) > 1 and (len(self._tracks) > TRACKS_KEPT or sum(
                self._tracks.peek(k).nbytes for k in self._tracks if k != current) > TRACKS_BYTES):
            self._tracks.pop(next(k for k in self._tracks if k != current)).close()
        if self.session is not None and key == self.session.key and not self._closed:
            self._set_track(track)

    def _on_track_failed(self, key: str, message: str) -> None:
        if self.session is not None and key == self.session.key:
            self.track_failure = message
            self.message.emit(f"sound track not available: {message}")
            self.audio_status.emit(False, "no sound track")
            self.track_failed.emit(message)

    def _set_track(self, track: TrackAudio) -> None:
        self.track = track
        if track.note and self.session is not None:  # several audio streams: say which plays
            self.message.emit(f"{self.session.name}: sound and maps from {track.note}")
        clock, status = self.clock_factory(track)
        self.player.set_clock(clock)
        self.audio_status.emit(isinstance(clock, AudioClock), status)
        self.track_changed.emit(track)

    def set_annotations(self, annotations: VideoSegments | None) -> None:
        if self.session is not None:
            self.session.annotations = annotations
            self.annotations_changed.emit(annotations)
            self._want_maps(self.player.index)

    @property
    def audio_loading(self) -> bool:
        """The sound track of the open file is still being decoded."""
        return self.track is None and any(loader.isRunning() for loader in self._loaders)

    # -- what is shown ------------------------------------------------------------------
    def current_segment(self):
        """(position, Segment) of the annotated segment under the playhead, or None."""
        if self.session is None or self.session.annotations is None:
            return None
        return self.session.annotations.at(self.player.time)

    def segment_frame(self, segment) -> int:
        """Frame index of a segment's annotated frame (what the metrics score)."""
        return self.session.timeline.index_at(segment.frame_time)

    def _on_index(self, index: int) -> None:
        if self.frames is None:
            return
        if not self._due_shown:
            self.dropped += 1
        if self.player.playing and self._last_due >= 0 and index > self._last_due + 1:
            self.dropped += index - self._last_due - 1  # frames the clock jumped over
        self._last_due = index
        self._due_shown = False
        img = self.frames.request(index, prefetch=self.player.playing)
        if img is not None:
            self._show(index, img)
        self._want_maps(index)

    def _on_frame_ready(self, index: int, img) -> None:
        due = self.player.index
        if index == due or (self.player.playing and self.shown_index < index < due):
            self._show(index, img)

    def _show(self, index: int, img) -> None:
        self.shown_index = index
        self.image = img
        if index == self.player.index:
            self._due_shown = True
        self.displayed += 1
        self.frame_shown.emit(index, img)

    def _want_maps(self, index: int) -> None:
        seg = self.current_segment()
        prio = (self.segment_frame(seg[1]),) if seg is not None else ()
        self.maps.want(index, playing=self.player.playing, priority=prio)

    def _on_maps_ready(self, indices) -> None:
        if self.player.playing:
            # the next frame (a clock tick away) draws the newest maps anyway: redrawing
            # the heads for every batch of maps doubled the GUI thread's paints while playing
            return
        seg = self.current_segment()
        wanted = {self.shown_index} | ({self.segment_frame(seg[1])} if seg else set())
        if wanted.intersection(indices):
            self.maps_changed.emit()

    def _on_playing_changed(self, playing: bool) -> None:
        if not playing and self.session is not None:  # paused: the frame's own map, when it comes
            self._want_maps(self.player.index)
            self.maps_changed.emit()

    def _on_models_changed(self, models) -> None:
        self.maps_changed.emit()
        if self.session is not None:
            self._want_maps(self.player.index)

    # -- closing ------------------------------------------------------------------------
    def _close_session(self) -> None:
        self.player.pause()
        if self.frames is not None:
            self.frames.frame_ready.disconnect(self._on_frame_ready)
            self.frames.stop_and_wait()
            self.frames = None
        self.maps.set_video(None, None)
        self.session = None

    def close(self) -> None:
        """Stop every worker and wait for it (the window's closeEvent, tests)."""
        if self._closed:
            return
        self._closed = True
        self._close_session()
        self.player.close()
        for loader in list(self._loaders):
            loader.wait()
        self._loaders.clear()
        for key in list(self._tracks):   # the files their tiles are read from
            self._tracks.peek(key).close()
        self.maps.stop()
