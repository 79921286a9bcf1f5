"""Live mode in the window: Live › Start / Stop, device choice, drawing, HUD (SPEC 7).

A live camera is a frame source and a microphone an audio source of the one map engine
(``model_core.inference.live_sources``); the loop that pairs them is
``model_core.inference.live_loop``, run through :class:`~avsol_viewer.live.live_session.LiveSession`.
This module only schedules: while live, the window's one presenter draws the live maps
(:meth:`~avsol_viewer.presenter.Presenter.show_live`: the same heads panel, titles and view
controls as a file's: one head or side by side, colormap, opacity, contour, peak), the
file's transport and spectrogram give way
to the :class:`~avsol_viewer.live.live_bar.LiveBar` (HUD, device problems, scrolling
spectrogram), and Stop gives the window back to the file that was open, where it was.

Devices are chosen from those found (Live › Camera / Microphone, or a file played as if
live) and remembered in the settings. A device that is missing or disappears shows its
one-line message in the bar; the loop retries it, and choosing another restarts the loop.
"""
from __future__ import annotations

import time
from html import escape
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog

from avsol_viewer.live.live_session import LiveSession
from model_core.inference.live_sources import LiveSpec
from model_core.media_extensions import AUDIO, VIDEO, dialog_filter

HUD_MS = 250


