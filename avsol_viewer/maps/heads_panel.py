"""The heads' views of the current frame: one chosen head, or every head side by side.

Side by side, the plain frame comes first (what the heads are judged against) and the
views are arranged in the grid that shows them largest for the panel's shape and the
frame's aspect ratio (two by two for a frame and three heads in a landscape window).

The canvas refits after every change of its size, as napari's and SLEAP's do: a dock
opened or closed, the window resized, a saved window state restored. Each cell is given
exactly the frame's aspect ratio (the grid is centred, the spare space goes around it),
and each view fits the whole frame into its own cell. Views are not linked until the user
zooms or pans one: from then on the others show the same region (so a region compared
across AVC, CLS and DNM is the same pixels in each), until Reset zoom (Z) fits them again.
(Linking the views from the start fitted every cell to the first one's range: in a wide
strip the frames vanished or were cropped.) The frame is drawn reduced when the views are
small; once they grow (or the user zooms in), it is drawn again at the size now needed,
without waiting for the next decoded frame.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QSizePolicy

from avsol_viewer.core.map_display import DisplayMap
from avsol_viewer.maps.frame_view import HeadView, ViewTitle

BACKGROUND = "#1e1f22"
TITLE_PX = ViewTitle.HEIGHT  # height of a view's title row
SPACING = 4    # pixels between cells
#: The frame is reduced for display below this many screen pixels per frame pixel.
FULL_FROM = 0.75
#: the smallest canvas a layout may squeeze it to (docks and splitters respect it)
MIN_W, MIN_H = 240, 160


@dataclass
class HeadContent:
    """What one view shows: its title (HTML) and its map (None: no overlay)."""

    title: str
    map: DisplayMap | None = None


def best_columns(n: int, width: float, height: float, aspect: float) -> int:
    """Columns of the grid of ``n`` views (frames ``aspect`` = w / h) that shows them largest."""
    return grid_geometry(n, width, height, aspect, spacing=0, margin=0)[0]


def grid_geometry(n: int, width: float, height: float, aspect: float, spacing: int = SPACING,
                  margin: int = 2) -> tuple[int, int, int, int, int]:
    """The grid that shows ``n`` views of frames ``aspect`` (w / h) largest in a ``width`` x
    ``height`` panel: (columns, cell width, cell height, left/right margin, top/bottom margin).

    A cell (below its ``TITLE_PX`` title) has the frame's aspect ratio; the margins centre the
    grid, so that a layout splitting the panel equally gives each view exactly its cell.
    """
    best = (1, 0, 0, margin, margin)
    best_h = -1.0
    for cols in range(1, max(1, n) + 1):
        rows = math.ceil(n / cols)
        avail_w = width - 2 * margin - spacing * (cols - 1)
        avail_h = height - 2 * margin - rows * TITLE_PX - spacing * (2 * rows - 1)
        cell_h = min(avail_w / cols / aspect, avail_h / rows)
        if cell_h > best_h + 1e-9:
            ch = max(0, int(cell_h))
            cw = max(0, int(ch * aspect))
            mx = max(0, (width - cols * cw - spacing * (cols - 1)) // 2)
            my = max(0, (height - rows * (ch + TITLE_PX) - spacing * (2 * rows - 1)) // 2)
            best, best_h = (cols, cw, ch, int(mx), int(my)), cell_h
    return best


def reduce_for_display(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``img`` reduced to ``size`` = (w, h) for the screen: exact 2x ``INTER_AREA`` halvings
    while it stays at least twice the target, then one ``INTER_LINEAR`` step (a reduction
    of less than 2x: little aliasing). The models' ``resize_frame`` enlarges to twice the
    target before its last halving, for its inputs' quality; on the GUI thread, every frame
    while playing, that cost 2.1 ms a 720p frame against 0.6 ms here (quiet figures; 9 ms
    median in a profile under load), for a picture drawn at ~0.4x (benchmarks/README.md,
    playback with a map for every frame). Only what is drawn changes: maps are computed
    from the decoder's frames, never from this copy."""
    import cv2

    width, height = int(size[0]), int(size[1])
    h, w = img.shape[:2]
    if (w, h) == (width, height):
        return img
    while w >= 2 * width and h >= 2 * height:
        img = img[: h - h % 2, : w - w % 2]
        h, w = h // 2, w // 2
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    if (w, h) == (width, height):
        return img
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)


