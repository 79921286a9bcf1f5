"""What live mode shows under the heads: the HUD line, a device problem, and a scrolling
spectrogram of the last seconds the model hears (``model_core.features.log_mel`` output,
computed by the live loop's audio thread: what you see is what the model hears).

While Live › Record runs, a red REC badge with the time recorded so far sits at the HUD's
right end (without it nothing on screen said a recording was under way)."""
from __future__ import annotations

import time
from html import escape

import numpy as np
from PySide6.QtCore import QRectF, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from avsol_viewer.plotting import pg
from avsol_viewer.maps.colormaps import spectrogram_lut

#: dB shown from black to white (log_mel: a 0.5-amplitude tone peaks near +35 dB)
LEVELS = (-60.0, 40.0)


class LiveBar(QWidget):
    """HUD + problem line + scrolling spectrogram."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.setSpacing(2)
        self.hud = QLabel("live: starting…")
        self.hud.setObjectName("live_hud")
        self.problem = QLabel("")
        self.problem.setStyleSheet("color: #e76f51;")
        self.problem.setWordWrap(True)
        self.problem.hide()
        self.plot = pg.PlotWidget()
        self.plot.setBackground("#1e1f22")
        self.plot.setMinimumHeight(100)
        self.plot.setLabel("bottom", "seconds before now")
        self.plot.getPlotItem().setMenuEnabled(False)
        self.plot.getPlotItem().hideButtons()
        self.plot.getAxis("left").setTicks([[]])
        self.plot.setMouseEnabled(False, False)
        self.image = pg.ImageItem()
        self.image.setLookupTable(spectrogram_lut())
        self.plot.addItem(self.image)
        self.window = pg.LinearRegionItem((-1.0, 0.0), movable=False, brush=pg.mkBrush(255, 255, 255, 40),
                                          pen=pg.mkPen(255, 255, 255, 90))
        self.plot.addItem(self.window)
        self.rec_badge = QLabel("")
        self.rec_badge.setObjectName("live_rec")
        self.rec_badge.setStyleSheet("QLabel { color: white; background: #d62828; border-radius: 3px; "
                                     "padding: 0 6px; font-weight: bold; }")
        self.rec_badge.hide()
        self._rec_since: float | None = None
        #: the badge's clock (tests replace it)
        self.now = time.monotonic
        self._rec_timer = QTimer(self)
        self._rec_timer.setInterval(500)
        self._rec_timer.timeout.connect(self._show_rec_time)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.hud, 1)
        top.addWidget(self.rec_badge)
        lay.addLayout(top)
        lay.addWidget(self.problem)
        lay.addWidget(self.plot, 1)
        self.columns = 0

    def set_spectrogram(self, mel: np.ndarray) -> None:
        """Show ``mel`` (64 x T, dB, 10 ms columns) ending now; the last 1 s is the window."""
        mel = np.ascontiguousarray(mel, np.float32)
        self.image.setImage(mel, levels=LEVELS, autoLevels=False)
        seconds = mel.shape[1] * 0.01
        self.image.setRect(QRectF(-seconds, 0.0, seconds, mel.shape[0]))
        self.plot.setXRange(-seconds, 0.0, padding=0.0)
        self.plot.setYRange(0.0, mel.shape[0], padding=0.0)
        self.columns = mel.shape[1]

    def set_recording(self, active: bool) -> None:
        """Show the REC badge and its timer from now (``active``), or hide it."""
        if active and self._rec_since is None:
            self._rec_since = self.now()
            self._show_rec_time()
            self.rec_badge.show()
            self._rec_timer.start()
        elif not active and self._rec_since is not None:
            self._rec_since = None
            self._rec_timer.stop()
            self.rec_badge.hide()

    def _show_rec_time(self) -> None:
        if self._rec_since is None:
            return
        s = max(0, int(self.now() - self._rec_since))
        self.rec_badge.setText(f"● REC {s // 60:02d}:{s % 60:02d}")

    def set_hud(self, text: str) -> None:
        self.hud.setText(text)

    def set_problems(self, problems: dict) -> None:
        if problems:
            self.problem.setText("<br>".join(escape(m) for m in problems.values()))
            self.problem.show()
        else:
            self.problem.clear()
            self.problem.hide()