class LiveMode(QObject):
    """See the module docstring. The feature ``"live"`` (``window.live``) once installed;
    ``ctx`` is the window's :class:`~avsol_viewer.context.WindowContext`."""

    started = Signal()
    stopped = Signal()
    maps_shown = Signal()
    problem = Signal(str, object)     # kind, message or None

    def __init__(self, ctx):
        super().__init__(ctx.widget)
        self.ctx, self.c = ctx, ctx.controller
        s = ctx.settings
        self.camera = str(s.value("live/camera", "0"))
        mic = str(s.value("live/microphone", ""))
        self.microphone: str | None = mic or None
        self.session: LiveSession | None = None
        self.last = None
        self.shown = 0
        self.problems: dict[str, str] = {}
        self._bar = None    # the LiveBar, built when live mode first needs it (see bar)
        self.hud_timer = QTimer(self)
        self.hud_timer.setInterval(HUD_MS)
        self.hud_timer.timeout.connect(self.update_hud)
        self.c.maps.models_changed.connect(self._on_models)
        self.recorder = None
        from avsol_viewer.live.recorded_maps import install

        install(self.c)
        ctx.on_close(self.stop)

    @property
    def bar(self):
        """The :class:`~avsol_viewer.live.live_bar.LiveBar` (HUD, problems, scrolling
        spectrogram) below the heads, built the first time it is asked for: it stays hidden
        until live mode starts, and building it with the window (a pyqtgraph plot and its
        module) cost every start-up 0.03-0.06 s before the first paint (issue 29)."""
        if self._bar is None:
            from avsol_viewer.live.live_bar import LiveBar

            bar = LiveBar()
            bar.hide()
            split = self.ctx.heads.parentWidget()
            split.addWidget(bar)     # last, below the spectrogram (annotate inserts above the heads)
            split.setStretchFactor(split.indexOf(bar), 1)
            bar.set_recording(self.recorder is not None)
            self._bar = bar
        return self._bar

    @property
    def active(self) -> bool:
        return self.session is not None

    # -- start / stop -------------------------------------------------------------------
    def start(self, camera: str | None = None, microphone: str | None = None) -> None:
        """Go live with these devices (None: the remembered ones); restarts when live."""
        if camera is not None:
            self.camera = str(camera)
        if microphone is not None:
            self.microphone = str(microphone) or None
        self.ctx.settings.set_value("live/camera", self.camera)
        self.ctx.settings.set_value("live/microphone", self.microphone or "")
        if self.session is not None:
            self._stop_session()
        else:
            self.c.player.pause()
            self.ctx.transport.hide()
            self.ctx.spectrogram.hide()
            self.bar.show()
            split = self.ctx.heads.parentWidget()
            self._sizes = split.sizes()
            total = sum(self._sizes) or 800
            split.setSizes([int(total * 0.78), 0, int(total * 0.22)])
            self.ctx.heads.show_boxes(None, False)
        loaded = self.c.maps.worker.loaded_localizers()
        locs = {m.key: loaded[m.key] for m in self.c.maps.models if m.key in loaded}
        self.last, self.shown, self.problems = None, 0, {}
        self._started_at = time.monotonic()
        self.bar.set_problems({})
        self.session = LiveSession(locs, LiveSpec(self.camera, self.microphone), parent=self)
        self.session.maps_ready.connect(self._on_maps)
        self.session.problem.connect(self._on_problem)
        self.session.spectrogram.connect(self._on_spectrogram)
        self.session.start()
        self.hud_timer.start()
        self.ctx.status(f"live: {self.session.spec.label}", 6000)
        self._sync_actions()
        self.ctx.presenter.show_live(self)
        self.started.emit()

    def stop(self) -> None:
        """Leave live mode: threads stopped and joined, the open file shown again."""
        if self.session is None:
            return
        self._stop_session()
        self.hud_timer.stop()
        self.bar.hide()
        self.ctx.transport.show()
        self.ctx.spectrogram.show()
        if getattr(self, "_sizes", None):
            self.ctx.heads.parentWidget().setSizes(self._sizes)
        self.ctx.presenter.show_live(None)    # the open file, where it was
        self._sync_actions()
        self.stopped.emit()

    # -- record -------------------------------------------------------------------------
    def record(self, path) -> bool:
        """Start recording the live session to ``path`` (.mp4 + maps beside it)."""
        from model_core.errors import InputError
        from model_core.inference.live_record import LiveRecorder

        if self.session is None or self.recorder is not None:
            return False
        loop = self.session.loop
        heads = {m.key: (m.name, m.head) for m in self.c.maps.models if m.key in loop.localizers}
        fps = getattr(loop.frames, "fps", 25.0) if loop.frames is not None else 25.0
        try:
            files = {"camera": [self.camera if not self.camera.strip().isdigit() else None],
                     "microphone": [self.microphone if self.microphone and Path(self.microphone).is_file() else None]}
            # the current source, whichever it is when the loop replaces a failed microphone;
            # frames paced on the loop's clock, the one the captures are timed by
            self.recorder = LiveRecorder(path, heads, fps, lambda: loop.audio, files, clock=loop.clock)
        except InputError as exc:
            self.ctx.error("Cannot record", str(exc))
            return False
        loop.recorder = self.recorder
        self.ctx.status(f"recording to {path}…")
        self._sync_actions()
        return True

    def stop_record(self) -> list:
        """Finish the recording; returns the files written."""
        rec, self.recorder = self.recorder, None
        if rec is None:
            return []
        if self.session is not None:
            self.session.loop.recorder = None
        files = rec.close()
        if rec.error:
            self.ctx.error("Recording failed", rec.error)
        elif files:
            n_maps = sum(1 for f in files if f.name.endswith(".maps.npz"))
            self.ctx.status(f"recorded {files[0]} ({rec.frames} frames, {rec.summary()}) and "
                                             f"{n_maps} maps file(s) beside it", 15000)
        self._sync_actions()
        return files

    def ask_record(self) -> None:
        if self.recorder is not None:
            self.stop_record()
            return
        if self.session is None:
            self.start()
        from avsol_viewer.output_folder import default_output_dir, ensure_folder, remember_output

        # the last recording's folder, else the user's (never the install's demo folder)
        folder = default_output_dir(self.ctx.settings, "record")
        ensure_folder(folder)
        path, _ = QFileDialog.getSaveFileName(self.ctx.widget, "Record live session", str(
            folder / time.strftime("live-%Y%m%d-%H%M%S.mp4")), "MP4 video (*.mp4)")
        if path and self.record(path):
            remember_output(self.ctx.settings, "record", path)
        self._sync_actions()

    def _stop_session(self) -> None:
        self.stop_record()
        s, self.session = self.session, None
        s.maps_ready.disconnect(self._on_maps)
        s.stop()
        s.deleteLater()

    def _on_models(self, _models) -> None:
        if self.session is not None:  # a model was added: the loop runs the new set
            self.start()

    # -- results ------------------------------------------------------------------------
    def _on_maps(self) -> None:
        if self.session is None:
            return
        r = self.session.take_maps()
        if r is None:
            return
        self.last = r
        self.ctx.presenter.refresh()
        self.session.stats.record_overlay(r.frame.captured)     # now, on the loop's clock
        self.shown += 1
        self.maps_shown.emit()

    def _on_spectrogram(self, _none, _end) -> None:
        if self.session is None:
            return
        got = self.session.take_spectrogram()
        if got is not None:
            self.bar.set_spectrogram(got[0])

    def _on_problem(self, kind: str, message) -> None:
        if message is None:
            self.problems.pop(kind, None)
        else:
            self.problems[kind] = message
            self.ctx.status(message, 15000)
        self.bar.set_problems(self.problems)
        if self.last is None:
            self.ctx.presenter.refresh()
        self.problem.emit(kind, message)

    def seconds_live(self) -> float:
        """Seconds since live mode (re)started (``--screenshot --at S`` waits for S)."""
        return time.monotonic() - self._started_at if self.session is not None else 0.0

    def ready(self) -> bool:
        """Maps of every loaded model are on screen (``--screenshot`` waits for this)."""
        r = self.last
        return r is not None and all(m.key in r.entries for m in self.c.maps.models)

    # -- what the presenter draws (Presenter.show_live) -----------------------------------
    def camera_label(self) -> str:
        return f"camera {self.camera}" if self.camera.strip().isdigit() else Path(self.camera).name

    def hud_text(self) -> str:
        s = self.session
        if s is None:
            return ""
        loop = s.loop
        hz = s.stats.refresh_hz()
        med, p95 = s.stats.latency_ms()
        n = loop.counts()
        lat = "–" if med != med else f"{med:.0f} ms (p95 {p95:.0f})"
        cam = loop.camera_name or self.camera_label()
        mic = loop.microphone_name or (self.microphone or "default microphone")
        return (f"<b>LIVE</b> · {escape(cam)} · {escape(mic)} · maps {hz:.1f}/s · latency {lat} · "
                f"dropped camera frames {n['dropped']} (not mapped {n['unmapped']}) · "
                f"audio overruns {n['overruns']}" + self._record_hud())

    def _record_hud(self) -> str:
        """While recording, what the recording's sound lacks (the sidecar says the same)."""
        rec = self.recorder
        return "" if rec is None else f" · recording: {escape(rec.summary())}"

    def update_hud(self) -> None:
        self.bar.set_hud(self.hud_text())

    def _sync_actions(self) -> None:
        self.ctx.action("live_start").setEnabled(True)
        self.ctx.action("live_stop").setEnabled(self.active)
        self.ctx.action("live_record").setChecked(self.recorder is not None)
        if self._bar is not None:    # not built yet: it starts with the state it is built with
            self._bar.set_recording(self.recorder is not None)


