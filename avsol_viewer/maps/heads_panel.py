"""The heads' views of the current frame: one chosen head, or every head side by side.

All views show the same frame and share their zoom and pan (linked view boxes), so a
region compared across AVC, CLS and DNM is the same pixels in each. Side by side, the
plain frame comes first (what the heads are judged against) and the views are arranged
in the grid that shows them largest for the panel's shape and the frame's aspect ratio
(two by two for a frame and three heads in a landscape window).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg

from avsol_viewer.core.map_display import DisplayMap
from avsol_viewer.maps.frame_view import HeadView

BACKGROUND = "#1e1f22"
TITLE_PX = 26  # height of a view's title row


@dataclass
class HeadContent:
    """What one view shows: its title (HTML) and its map (None: no overlay)."""

    title: str
    map: DisplayMap | None = None


def best_columns(n: int, width: float, height: float, aspect: float) -> int:
    """Columns of the grid of ``n`` views (frames ``aspect`` = w / h) that shows them largest."""
    best, best_scale = 1, -1.0
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        cell_w, cell_h = width / cols, height / rows - TITLE_PX
        scale = min(cell_w / aspect, cell_h) if cell_h > 0 else 0.0
        if scale > best_scale + 1e-9:
            best, best_scale = cols, scale
    return best


class HeadsPanel(pg.GraphicsLayoutWidget):
    """Arranges :class:`HeadView` s in a grid; see the module docstring."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.setAcceptDrops(False)  # let drops reach the main window
        self.ci.setSpacing(4)
        self.views: list[HeadView] = []
        self._cols = 0
        self._image: np.ndarray | None = None
        self._segment = None
        self._show_boxes = True
        self.set_count(1)

    def set_count(self, n: int) -> None:
        """Show ``n`` views (at least one)."""
        n = max(1, int(n))
        if n == len(self.views):
            return
        while len(self.views) < n:
            v = HeadView()
            if self.views:
                v.vb.setXLink(self.views[0].vb)
                v.vb.setYLink(self.views[0].vb)
            if self._image is not None:
                v.set_frame(self._image)
            v.set_boxes(self._segment, self._show_boxes)
            self.views.append(v)
        for v in self.views[n:]:
            v.remove_from(self.ci)
        del self.views[n:]
        self._arrange(force=True)

    def _arrange(self, force: bool = False) -> None:
        h, w = self._image.shape[:2] if self._image is not None else (3, 4)
        cols = best_columns(len(self.views), max(self.width(), 1), max(self.height(), 1), w / h)
        if cols == self._cols and not force:
            return
        self._cols = cols
        for v in self.views:
            v.remove_from(self.ci)
        for k, v in enumerate(self.views):
            v.place(self.ci, *divmod(k, cols))

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        if getattr(self, "views", None):  # pyqtgraph resizes during __init__
            self._arrange()

    def show_frame(self, img: np.ndarray) -> None:
        """Show ``img`` in every view, reduced once to the views' screen size when it is
        much larger (a 720p frame in four ~500 px views: one resize, not four conversions
        of 0.9 M pixels); zoomed in, the views get the full frame."""
        new_shape = self._image is None or self._image.shape != img.shape
        self._image = img
        h, w = img.shape[:2]
        shown = img
        scale = 1.25 * self.views[0].pixels_per_frame_pixel() * self.devicePixelRatioF()
        if not new_shape and scale < 0.75:
            from model_core.media.frames import resize_frame

            shown = resize_frame(img, (max(1, int(w * scale)), max(1, int(h * scale))))
        for v in self.views:
            v.set_frame(shown, (w, h))
        if new_shape:
            self._arrange()

    def show_maps(self, contents: list[HeadContent], lut: np.ndarray, threshold: float,
                  contour: bool, peak: bool) -> None:
        self.set_count(len(contents))
        for v, c in zip(self.views, contents):
            v.set_title(c.title)
            v.set_map(c.map, lut, threshold, contour, peak)

    def show_boxes(self, segment, show: bool) -> None:
        self._segment, self._show_boxes = segment, show
        for v in self.views:
            v.set_boxes(segment, show)

    def reset_zoom(self) -> None:
        """Fit the whole frame again (and follow the panel's size from now on)."""
        for v in self.views:
            v.vb.enableAutoRange(enable=True)
