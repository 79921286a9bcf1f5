"""The log-mel spectrogram of the track, with the playhead and the event segments.

The image is ``model_core.features.spectrogram_for_display`` (what the model hears),
placed in seconds x mel bands with ``setRect``, on fixed dB colour levels
(``audio_loader.LEVELS_DB``: silence is dark in every file). Zoomed out it is the track's
overview (at most 4096 columns, the loudest of each bin); zoomed in past the overview's
resolution it is the exact columns of the visible span and a margin, which the track
computes from the file and caches in tiles (``TrackAudio.columns``), so memory does not
grow with the file's length; the y axis is labelled in Hz at the band
centres. Annotated 1 s segments are a strip above it (events green, background grey); the 1 s audio
window the maps use is a light band around the playhead. Clicking or dragging anywhere on
it seeks (the playhead follows the pointer), the wheel zooms in time.
"""
from __future__ import annotations

from avsol_viewer import qt_compat  # noqa: F401 - before any Qt drawing (see qt_compat)

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from avsol_viewer.plotting import pg
from avsol_viewer.maps.colormaps import spectrogram_lut
BANDS = 64
#: Height (in band units) of the segment strip above the bands.
STRIP = 4.0
_HZ_TICKS = (100, 250, 500, 1000, 2000, 4000, 8000)
#: Most exact columns drawn for a zoomed-in view (10 ms each: a view of up to 30 s and
#: half of it either side). Computed by the track's worker thread from cached 10 s tiles
#: (a first zoom reads and transforms at most 6 of them: 0.7-1.5 s on 2 busy cores).
DETAIL_COLUMNS = 6000


def hz_ticks(freqs: np.ndarray, px_per_band: float, min_px: float = 14.0) -> list[tuple[float, str]]:
    """(band position, label) of the Hz ticks that fit: from the top (the widest-spaced
    bands of a mel axis) down, a tick is kept only when it lies ``min_px`` screen pixels
    from the last one kept, so labels never overlap however short the view."""
    bands = np.arange(len(freqs)) + 0.5  # band k occupies rows [k, k+1): centre k + 0.5
    ticks: list[tuple[float, str]] = []
    for hz in sorted(_HZ_TICKS, reverse=True):
        if freqs[0] <= hz <= freqs[-1]:
            y = float(np.interp(hz, freqs, bands))
            if ticks and (ticks[-1][0] - y) * px_per_band < min_px:
                continue
            ticks.append((y, f"{hz // 1000}k" if hz >= 1000 else str(hz)))
    return ticks[::-1]


class _ScrubViewBox(pg.ViewBox):
    """A view box where the left button seeks (click or drag) instead of panning."""

    def __init__(self, on_seek):
        super().__init__(enableMenu=False)
        self._on_seek = on_seek
        self.setMouseEnabled(x=True, y=False)

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self._on_seek(self.mapSceneToView(ev.scenePos()).x())
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self._on_seek(self.mapSceneToView(ev.scenePos()).x())
        else:
            super().mouseDragEvent(ev, axis)


