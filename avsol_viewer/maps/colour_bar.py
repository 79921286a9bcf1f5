"""The colour bar of the map overlay: what colour means what value, on which scale.

Drawn from the overlay's own lookup table (``colormaps.overlay_lut``), blended over the
canvas's background with the table's alpha, so the bar looks like the overlay does on a
dark frame: low values fade out (the alpha ramps up over the first ``RAMP`` of the range)
exactly as they do on the picture. Ticks are map values on the absolute scale, "frame's
lowest" / "frame's highest" on the per-frame min-max scale (whose colours mean nothing on
their own: the value readout under the cursor gives the value). A white mark shows the
contour's level.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from avsol_viewer.core.map_display import SCALE_NOTES
from avsol_viewer.maps.colormaps import overlay_lut

#: The canvas's background (``heads_panel.BACKGROUND``), what the bar blends over.
BACKGROUND_RGB = (0x1E, 0x1F, 0x22)


def bar_colours(colormap: str, opacity: float) -> np.ndarray:
    """256 x 3 uint8: the overlay's colour of each value over the canvas background."""
    lut = overlay_lut(colormap, opacity).astype(np.float32)
    a = lut[:, 3:4] / 255.0
    out = lut[:, :3] * a + np.asarray(BACKGROUND_RGB, np.float32) * (1.0 - a)
    return np.ascontiguousarray(np.round(out).astype(np.uint8))


def tick_labels(scale: str) -> list[tuple[float, str]]:
    """(position in [0, 1], text) of the bar's ticks for ``scale``."""
    if scale == "per_frame":
        return [(0.0, "frame's lowest"), (1.0, "frame's highest")]
    return [(v, f"{v:g}") for v in (0.0, 0.25, 0.5, 0.75, 1.0)]


class ColourBar(QWidget):
    """See the module docstring; :meth:`set_state` follows the display options."""

    BAR_H = 12

    def __init__(self, parent=None):
        super().__init__(parent)
        self.colormap, self.opacity, self.scale, self.threshold = "inferno", 0.6, "absolute", 0.5
        self._image: QImage | None = None
        self._colours: np.ndarray | None = None
        self.setMinimumHeight(self.BAR_H + 20)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.set_state("inferno", 0.6, "absolute", 0.5)

    def set_state(self, colormap: str, opacity: float, scale: str, threshold: float) -> None:
        self.colormap, self.opacity, self.scale, self.threshold = colormap, opacity, scale, threshold
        self._colours = bar_colours(colormap, opacity)
        self._image = QImage(self._colours.tobytes(), 256, 1, 256 * 3, QImage.Format.Format_RGB888).copy()
        self.setToolTip(f"Map overlay colours ({colormap}, opacity {opacity:.0%}); scale {SCALE_NOTES.get(scale, scale)}."
                        f" The white mark is the contour's level ({threshold:g}).")
        self.update()

    def sizeHint(self):  # noqa: N802 - Qt's name
        return QSize(200, self.BAR_H + 20)

    def paintEvent(self, _ev) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        fm = p.fontMetrics()
        margin = 4.0
        w = max(1.0, self.width() - 2 * margin)
        bar = QRectF(margin, 1.0, w, self.BAR_H)
        p.drawImage(bar, self._image)
        p.setPen(QPen(QColor(120, 120, 120)))
        p.drawRect(bar)
        x = margin + self.threshold * w
        p.setPen(QPen(QColor(255, 255, 255), 2))
        p.drawLine(int(x), 0, int(x), int(self.BAR_H + 2))
        p.setPen(self.palette().color(self.foregroundRole()))
        y = bar.bottom() + 2 + fm.ascent()
        for pos, text in tick_labels(self.scale):
            tw = fm.horizontalAdvance(text)
            tx = margin + pos * w - tw / 2
            tx = min(max(tx, 0.0), self.width() - tw)  # the end labels stay inside
            p.drawText(int(tx), int(y), text)
        p.end()
