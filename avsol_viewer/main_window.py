"""The main window: layout, menus, docks, drag and drop, status bar. Nothing else.

State and workers live in :class:`~avsol_viewer.controller.ViewerController`, redrawing in
:class:`~avsol_viewer.presenter.Presenter`. Menu commands follow SLEAP's ask/do split: an
``ask_*`` method shows the dialog, the plain method does the work (tests call it directly).
Errors from bad files go to :attr:`MainWindow.report_error` (a message box; tests replace
it), and leave the window as it was.

Features (evaluate, train, export, live, annotate, the sound check, inspection) are
installed with the window's :class:`~avsol_viewer.context.WindowContext` and ask it, not
the window, for what they need (errors, status, docks, actions at a menu path, settings).

Layout: the canvas (heads, spectrogram, transport) is the central widget and
always keeps the larger share; Display and Segment are docks on the right; Evaluation,
Training and Follows the sound? are tabs of ONE bottom area (:meth:`MainWindow.add_bottom_tab`)
that can be given the whole window (:meth:`MainWindow.set_bottom_maximised`, Ctrl+Shift+M) or
torn off (each tab floats). Every dock's panel sits in a scroll area, so no panel's minimum
size can push the window past the screen, and the window is kept within the screen's
available area whenever it is shown, restored or a dock opens or closes (1366 x 768 works).
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QSplitter,
                               QVBoxLayout, QWidget)

from avsol_viewer.context import WindowContext
from avsol_viewer.controller import ViewerController
from avsol_viewer.dock_scroll import scrolling
from avsol_viewer.export.screenshot import copy_to_clipboard, grab, save_png
from avsol_viewer.maps.heads_panel import HeadsPanel
from avsol_viewer.panels.display_panel import DisplayOptions, DisplayPanel
from avsol_viewer.panels.segment_panel import SegmentPanel
from avsol_viewer.playback.spectrogram_view import SpectrogramView
from avsol_viewer.playback.transport import Transport, make_action
from avsol_viewer.presenter import Presenter
from avsol_viewer.settings import DEFAULTS, ViewerSettings
from model_core.inference.audio_sources import AudioSpec
from model_core.media_extensions import AUDIO, VIDEO, dialog_filter

VIDEO_FILTER = dialog_filter("Videos", VIDEO)
ANNOTATION_SUFFIXES = (".json", ".txt")
#: Version of the saved dock layout: a state saved by an older layout (one that could collapse
#: the canvas) is not restored.
STATE_VERSION = 2
#: Share of the window's height a bottom tab gets when it opens (the canvas keeps the rest:
#: with the bottom area open the heads sit in one row, whose cells the window's width limits,
#: so at 1366 x 768 and 1920 x 1080 this share costs them nothing).
BOTTOM_SHARE = 0.42
#: The first window's size, shrunk to the screen's available area when that is smaller.
DEFAULT_SIZE = (1400, 900)
MAXIMISE_SHORTCUT = "Ctrl+Shift+M"


def _no_real_screen() -> bool:
    """Offscreen rendering (tests, ``--screenshot``): its 800 x 800 "screen" is no display's
    size, so the window keeps the size it is given."""
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.platformName() in ("offscreen", "minimal")


def _is_report(path: Path) -> bool:
    """Whether a ``.json`` is an ``avsol eval`` / ``avsol metrics`` report, not annotations
    (known by its content, the one rule the output checks use too)."""
    from model_core.input_protection import REPORT, identify

    return identify(path) == REPORT


class MainWindow(QMainWindow):
    """AVSOL Studio's viewer window."""

    def __init__(self, settings: ViewerSettings | None = None, controller: ViewerController | None = None):
        super().__init__()
        self.settings = settings or ViewerSettings()
        self.controller = c = controller or ViewerController(parent=self)
        self.report_error = self._message_box
        #: called first thing when the window closes (child processes, worker threads)
        self.close_hooks: list = []
        #: asked before that, each a callable returning False to keep the window open
        #: (``avsol_viewer.asks.confirm_quit``: a training or evaluation child is running)
        self.confirm_close: list = []
        self.last_error: str | None = None
        #: what features may ask of the window (:mod:`avsol_viewer.context`); they get this, not the window
        self.context = WindowContext(self)
        self.setWindowTitle("AVSOL Studio")
        self.setAcceptDrops(True)
        self.resize(*DEFAULT_SIZE)
        #: the bottom area's tabs (Evaluation, Training, Follows the sound?), first one first
        self.bottom_docks: list[QDockWidget] = []
        self._bottom_maximised = False
        self._placed = False       # the window was fitted to its screen once (first show)
        # one pass after the docks and the window manager have moved things: back on the screen
        self._refit = QTimer(self)
        self._refit.setSingleShot(True)
        self._refit.setInterval(0)
        self._refit.timeout.connect(self.fit_to_screen)

        self.heads = HeadsPanel()
        self.spectrogram = SpectrogramView()
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.heads)
        split.addWidget(self.spectrogram)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([640, 170])
        self.transport = Transport(c.player, self)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(split, 1)
        lay.addWidget(self.transport)
        self.setCentralWidget(central)

        self.display = DisplayPanel(self._stored_options())
        self.segment = SegmentPanel()
        docks = []
        for title, widget, name in (("Display", self.display, "display_dock"),
                                    ("Segment", self.segment, "segment_dock")):
            dock = QDockWidget(title, self)
            docks.append(dock)
            dock.setObjectName(name)
            dock.setWidget(scrolling(widget))
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
            dock.visibilityChanged.connect(lambda _v: self._refit.start())
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.resizeDocks(docks, [340, 420], Qt.Orientation.Vertical)
        self.resizeDocks(docks[:1], [330], Qt.Orientation.Horizontal)

        self.presenter = Presenter(c, self.heads, self.spectrogram, self.segment, self.transport,
                                   self.display.options, parent=self, context=self.context)
        self.display.changed.connect(self.set_options)
        self.display.audio_kind_chosen.connect(self._on_audio_kind)
        self.display.unload_requested.connect(c.maps.unload)  # Display › Show heads › ×
        self._build_status_bar()
        self._build_menus()
        c.session_changed.connect(self._on_session)
        c.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        c.audio_status.connect(self._on_audio_status)
        c.maps.models_changed.connect(self._on_models)
        c.maps.model_loading.connect(lambda p: self.model_label.setText(f"loading {Path(p).name}…"))
        c.maps.model_failed.connect(self._on_model_failed)
        c.maps.problem.connect(self._on_maps_problem)
        c.track_failed.connect(lambda text: self.statusBar().showMessage(f"sound track failed: {text}"))
        c.maps.maps_ready.connect(self._on_maps_progress)
        geometry, state = self.settings.geometry(), self.settings.state()
        if geometry is not None:
            self._placed = self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state, STATE_VERSION)  # False (and ignored) for an older layout

    # -- layout -------------------------------------------------------------------------
    def add_bottom_tab(self, title: str, widget: QWidget, name: str) -> QDockWidget:
        """A tab of the bottom area holding ``widget`` (hidden until shown): the one place
        Evaluation, Training and Follows the sound? get their docks. Tabs share the area
        (tabified), each can be floated (torn off) or closed, and the area can be given the
        window (:meth:`set_bottom_maximised`)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(scrolling(widget))
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        if self.bottom_docks:
            self.tabifyDockWidget(self.bottom_docks[0], dock)
        self.bottom_docks.append(dock)
        dock.hide()
        dock.visibilityChanged.connect(lambda visible, d=dock: self._on_bottom_visibility(d, visible))
        return dock

    def _on_bottom_visibility(self, dock: QDockWidget, visible: bool) -> None:
        if visible and not dock.isFloating() and not self._bottom_maximised:
            # the bottom area opens at its share of the window, not at its panel's size hint
            others = [d for d in self.bottom_docks if d is not dock and d.isVisible() and not d.isFloating()]
            if not others:
                QTimer.singleShot(0, lambda: self._size_bottom(dock))
        if not visible and self._bottom_maximised and not self._docked_bottom():
            self.set_bottom_maximised(False)
        self._refit.start()

    def _docked_bottom(self) -> list[QDockWidget]:
        return [d for d in self.bottom_docks if d.isVisible() and not d.isFloating()]

    def _size_bottom(self, dock: QDockWidget) -> None:
        if dock.isVisible() and not dock.isFloating() and not self._bottom_maximised:
            self.resizeDocks([dock], [int(self.height() * BOTTOM_SHARE)], Qt.Orientation.Vertical)

    def bottom_maximised(self) -> bool:
        return self._bottom_maximised

    def set_bottom_maximised(self, on: bool) -> None:
        """Give the bottom area the whole window (the canvas and the right docks hidden), or
        give the canvas back. Opens the first bottom tab when none is shown."""
        on = bool(on)
        if on and not self._docked_bottom():
            if not self.bottom_docks:
                return
            first = self.bottom_docks[0]
            first.setFloating(False)
            first.show()
            first.raise_()
        if on == self._bottom_maximised:
            return
        self._bottom_maximised = on
        self.centralWidget().setVisible(not on)
        for dock in self.findChildren(QDockWidget):
            if dock not in self.bottom_docks and not dock.isFloating():
                if on:
                    dock.setProperty("avsol_was_visible", dock.isVisible())
                    dock.hide()
                elif dock.property("avsol_was_visible"):
                    dock.show()
        act = getattr(self, "actions_by_name", {}).get("maximise_bottom")
        if act is not None and act.isChecked() != on:
            act.setChecked(on)
        if not on:
            visible = self._docked_bottom()
            if visible:
                QTimer.singleShot(0, lambda: self._size_bottom(visible[0]))
        self._refit.start()

    def fit_to_screen(self) -> None:
        """Keep the window (its frame included) within its screen's available area: never
        larger, never partly off it. The first time, a window with no saved geometry also
        gets its default size within the screen."""
        if self.isFullScreen() or self.isMaximized() or self.isMinimized() or _no_real_screen():
            return
        screen = self.screen()
        if screen is None:
            return
        avail = screen.availableGeometry()
        frame, inner = self.frameGeometry(), self.geometry()
        extra_w = max(0, frame.width() - inner.width())
        extra_h = max(0, frame.height() - inner.height())
        max_w, max_h = avail.width() - extra_w, avail.height() - extra_h
        w, h = min(self.width(), max_w), min(self.height(), max_h)
        if (w, h) != (self.width(), self.height()):
            self.resize(w, h)
        frame = self.frameGeometry()
        x = min(max(frame.x(), avail.x()), avail.x() + avail.width() - frame.width())
        y = min(max(frame.y(), avail.y()), avail.y() + avail.height() - frame.height())
        if (x, y) != (frame.x(), frame.y()):
            self.move(max(x, avail.x()), max(y, avail.y()))

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        if not self._placed and not _no_real_screen():
            self._placed = True
            screen = self.screen()
            if screen is not None:
                avail = screen.availableGeometry()
                self.resize(min(self.width(), int(avail.width() * 0.96)),
                            min(self.height(), int(avail.height() * 0.92)))
        self._refit.start()

    def changeEvent(self, ev) -> None:
        super().changeEvent(ev)
        if ev.type() == QEvent.Type.WindowStateChange:
            self._refit.start()

    # -- building -----------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.model_label, self.maps_label, self.audio_label = QLabel(), QLabel(), QLabel()
        #: the map's value under the mouse (``presenter.readout``), left of the permanent labels
        self.value_label = QLabel()
        self.value_label.setContentsMargins(6, 0, 6, 0)
        sb.addWidget(self.value_label, 1)
        self.presenter.readout.text_changed.connect(self.value_label.setText)
        for w in (self.maps_label, self.model_label, self.audio_label):
            w.setContentsMargins(6, 0, 6, 0)
            sb.addPermanentWidget(w)
        self.model_label.setText("no model loaded")
        self._on_audio_status(False, "")

    def _build_menus(self) -> None:
        a = self.actions_by_name = dict(self.transport.actions)
        a["open"] = make_action(self, "&Open video…", "Ctrl+O", self.ask_open)
        a["checkpoint"] = make_action(self, "Add &model…", "Ctrl+K", self.ask_load_checkpoint)
        a["annotations"] = make_action(self, "Load &annotations…", "Ctrl+Shift+A", self.ask_load_annotations)
        a["screenshot"] = make_action(self, "Save &screenshot…", "Ctrl+Shift+S", self.ask_save_screenshot)
        a["copy"] = make_action(self, "Copy screenshot", "Ctrl+Shift+C", self.copy_screenshot)
        a["quit"] = make_action(self, "&Quit", "Ctrl+Q", self.close)
        a["layout"] = make_action(self, "Toggle one head / side by side", "V", self.toggle_layout)
        a["next_head"] = make_action(self, "Next head (one-head layout)", "H", lambda: self.cycle_head(1))
        a["contour"] = make_action(self, "Threshold contour", "C", lambda: self._toggle("contour"))
        a["peak"] = make_action(self, "Peak marker", "P", lambda: self._toggle("peak"))
        a["boxes"] = make_action(self, "Annotation boxes", "B", lambda: self._toggle("boxes"))
        a["more_opacity"] = make_action(self, "More opacity", "+", lambda: self._opacity(+0.1))
        a["less_opacity"] = make_action(self, "Less opacity", "-", lambda: self._opacity(-0.1))
        a["zoom_reset"] = make_action(self, "Reset zoom", "Z", self.heads.reset_zoom)
        a["shortcuts"] = make_action(self, "Keyboard &shortcuts", "F1", self.show_shortcuts)
        a["maximise_bottom"] = make_action(self, "&Maximise bottom panel", MAXIMISE_SHORTCUT,
                                           self.set_bottom_maximised, checkable=True,
                                           tip="give Evaluation / Training / Follows the sound? the whole "
                                               "window, or the canvas back")
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        file_menu.addAction(a["open"])
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        for name in ("checkpoint", "annotations", None, "screenshot", "copy", None, "quit"):
            file_menu.addSeparator() if name is None else file_menu.addAction(a[name])
        view = mb.addMenu("&View")
        for name in ("layout", "next_head", "contour", "peak", "boxes", "more_opacity", "less_opacity", "zoom_reset",
                     "maximise_bottom"):
            view.addAction(a[name])
        play = mb.addMenu("&Playback")
        for name in ("play", "frame_back", "frame_fwd", "sec_back", "sec_fwd", "start", "end",
                     "slower", "faster", "loop"):
            play.addAction(a[name])
        help_menu = mb.addMenu("&Help")
        help_menu.addAction(a["shortcuts"])
        help_menu.addAction("About AVSOL Studio", self._about)
        # each feature gets the window's context, not the window (avsol_viewer.context)
        ctx = self.context
        from avsol_viewer.export.export_dialog import install_export_action  # File › Export overlay video…
        install_export_action(ctx)
        from avsol_viewer.evaluate.commands import install_evaluate_actions  # Tools › Evaluate folder…, File › Open report…
        install_evaluate_actions(ctx)
        from avsol_viewer.evaluate.inspection import install_inspection  # View › Inspect item large
        install_inspection(ctx)
        from avsol_viewer.train.commands import install_train_action  # Tools › Train model…
        install_train_action(ctx)
        from avsol_viewer.live.live_mode import install_live_actions  # Live › Start / Stop / devices
        install_live_actions(ctx)
        from avsol_viewer.maps.sound_check import install_sound_check  # View › Follows the sound?
        install_sound_check(ctx)
        from avsol_viewer.annotate.mode import install_annotate_actions  # Annotate › Start, keys
        install_annotate_actions(ctx)

    # -- open ---------------------------------------------------------------------------
    def open_path(self, path: str | os.PathLike) -> bool:
        """Open a video (or load a checkpoint / annotations, by extension); False on error."""
        from model_core.errors import InputError

        p = Path(path)
        if p.suffix.lower() in (".pt", ".pth") or p.name.lower().endswith(".pth.tar"):  # as the Load dialog
            self.load_checkpoint(p)
            return True
        if p.suffix.lower() == ".json" and _is_report(p):  # an eval report: the Evaluation panel
            from avsol_viewer.evaluate.commands import open_report

            return open_report(self.context, p)
        if p.suffix.lower() in ANNOTATION_SUFFIXES and self.controller.session is not None:
            return self.load_annotations(p)
        try:
            self.controller.open(p)
        except InputError as exc:
            self.context.error(f"Cannot open {p.name}", str(exc))
            return False
        self.settings.add_recent_file(p)
        return True

    def ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video", self.settings.last_folder(), VIDEO_FILTER)
        if path:
            self.open_path(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.settings.recent_files()
        for f in files:
            self.recent_menu.addAction(f, lambda f=f: self.open_path(f))
        if not files:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def load_checkpoint(self, path: str | os.PathLike, family: str | None = None) -> None:
        """Add a head: our checkpoint or a published model's (family detected from the
        keys, or ``family``); a file that cannot be used is one message, the loaded heads
        stay as they were."""
        self.controller.maps.load_checkpoint(path, family)

    def ask_load_checkpoint(self) -> None:
        """File › Add model…: our heads (.pt) and the field's published checkpoints (.pth, .pth.tar)."""
        paths, _ = QFileDialog.getOpenFileNames(self, "Add model", self.settings.last_folder(),
                                                "Models (*.pt *.pth *.pth.tar);;All files (*)")
        for p in paths:
            self.load_checkpoint(p)

    def load_annotations(self, path: str | os.PathLike) -> bool:
        from avsol_viewer.core.annotation_finder import load_annotations
        from model_core.errors import InputError

        s = self.controller.session
        if s is None:
            self.context.error("No video open", "Open a video before loading its annotations.")
            return False
        try:
            ann = load_annotations(path, s.path, s.timeline.duration)
        except InputError as exc:
            self.context.error(f"Cannot load {Path(path).name}", str(exc))
            return False
        self.controller.set_annotations(ann)
        self.statusBar().showMessage(f"annotations: {path}", 6000)
        return True

    def ask_load_annotations(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load annotations", self.settings.last_folder(),
                                              "AVSOL-E or AVE (*.json Annotations.txt *.txt);;All files (*)")
        if path:
            self.load_annotations(path)

    def dragEnterEvent(self, ev) -> None:
        if any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()

    dragMoveEvent = dragEnterEvent

    def dropEvent(self, ev) -> None:
        files = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if files:
            ev.acceptProposedAction()
            for f in files:
                self.open_path(f)

    # -- display ------------------------------------------------------------------------
    def _stored_options(self) -> DisplayOptions:
        s = self.settings
        return DisplayOptions(**{k.split("/")[1]: s.value(k) for k in DEFAULTS})

    def set_options(self, o: DisplayOptions) -> None:
        if o != self.display.options:
            self.display.set_options(o)
        self.presenter.set_options(o)
        for k in DEFAULTS:
            self.settings.set_value(k, getattr(o, k.split("/")[1]))

    def _toggle(self, name: str) -> None:
        o = self.display.options
        self.set_options(replace(o, **{name: not getattr(o, name)}))

    def _opacity(self, delta: float) -> None:
        o = self.display.options
        self.set_options(replace(o, opacity=round(min(1.0, max(0.0, o.opacity + delta)), 2)))

    def toggle_layout(self) -> None:
        o = self.display.options
        self.set_options(replace(o, layout="single" if o.layout == "side_by_side" else "side_by_side"))

    def cycle_head(self, step: int) -> None:
        models = self.controller.maps.models
        if not models:
            return
        keys = [m.key for m in models]
        o = self.display.options
        k = (keys.index(o.head) + step) % len(keys) if o.head in keys else 0
        self.set_options(replace(o, layout="single", head=keys[k]))

    def set_audio(self, spec: AudioSpec) -> None:
        self.controller.maps.set_audio(spec)
        self.display.set_audio_kind(spec.kind, "" if spec.kind == "own" else f"maps hear {spec.label}")
        self.presenter.refresh()
        self._on_maps_progress([])  # this audio's maps may all be cached already: no maps_ready comes

    def _on_audio_kind(self, kind: str) -> None:
        if kind != "file":
            self.set_audio(AudioSpec(kind))
            return
        path, _ = QFileDialog.getOpenFileName(self, "Audio for the maps", self.settings.last_folder(),
                                              dialog_filter("Media", VIDEO + AUDIO))
        if not path:
            self.display.set_audio_kind(self.controller.maps.audio.kind)
            return
        from model_core.errors import InputError
        from model_core.media.probe import probe

        try:
            if not probe(path).has_audio:
                raise InputError(path, "has no audio stream")
        except InputError as exc:
            self.context.error("Cannot use that audio", str(exc))
            self.display.set_audio_kind(self.controller.maps.audio.kind)
            return
        self.set_audio(AudioSpec("file", path))

    # -- export -------------------------------------------------------------------------
    def save_screenshot(self, path: str | os.PathLike) -> bool:
        from model_core.errors import InputError

        try:
            save_png(grab(self), path)
        except InputError as exc:
            self.context.error("Cannot save the screenshot", str(exc))
            return False
        self.statusBar().showMessage(f"screenshot saved to {path}", 6000)
        return True

    def ask_save_screenshot(self) -> None:
        from avsol_viewer.output_folder import default_output_dir, ensure_folder, remember_output

        s = self.controller.session
        folder = default_output_dir(self.settings, "screenshot")   # never the demo's install folder
        ensure_folder(folder)
        default = str(folder / (f"{s.path.stem}-{self.controller.player.time:.2f}s.png" if s else "avsol.png"))
        path, _ = QFileDialog.getSaveFileName(self, "Save screenshot", default, "PNG images (*.png)")
        if path:
            if self.save_screenshot(path):
                remember_output(self.settings, "screenshot", path)
            copy_to_clipboard(grab(self))

    def copy_screenshot(self) -> None:
        copy_to_clipboard(grab(self))
        self.statusBar().showMessage("screenshot copied to the clipboard", 4000)

    # -- status -------------------------------------------------------------------------
    def _on_session(self, session) -> None:
        self.setWindowTitle(f"AVSOL Studio — {session.name}")
        info = session.info
        self.statusBar().showMessage(
            f"{session.name}: {session.width}x{session.height}, {info.fps:.3g} fps, "
            f"{session.timeline.frame_count} frames, {session.timeline.duration:.2f} s"
            + (f"; annotations from {Path(session.annotations.source).name}" if session.annotations else ""), 8000)
        self._on_maps_progress([])

    def _on_models(self, models) -> None:
        self.display.set_models(models)
        self.presenter.set_options(self.display.options)
        self._show_models(models)

    def _show_models(self, models) -> None:
        """The status bar's model label: the loaded heads, and once in the window that the
        bundled ones were trained on synthetic shapes (their maps on real footage say little)."""
        from avsol_viewer.maps.head_style import BUNDLED_NOTE, is_bundled

        devices = sorted({m.device for m in models})
        text = (f"models: {', '.join(m.name for m in models)} ({', '.join(devices)})"
                if models else "no model loaded")
        bundled = [m.name for m in models if is_bundled(m.path)]
        tip = ""
        if bundled:
            text += " · bundled heads: synthetic training"
            tip = f"{', '.join(bundled)}: {BUNDLED_NOTE}"
        self.model_label.setText(text)
        self.model_label.setToolTip(tip)

    def _on_model_failed(self, path: str, message: str) -> None:
        self.statusBar().showMessage(message, 15000)
        self._show_models(self.controller.maps.models)  # not "loading …" any more
        self.context.error(f"Cannot load {Path(path).name}", message)

    def _on_maps_problem(self, text: str) -> None:
        """The map worker failed: the cause stays in the status bar until something newer."""
        self.statusBar().showMessage(f"maps failed: {text}")
        self.maps_label.setText("maps failed")
        self.maps_label.setStyleSheet("color: #e76f51;")

    def _on_maps_progress(self, _indices) -> None:
        c = self.controller
        self.maps_label.setStyleSheet("")
        if c.session is None or not c.maps.models:
            self.maps_label.setText("")
            return
        n = c.session.timeline.frame_count
        done = min(c.maps.count(m.key) for m in c.maps.models)
        self.maps_label.setText(f"maps {done}/{n} frames")

    def _on_audio_status(self, playing: bool, text: str) -> None:
        if playing:
            self.audio_label.setText(text or "audio out")
            self.audio_label.setStyleSheet("")
        else:
            self.audio_label.setText(text)
            self.audio_label.setStyleSheet("color: #e9c46a;" if text else "")

    def show_shortcuts(self) -> None:
        from avsol_viewer.panels.shortcuts_dialog import ShortcutsDialog

        ShortcutsDialog(self).exec()

    def _about(self) -> None:
        from avsol_viewer.about import about_html

        QMessageBox.about(self, "About AVSOL Studio", about_html())

    # -- errors and closing ---------------------------------------------------------------
    def _message_box(self, title: str, text: str) -> None:
        QMessageBox.warning(self, title, text)

    def closeEvent(self, ev) -> None:
        if not all(ask() for ask in self.confirm_close):
            ev.ignore()
            return
        for hook in self.close_hooks:
            hook()
        if self._bottom_maximised:
            self.set_bottom_maximised(False)  # the saved layout always has the canvas
        self.settings.save_window(self.saveGeometry(), self.saveState(STATE_VERSION))
        self.settings.sync()
        self.controller.close()
        super().closeEvent(ev)
