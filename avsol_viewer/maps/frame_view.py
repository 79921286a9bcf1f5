"""One frame with one model's map over it: the picture a head is judged by.

pyqtgraph fast path (ARCHITECTURE): row-major uint8 frames with no levels (a QImage of the
array as it is); the map as a second ``ImageItem`` (the 224 x 224 map in [0, 1] coloured by
a 256-entry RGBA lookup table whose alpha ramps up with the value, given as RGBA pixels)
stretched over the frame with ``setRect``; the threshold contour an ``IsocurveItem`` child
of the overlay (so it shares its transform); the peak a cross; sounding boxes solid green,
silent boxes dashed light blue, labelled.
"""
from __future__ import annotations

from avsol_viewer import qt_compat  # noqa: F401 - before any Qt drawing (see qt_compat)

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem

from avsol_viewer.plotting import pg
from avsol_viewer.core.map_display import DisplayMap
from avsol_viewer.export.export_render import lut_indices

SOUNDING = QColor(60, 230, 90)
SILENT = QColor(140, 200, 255)
CONTOUR = QColor(255, 255, 255)
PEAK = QColor(0, 255, 255)


def _pen(colour: QColor, width: float = 2.0, dashed: bool = False) -> QPen:
    pen = QPen(colour)
    pen.setWidthF(width)
    pen.setCosmetic(True)  # width in screen pixels, whatever the zoom
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    return pen