# -- menu ---------------------------------------------------------------------------------
def install_live_actions(ctx) -> LiveMode:
    """Live menu: Start, Stop, Camera ▸, Microphone ▸ (the devices found, or a file)."""
    live = ctx.register("live", LiveMode(ctx))
    ctx.add_action("live_start", "&Start live", "F5", lambda: live.start(), menu="&Live")
    ctx.add_action("live_stop", "S&top live", "Shift+F5", live.stop, menu="&Live")
    record = ctx.add_action("live_record", "&Record…", "Ctrl+R", lambda *_: live.ask_record(), menu="&Live")
    record.setCheckable(True)
    cams = ctx.menu("&Live › &Camera")
    mics = ctx.menu("&Live › &Microphone")
    cams.aboutToShow.connect(lambda: _fill_cameras(live, cams))
    mics.aboutToShow.connect(lambda: _fill_microphones(live, mics))
    live._sync_actions()
    return live


def _choose(live: LiveMode, camera=None, microphone=None) -> None:
    if live.active:
        live.start(camera, microphone)
        return
    if camera is not None:
        live.camera = str(camera)
        live.ctx.settings.set_value("live/camera", live.camera)
    if microphone is not None:
        live.microphone = str(microphone) or None
        live.ctx.settings.set_value("live/microphone", live.microphone or "")


def _fill_cameras(live: LiveMode, menu) -> None:
    from model_core.errors import DeviceError
    from model_core.inference.live_sources import list_cameras

    menu.clear()
    try:
        found = list_cameras()
    except DeviceError as exc:
        found = []
        menu.addAction(str(exc)).setEnabled(False)
    for index, name in found:
        act = menu.addAction(f"{index}: {name}", lambda i=index: _choose(live, camera=str(i)))
        act.setCheckable(True)
        act.setChecked(live.camera == str(index))
    if not found:
        menu.addAction("(no camera found)").setEnabled(False)
    menu.addSeparator()

    def pick_file():
        path, _ = QFileDialog.getOpenFileName(live.ctx.widget, "Video played as a camera", live.ctx.settings.last_folder(),
                                              dialog_filter("Videos", VIDEO))
        if path:
            _choose(live, camera=path)
    menu.addAction("Video file (played live)…", pick_file)


def _fill_microphones(live: LiveMode, menu) -> None:
    from model_core.errors import DeviceError
    from model_core.inference.live_sources import list_microphones

    menu.clear()
    act = menu.addAction("Default input", lambda: _choose(live, microphone=""))
    act.setCheckable(True)
    act.setChecked(live.microphone is None)
    try:
        for index, name in list_microphones():
            act = menu.addAction(f"{index}: {name}", lambda n=name: _choose(live, microphone=n))
            act.setCheckable(True)
            act.setChecked(live.microphone == name)
    except DeviceError as exc:
        menu.addAction(str(exc)).setEnabled(False)
    menu.addSeparator()

    def pick_file():
        path, _ = QFileDialog.getOpenFileName(live.ctx.widget, "Sound played as a microphone", live.ctx.settings.last_folder(),
                                              dialog_filter("Media", AUDIO + VIDEO))
        if path:
            _choose(live, microphone=path)
    menu.addAction("Audio or video file (played live)…", pick_file)