class SpectrogramView(pg.PlotWidget):
    """See the module docstring. ``seek_requested(t)`` when the user clicks or drags."""

    seek_requested = Signal(float)

    def __init__(self, parent=None):
        self._vb = _ScrubViewBox(self._seek)
        super().__init__(parent, viewBox=self._vb)
        self.setAcceptDrops(False)
        self.setBackground("#1e1f22")
        self.setMinimumHeight(120)
        self.setLabel("bottom", "time (s)")
        self.setLabel("left", "Hz (mel)")
        self.getPlotItem().setMenuEnabled(False)
        self.getPlotItem().hideButtons()
        self.image = pg.ImageItem()
        self.image.setLookupTable(spectrogram_lut())
        self.image.setOpts(autoDownsample=True)
        self.addItem(self.image)
        self.window = pg.LinearRegionItem((0.0, 1.0), movable=False, brush=pg.mkBrush(255, 255, 255, 40),
                                          pen=pg.mkPen(255, 255, 255, 90))
        self.window.setZValue(15)
        self.addItem(self.window)
        # annotate mode's current 1 s segment (set_highlight)
        self.highlight = pg.LinearRegionItem((0.0, 1.0), movable=False, brush=pg.mkBrush(255, 216, 74, 45),
                                             pen=pg.mkPen(255, 216, 74, 160))
        self.highlight.setZValue(14)
        self.addItem(self.highlight)
        self.highlight.hide()
        self.playhead = pg.InfiniteLine(0.0, angle=90, movable=True, pen=pg.mkPen("#ffd84a", width=2))
        self.playhead.setZValue(20)
        self.playhead.sigDragged.connect(lambda line: self._seek(line.value()))
        self.addItem(self.playhead)
        self.note = pg.TextItem("", color="#bbbbbb", anchor=(0.5, 0.5))
        self.addItem(self.note)
        self._regions: list = []
        self._duration = 1.0
        self._track = None
        self._detail: tuple[int, int] | None = None   # exact columns shown, or None: overview
        self._pending: tuple[int, int] | None = None  # exact columns asked of the track
        self._vb.sigXRangeChanged.connect(lambda *_: self._update_detail())
        self.set_track(None, 1.0)
        self.getAxis("left").setTicks([[]])
        self.window.hide()  # until a file is open
        self.playhead.hide()

    def _seek(self, t: float) -> None:
        self.seek_requested.emit(float(min(max(t, 0.0), self._duration)))

    def set_track(self, track, duration: float, message: str = "") -> None:
        """Show ``track``'s spectrogram (None: an empty strip with ``message``)."""
        self._duration = max(float(duration), 1e-3)
        self._track = track
        self._detail = self._pending = None
        if track is None:
            self.image.clear()
            self.note.setText(message)
            self.note.setPos(self._duration / 2, 32)
        else:
            self._show_overview()
            self.note.setText(message)
            self._set_hz_ticks(track.mel_freqs)
        self.setXRange(0.0, self._duration, padding=0.0)
        self.setYRange(0.0, BANDS + STRIP, padding=0.0)
        self.setLimits(xMin=-0.5, xMax=self._duration + 0.5, yMin=0.0, yMax=BANDS + STRIP)

    def _show_overview(self) -> None:
        track = self._track
        spec = track.display  # uint8 on the fixed levels, made by the loader thread
        self.image.setImage(spec, levels=(0, 255), autoLevels=False)
        if track.exact_overview:
            # column j is centred on j * hop: the image spans [-hop/2, (F - 1/2) hop]
            hop = track.hop_seconds
            self.image.setRect(QRectF(-hop / 2, 0.0, spec.shape[1] * hop, spec.shape[0]))
        else:  # column k is the loudest of [k, k + 1) * step
            self.image.setRect(QRectF(0.0, 0.0, spec.shape[1] * track.overview_step, spec.shape[0]))
        self._detail = None

    def _update_detail(self) -> None:
        """Exact columns for a view zoomed in past the overview, the overview otherwise."""
        track = self._track
        if track is None or track.exact_overview:
            return
        x0, x1 = self._vb.viewRange()[0]
        hop, n = track.hop_seconds, track.n_columns
        span = max(x1 - x0, hop)
        if 2 * span / hop > DETAIL_COLUMNS:  # zoomed out: the overview
            self._pending = None
            if self._detail is not None:
                self._show_overview()
            return
        i0, i1 = max(0, int(x0 / hop)), min(n, int(x1 / hop) + 1)
        for d in (self._detail, self._pending):
            if d is not None and d[0] <= i0 and i1 <= d[1] and d[1] - d[0] <= 4 * span / hop + 2:
                return  # the columns shown (or coming) cover the view, and not far too many
        j0, j1 = max(0, int((x0 - span / 2) / hop)), min(n, int((x1 + span / 2) / hop) + 1)
        if j1 <= j0:
            return
        self._pending = (j0, j1)
        track.request_columns(j0, j1, self._on_columns)

    def _on_columns(self, j0: int, j1: int, display) -> None:
        """Exact columns computed by the track's worker (GUI thread): shown if still wanted."""
        if self._track is None or self._pending != (j0, j1):
            return
        hop = self._track.hop_seconds
        self.image.setImage(display, levels=(0, 255), autoLevels=False)
        self.image.setRect(QRectF((j0 - 0.5) * hop, 0.0, (j1 - j0) * hop, display.shape[0]))
        self._detail, self._pending = (j0, j1), None

    def _set_hz_ticks(self, freqs: np.ndarray | None = None) -> None:
        """Hz labels at the band centres, as many as fit without overlapping at the view's
        current height (the low ones crowd on a mel axis: 100 and 250 Hz are 5 bands apart)."""
        if freqs is not None:
            self._freqs = freqs
        freqs = getattr(self, "_freqs", None)
        if freqs is None:
            return
        px_per_band = max(self._vb.height(), 1.0) / (BANDS + STRIP)
        min_px = self.fontMetrics().height() + 2  # the axis draws its labels in the widget's font
        self.getAxis("left").setTicks([hz_ticks(freqs, px_per_band, min_px)])

    def resizeEvent(self, ev) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(ev)
        if hasattr(self, "_vb"):
            self._set_hz_ticks()

    def set_segments(self, annotations) -> None:
        """Annotated segments as a strip above the spectrogram: events green, background
        grey (a strip, not shading over the bands: the picture stays unaltered, and
        translucent regions over the image cost a fill each per repaint)."""
        for r in self._regions:
            self.removeItem(r)
        self._regions = []
        if annotations is None:
            return
        for seg in annotations.segments:
            colour = QColor(60, 230, 90, 220) if seg.event else QColor(150, 150, 150, 160)
            bar = QGraphicsRectItem(seg.start + 0.01, BANDS + 0.6, seg.end - seg.start - 0.02, STRIP - 1.0)
            bar.setBrush(QBrush(colour))
            bar.setPen(QPen(Qt.PenStyle.NoPen))
            bar.setZValue(5)
            self.addItem(bar)
            self._regions.append(bar)

    def set_highlight(self, span: tuple[float, float] | None) -> None:
        """Mark the stretch ``span`` (start, end) in seconds, e.g. the segment being
        annotated; None removes the mark."""
        if span is None:
            self.highlight.hide()
            return
        self.highlight.setRegion(span)
        self.highlight.show()

    def set_time(self, t: float, window: tuple[float, float] | None = None) -> None:
        """Move the playhead (and the maps' audio window) to ``t``."""
        self.playhead.setValue(t)
        self.playhead.show()
        self.window.show()
        lo, hi = window if window is not None else (t - 0.5, t + 0.5)
        self.window.setRegion((lo, hi))
        x0, x1 = self._vb.viewRange()[0]
        if not x0 <= t <= x1:  # follow the playhead when zoomed in
            span = x1 - x0
            self.setXRange(t - 0.1 * span, t + 0.9 * span, padding=0.0)