def contour_path(values: np.ndarray, level: float) -> QPainterPath:
    """Outline of ``values >= level`` in grid coordinates (pixel edges), as one path."""
    import cv2

    mask = np.ascontiguousarray(values >= level, dtype=np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return QPainterPath()
    xs, ys, connect = [], [], []
    for c in contours:
        pts = c[:, 0, :].astype(np.float64) + 0.5  # pixel centres of the boundary pixels
        pts = np.vstack([pts, pts[:1]])  # closed
        xs.append(pts[:, 0])
        ys.append(pts[:, 1])
        link = np.ones(len(pts), bool)
        link[-1] = False  # no line to the next contour
        connect.append(link)
    return pg.arrayToQPath(np.concatenate(xs), np.concatenate(ys), connect=np.concatenate(connect))


class ViewTitle(pg.LabelItem):
    """A view's title row: one line of fixed height that never widens its column.

    pyqtgraph's label asks for its text's whole width as its minimum: a long title (head,
    checkpoint, p(av), audio) then widened its grid column past the cell the frame needs,
    and the window past the screen. Here the text is clipped to its cell instead."""

    # pyqtgraph's LabelItem lays out with opts["justify"]; setText calls resizeEvent(None)

    HEIGHT = 26

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setFlag(self.GraphicsItemFlag.ItemClipsChildrenToShape, True)

    def resizeEvent(self, ev):
        # centred while it fits; too long, its start stays in view (the frame number, the head)
        self.opts["justify"] = "left" if self.itemRect().width() > self.rect().width() else "center"
        super().resizeEvent(ev)

    def setText(self, text, **args):
        """pyqtgraph's ``setText``, less its re-layout: the row's size hints never depend on
        its text (:meth:`updateMin`), yet pyqtgraph recomputed them and invalidated the whole
        grid's layout at every new title, i.e. every frame while playing (a head's p(av)
        changes): profiled at 2.2 ms a title, three a frame. The first text lays out."""
        self._text_only = getattr(self, "_laid_out", False) and not args
        try:
            super().setText(text, **args)
        finally:
            self._text_only = False
        self._laid_out = True

    def updateGeometry(self):
        if not getattr(self, "_text_only", False):
            super().updateGeometry()

    def updateMin(self):
        if getattr(self, "_text_only", False):
            return
        super().updateMin()
        self.setMinimumWidth(0)
        self.setMinimumHeight(self.HEIGHT)  # (a maximum height collapses pyqtgraph's layout)
        self._sizeHint[Qt.SizeHint.MinimumSize] = (0, self.HEIGHT)
        self._sizeHint[Qt.SizeHint.PreferredSize] = (0, self.HEIGHT)


class HeadView:
    """A title and a view box holding frame, overlay, contour, peak and boxes.

    :meth:`place` puts it in a ``pg.GraphicsLayout`` cell: title above, view below.
    """

    def __init__(self):
        self.title = ViewTitle("", size="10pt")
        self.vb = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.vb.setDefaultPadding(0.0)
        # fit the frame whenever the view is resized, until the user zooms (wheel / drag
        # turn auto-range off; "Reset zoom" turns it back on)
        self.vb.enableAutoRange(enable=True)
        self.frame_item = pg.ImageItem()
        self.overlay = pg.ImageItem()
        self.overlay.setZValue(10)
        self.contour = QGraphicsPathItem(self.overlay)
        self.contour.setPen(_pen(CONTOUR, 1.5))
        self.peak = pg.ScatterPlotItem(symbol="+", size=22, pen=_pen(PEAK, 2.5), brush=None)
        self.peak.setZValue(30)
        self.vb.addItem(self.frame_item)
        for item in (self.overlay, self.peak):
            self.vb.addItem(item, ignoreBounds=True)  # the frame alone sets the range
        self._boxes: list = []
        self._size: tuple[int, int] | None = None

    # -- frame --------------------------------------------------------------------------
    def set_frame(self, img: np.ndarray, size: tuple[int, int] | None = None) -> None:
        """Show ``img``; ``size`` (w, h) is the frame's own size when ``img`` was reduced for
        display (view coordinates stay in frame pixels either way)."""
        # no levels: uint8 RGB goes to a QImage as it is (levels (0, 255), the same picture,
        # made pyqtgraph rescale every frame's pixels at each render: profiled at 1.8 ms a view)
        self.frame_item.setImage(img, levels=None, autoLevels=False)
        size = size or (img.shape[1], img.shape[0])
        self.frame_item.setRect(QRectF(0, 0, size[0], size[1]))
        if size != self._size:
            self._size = size
            self.vb.enableAutoRange(enable=True)

    def pixels_per_frame_pixel(self) -> float:
        """Screen pixels per frame pixel at the current zoom (1 when unknown)."""
        if self._size is None:
            return 1.0
        (x0, x1), _ = self.vb.viewRange()
        span = max(x1 - x0, 1e-6)
        return self.vb.width() / span

    # -- map ----------------------------------------------------------------------------
    def set_map(self, dm: DisplayMap | None, lut: np.ndarray, threshold: float, contour: bool,
                peak: bool) -> None:
        """Draw ``dm`` over the frame (None hides the overlay)."""
        if dm is None or self._size is None:
            self.overlay.setVisible(False)
            self.peak.setData([], [])
            return
        w, h = self._size
        # the colours of the rows of the table pyqtgraph picks for levels (0, 1), looked up
        # here as one uint32 per pixel: an RGBA image pyqtgraph hands to Qt as it is, instead
        # of rescaling 224 x 224 floats at each paint (profiled at 1.3 ms a map) into an
        # indexed QImage (whose colour table it rebuilt, and Qt draws 3x slower than RGBA)
        rgba32 = np.ascontiguousarray(lut, np.uint8).view(np.uint32).ravel()
        rgba = np.take(rgba32, lut_indices(dm.values)).view(np.uint8).reshape(*dm.values.shape, 4)
        self.overlay.setImage(rgba, levels=None, lut=None, autoLevels=False)
        x0, y0, x1, y1 = dm.region  # a centre-cropping model's map covers only its crop
        self.overlay.setRect(QRectF(x0 * w, y0 * h, (x1 - x0) * w, (y1 - y0) * h))
        self.overlay.setVisible(True)
        self.contour.setVisible(bool(contour))
        if contour:
            self.contour.setPath(contour_path(dm.values, float(threshold)))
        if peak and dm.peak is not None:
            self.peak.setData([dm.peak[0] * w], [dm.peak[1] * h])
        else:
            self.peak.setData([], [])

    # -- annotations --------------------------------------------------------------------
    def set_boxes(self, segment, show: bool) -> None:
        """Sounding (solid green) and silent (dashed blue) boxes of ``segment``."""
        for item in self._boxes:
            self.vb.removeItem(item)
        self._boxes = []
        if segment is None or not show or self._size is None:
            return
        w, h = self._size
        for boxes, colour, dashed, kind in ((segment.silent, SILENT, True, "silent"),
                                            (segment.sounding_boxes, SOUNDING, False, "sounding")):
            for box in boxes:
                rect = QGraphicsRectItem(box.x1 * w, box.y1 * h, (box.x2 - box.x1) * w, (box.y2 - box.y1) * h)
                rect.setPen(_pen(colour, 2.0, dashed))
                rect.setZValue(20)
                self.vb.addItem(rect, ignoreBounds=True)
                self._boxes.append(rect)
                text = pg.TextItem(box.label or kind, color=colour, anchor=(0, 1),
                                   fill=pg.mkBrush(0, 0, 0, 150))
                font = QFont()
                font.setPointSize(8)
                text.setFont(font)
                text.setPos(box.x1 * w, box.y1 * h)
                text.setZValue(21)
                self.vb.addItem(text, ignoreBounds=True)  # labels may stick out: fit the frame
                self._boxes.append(text)

    def set_title(self, html: str) -> None:
        if html != self.title.text:  # re-laying out the same HTML costs ~0.3 ms a frame
            self.title.setText(html)

    def place(self, layout: pg.GraphicsLayout, row: int, col: int) -> None:
        """Put title and view in grid cell (``row``, ``col``) of ``layout``."""
        fitted = all(self.vb.autoRangeEnabled())
        layout.addItem(self.title, row=2 * row, col=col)
        layout.addItem(self.vb, row=2 * row + 1, col=col)
        if fitted:  # moving the box between cells loses its fit: ask for it again
            self.vb.enableAutoRange(enable=True)

    def remove_from(self, layout: pg.GraphicsLayout) -> None:
        for item in (self.title, self.vb):
            if item in layout.items:
                layout.removeItem(item)