class HeadsPanel(pg.GraphicsLayoutWidget):
    """Arranges :class:`HeadView` s in a grid; see the module docstring."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.setAcceptDrops(False)  # let drops reach the main window
        self.setMinimumSize(MIN_W, MIN_H)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.ci.setSpacing(SPACING)
        self.views: list[HeadView] = []
        self._cols = 0
        self._geometry: tuple = ()
        self._image: np.ndarray | None = None
        self._shown_scale = 0.0   # screen pixels per frame pixel the shown copy was made for
        self._segment = None
        self._show_boxes = True
        self._syncing = False
        # after a resize or a zoom, draw the frame again at the size now needed (once the
        # layout has settled: a dock opening resizes the canvas several times)
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(40)
        self._redraw.timeout.connect(self._redraw_if_coarse)
        self.set_count(1)

    def set_count(self, n: int) -> None:
        """Show ``n`` views (at least one)."""
        n = max(1, int(n))
        if n == len(self.views):
            return
        while len(self.views) < n:
            v = HeadView()
            v.vb.sigRangeChangedManually.connect(lambda _mask, v=v: self._user_zoomed(v))
            if self._image is not None:
                v.set_frame(*self._shown_copy())
            v.set_boxes(self._segment, self._show_boxes)
            self.views.append(v)
        for v in self.views[n:]:
            v.remove_from(self.ci)
        del self.views[n:]
        self._arrange(force=True)

    def _aspect(self) -> float:
        h, w = self._image.shape[:2] if self._image is not None else (3, 4)
        return w / max(h, 1)

    def _arrange(self, force: bool = False) -> None:
        """Lay the views out for the panel's current size (see :func:`grid_geometry`)."""
        vp = self.viewport().size() if self.viewport() is not None else self.size()
        geom = grid_geometry(len(self.views), max(vp.width(), 1), max(vp.height(), 1), self._aspect())
        cols, _cw, _ch, mx, my = geom
        if geom != self._geometry:
            self._geometry = geom
            self.ci.setContentsMargins(mx, my, mx, my)
            # now, not at the posted layout request: one changed in the middle of the
            # canvas's resize was lost now and then (the views kept an older size's cells)
            self.ci.layout.activate()
        if cols != self._cols or force:
            self._cols = cols
            for v in self.views:
                v.remove_from(self.ci)
            for k, v in enumerate(self.views):
                v.place(self.ci, *divmod(k, cols))
        if self.zoomed():
            return
        for v in self.views:  # fitted views fit their (new) cells
            v.vb.enableAutoRange(enable=True)

    def _live(self) -> bool:
        """Built and not closed (pyqtgraph resizes during ``__init__``, and its ``close``
        deletes the layout before Qt's last resize and hide events)."""
        return bool(getattr(self, "views", None)) and not getattr(self, "closed", False)

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        if self._live():
            self._arrange()
            self._redraw.start()

    def showEvent(self, ev):
        super().showEvent(ev)
        if self._live():
            self._arrange()
            self._redraw.start()

    def close(self):
        self._redraw.stop()
        return super().close()

    # -- zoom -----------------------------------------------------------------------------
    def zoomed(self) -> bool:
        """True once the user zoomed or panned a view (until Reset zoom)."""
        return any(not all(v.vb.autoRangeEnabled()) for v in self.views)

    def _user_zoomed(self, source: HeadView) -> None:
        """The user zoomed or panned ``source``: the other views show the same region."""
        if self._syncing:
            return
        self._syncing = True
        try:
            xr, yr = source.vb.viewRange()
            for v in self.views:
                if v is not source:
                    v.vb.setRange(xRange=xr, yRange=yr, padding=0)
        finally:
            self._syncing = False
        self._redraw.start()

    def reset_zoom(self) -> None:
        """Fit the whole frame again, each view in its cell (and follow the panel's size)."""
        for v in self.views:
            v.vb.enableAutoRange(enable=True)
        self._redraw.start()

    # -- the frame ------------------------------------------------------------------------
    def needed_scale(self) -> float:
        """Screen pixels per frame pixel the views need now (device pixels)."""
        if self._image is None:
            return 1.0
        if self.zoomed():
            s = max(v.pixels_per_frame_pixel() for v in self.views)
        else:
            s = self._geometry[2] / max(self._image.shape[0], 1) if self._geometry else 1.0
        return s * self.devicePixelRatioF()

    def _shown_copy(self) -> tuple[np.ndarray, tuple[int, int]]:
        """The frame as drawn: reduced once to the views' size when it is much larger (a
        720p frame in four ~500 px views: one resize, not four conversions of 0.9 M
        pixels); zoomed in, the full frame. Returns (picture, frame's own (w, h))."""
        img = self._image
        h, w = img.shape[:2]
        scale = 1.25 * self.needed_scale()
        if scale >= FULL_FROM:
            self._shown_scale = math.inf
            return img, (w, h)
        self._shown_scale = scale
        return reduce_for_display(img, (max(1, int(w * scale)), max(1, int(h * scale)))), (w, h)

    def show_frame(self, img: np.ndarray) -> None:
        """Show ``img`` in every view (see :meth:`_shown_copy`)."""
        new_shape = self._image is None or self._image.shape != img.shape
        self._image = img
        if new_shape:
            self._arrange(force=True)
        shown, size = self._shown_copy()
        for v in self.views:
            v.set_frame(shown, size)

    def _redraw_if_coarse(self) -> None:
        """Once a resize has settled: repaint the whole canvas, and draw the frame again when
        the copy shown is coarser than the views now need.

        The whole canvas: after a dock opened, the views had moved to their new cells but
        the screen still showed them where they were (minimal viewport updates missed the
        views' moved contents), seen in the real-window walkthrough."""
        if not self._live():
            return
        self._arrange()
        self.ci.layout.activate()
        self.viewport().update()
        if self._image is None or self._shown_scale == math.inf:
            return
        if 1.25 * self.needed_scale() > self._shown_scale * 1.05:
            shown, size = self._shown_copy()
            for v in self.views:
                v.set_frame(shown, size)

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
