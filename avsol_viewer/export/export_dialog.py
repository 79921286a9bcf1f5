"""File › Export overlay video…: the "ask" half (dialog, progress, messages).

The work is :func:`avsol_viewer.export.export_video.export_overlay` (no dialogs; tests call it).
Here: the menu action, a dialog for the target file, time range, views and sound, and a
non-modal window with the viewer's one job panel (:mod:`avsol_viewer.jobs`), whose Cancel
stops the export (the target file is then left as it was). The user can go on playing and seeking while an export runs; closing the window
cancels it and waits for its thread. ``export_video`` is imported when the command is
used, not at start-up. Every function takes the window's
:class:`~avsol_viewer.context.WindowContext` (``ctx``), not the window.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLineEdit, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from avsol_viewer.asks import confirm_overwrite
from avsol_viewer.jobs.dialog import run_buttons
from avsol_viewer.output_folder import default_output_dir, ensure_folder, remember_output
from avsol_viewer.workers import running_threads

SHORTCUT = "Ctrl+E"


def running_exports() -> list:
    """The export threads still running (:class:`~avsol_viewer.export.export_video.ExportWorker`)."""
    return [t for t in running_threads() if t.objectName() == "avsol-export"]


def default_target(ctx) -> str:
    """``<video>-overlay.mp4`` in the default output folder (the last export's folder, else
    the user's): never beside the video, whose folder may be the install's demo or real
    footage (:func:`~avsol_viewer.output_folder.default_output_dir`)."""
    s = ctx.controller.session
    folder = default_output_dir(ctx.settings, "export")
    return str(folder / (f"{s.path.stem}-overlay.mp4" if s else "overlay.mp4"))


class ExportDialog(QDialog):
    """Target file, time range, views, sound, width; :meth:`values` gives export_overlay's
    keyword arguments."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent or ctx.widget)
        self._ctx = ctx
        self.setWindowTitle("Export overlay video")
        c = ctx.controller
        s = c.session
        duration = s.timeline.duration if s else 0.0
        self.path = QLineEdit(default_target(ctx))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        target = QWidget()
        target.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        self.range = QComboBox()
        self.range.addItem("Whole video", "all")
        self.range.addItem("From … to … (seconds)", "range")
        self.start, self.end = QDoubleSpinBox(), QDoubleSpinBox()
        for box, value in ((self.start, c.player.time), (self.end, duration)):
            box.setRange(0.0, max(duration, 0.0))
            box.setDecimals(2)
            box.setSingleStep(0.5)
            box.setValue(value)
        times = QWidget()
        trow = QHBoxLayout(times)
        trow.setContentsMargins(0, 0, 0, 0)
        trow.addWidget(self.start)
        trow.addWidget(self.end)
        self.range.currentIndexChanged.connect(self._on_range)
        self.views = QComboBox()
        o = ctx.options
        shown = ctx.presenter.visible_models()
        one = shown[0] if o.layout == "single" and shown else None
        self.views.addItem(f"One head ({one.head.upper()} {one.name})" if one else "One head (as chosen in Display)",
                           "single")
        self.views.addItem("All heads side by side, with the plain frame", "side_by_side")
        self.views.setCurrentIndex(0 if o.layout == "single" else 1)
        self.sound = QComboBox()
        self.sound.addItem("The video's own sound", "own")
        if c.maps.audio.kind != "own":
            self.sound.addItem(f"What the maps heard ({c.maps.audio.label})", "maps")
        self.width = QSpinBox()
        self.width.setRange(320, 7680)
        self.width.setSingleStep(160)
        self.width.setValue(1920)
        self.width.setSuffix(" px")
        self.labels = QCheckBox("Head names and p(av) on the picture")
        self.labels.setChecked(True)
        form = QFormLayout()
        form.addRow("Save as", target)
        form.addRow("Time", self.range)
        form.addRow("", times)
        form.addRow("Views", self.views)
        form.addRow("Sound", self.sound)
        form.addRow("Widest picture", self.width)
        form.addRow("", self.labels)
        buttons, _ = run_buttons(self, "Export", accept=self._accept)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self._on_range()

    def _on_range(self, *_):
        on = self.range.currentData() == "range"
        self.start.setEnabled(on)
        self.end.setEnabled(on)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export overlay video", self.path.text(), "MP4 video (*.mp4)")
        if path:
            self.path.setText(path if path.lower().endswith(".mp4") else path + ".mp4")

    def _accept(self) -> None:
        """Export: once the target's folder exists and an existing file may be replaced
        (a typed or default path gets no question from the file dialog)."""
        path = self.path.text().strip()
        if not path:
            return
        if self.range.currentData() == "range" and self.end.value() <= self.start.value():
            self.end.setFocus()
            return
        problem = ensure_folder(Path(path).parent)
        if problem:
            self._ctx.error("Cannot export", problem)
            self.path.setFocus()
            return
        if not confirm_overwrite(self, [path], "video"):
            return
        self.accept()

    def values(self) -> dict:
        ranged = self.range.currentData() == "range"
        return dict(out_path=self.path.text().strip(), start=self.start.value() if ranged else 0.0,
                    end=self.end.value() if ranged else None, sound=self.sound.currentData(),
                    layout=self.views.currentData(), max_width=self.width.value(),
                    labels=self.labels.isChecked())


def start_with_progress(ctx, out_path: str | os.PathLike, **options):
    """``export_overlay`` with its progress in the viewer's one job panel
    (:class:`~avsol_viewer.jobs.panel.JobPanel`: bar, time left, Cancel) in a non-modal
    window, and the outcome in the window; returns the running
    :class:`~avsol_viewer.export.export_video.ExportWorker`."""
    from avsol_viewer.export.export_video import export_overlay
    from avsol_viewer.jobs.job import ThreadJob
    from avsol_viewer.jobs.panel import JobPanel

    worker = export_overlay(ctx, out_path, **options)
    name = Path(out_path).name
    job = ThreadJob(worker, "frame %v of %m", parent=worker)
    job.cancelling_text = "cancelling the export…"
    dlg = QDialog(ctx.widget)
    dlg.setWindowTitle("Export overlay video")
    dlg.setWindowModality(Qt.WindowModality.NonModal)
    dlg.setMinimumWidth(420)
    panel = JobPanel(resumable=False, stacked=True)
    panel.attach(job)
    panel.begin(f"Exporting {name}…")
    QVBoxLayout(dlg).addWidget(panel)
    dlg.rejected.connect(panel.cancel)       # Esc or the window's close button: Cancel
    worker.progress_dialog, worker.progress_job = dlg, job

    def on_cancel() -> None:
        ctx.status("cancelling the export…", 4000)

    def on_done(result) -> None:
        job.end("done")
        ctx.status(f"exported {result.frames} frames ({result.duration:.1f} s"
                   f"{'' if result.has_audio else ', no sound track'}) to {result.path}", 10000)

    def on_failed(message: str) -> None:
        job.end("failed", message)
        ctx.error("Export failed", message)
        ctx.status(f"export failed: {message}", 15000)

    def on_cancelled() -> None:
        job.end("cancelled")
        ctx.status(f"export cancelled; {name} not written", 8000)

    panel.cancel_button.clicked.connect(on_cancel)
    worker.done.connect(on_done)
    worker.failed.connect(on_failed)
    worker.cancelled.connect(on_cancelled)

    def on_finished() -> None:
        dlg.rejected.disconnect(panel.cancel)
        dlg.close()
        dlg.deleteLater()

    worker.finished.connect(on_finished)
    dlg.show()
    return worker


def ask_export(ctx):
    """The menu command: check, ask, start."""
    if ctx.controller.session is None:
        ctx.error("Nothing to export", "Open a video first (File › Open video…).")
        return None
    if running_exports():
        ctx.error("Export running", "An export is already running; wait for it or cancel it.")
        return None
    dlg = ExportDialog(ctx)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    values = dlg.values()
    remember_output(ctx.settings, "export", values["out_path"])
    return start_with_progress(ctx, **values)


class _CancelOnClose(QObject):
    """Closing the window cancels a running export and waits for its thread (which would
    otherwise outlive its parent window)."""

    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Close:
            for worker in running_exports():
                worker.stop_and_wait()
        return False


def install_export_action(ctx) -> None:
    """Add File › Export overlay video… (``Ctrl+E``) after the screenshot commands."""
    ctx.add_action("export_video", "Export overlay &video…", SHORTCUT, lambda: ask_export(ctx), menu="File",
                   after="copy")
    ctx.install_event_filter(_CancelOnClose(ctx.widget))
