"""The annotate canvas: one frame, its boxes as handles, and a drag that draws a new box.

Why its own view rather than the heads' views: annotating needs the whole frame large and
mouse drags that draw instead of pan, while the heads' views zoom and pan together; so the
canvas takes the heads' place in the central splitter while annotate mode runs.

Coordinates: the view is in frame pixels (as :class:`~avsol_viewer.maps.frame_view.HeadView`),
the signals carry fractions of the frame (AVSOL-E's [0, 1] boxes). Boxes are pyqtgraph
``RectROI`` s with a scale handle on every corner: dragging the inside moves a box, a handle
resizes it; both report once, when the drag ends (one undo step per gesture).
"""
from __future__ import annotations

from avsol_viewer import qt_compat  # noqa: F401 - before any Qt drawing (see qt_compat)

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsRectItem

from avsol_viewer.maps.frame_view import SILENT, SOUNDING, _pen

SELECTED = QColor(255, 216, 74)
#: a drag shorter than this many frame pixels on either side draws nothing (a click)
MIN_DRAW_PX = 4


class _DrawViewBox(pg.ViewBox):
    """A view box whose left drag on empty space draws a rectangle instead of panning."""

    def __init__(self, canvas: "AnnotateCanvas"):
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self.canvas = canvas
        self.setDefaultPadding(0.0)
        self.setMouseEnabled(False, False)   # no pan on drag; the wheel zooms (below)
        self.rubber = QGraphicsRectItem()
        self.rubber.setPen(_pen(SELECTED, 1.5, dashed=True))
        self.rubber.setZValue(50)
        self.rubber.hide()
        self.addItem(self.rubber, ignoreBounds=True)

    def wheelEvent(self, ev, axis=None):
        self.setMouseEnabled(True, True)
        super().wheelEvent(ev, axis)
        self.setMouseEnabled(False, False)

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.canvas.box_clicked.emit(-1)   # a click on empty space: nothing selected

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() != Qt.MouseButton.LeftButton or self.canvas.frame_size is None:
            ev.ignore()
            return
        ev.accept()
        p0 = self.mapSceneToView(ev.buttonDownScenePos())
        p1 = self.mapSceneToView(ev.scenePos())
        rect = QRectF(p0, p1).normalized()
        if not ev.isFinish():
            self.rubber.setRect(rect)
            self.rubber.show()
            return
        self.rubber.hide()
        w, h = self.canvas.frame_size
        if rect.width() < MIN_DRAW_PX or rect.height() < MIN_DRAW_PX:
            return
        self.canvas.box_drawn.emit(rect.left() / w, rect.top() / h, rect.right() / w, rect.bottom() / h)


class AnnotateCanvas(pg.GraphicsLayoutWidget):
    """See the module docstring.

    Signals: ``box_drawn(x1, y1, x2, y2)``; ``box_changed(key, x1, y1, x2, y2)`` after a
    move or resize; ``box_clicked(key)`` (-1: empty space). ``key`` is what
    :meth:`set_boxes` was given for the box (the document's index).
    """

    box_drawn = Signal(float, float, float, float)
    box_changed = Signal(int, float, float, float, float)
    box_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("#1e1f22")
        self.title = self.addLabel("", row=0, col=0, size="10pt")
        self.vb = _DrawViewBox(self)
        self.addItem(self.vb, row=1, col=0)
        self.image = pg.ImageItem()
        self.vb.addItem(self.image)
        self.frame_size: tuple[int, int] | None = None
        self.rois: list[tuple[int, pg.RectROI]] = []
        self._labels: list = []

    def set_frame(self, img: np.ndarray) -> None:
        """Show ``img`` (H x W x 3 uint8); boxes keep their fractions when the size changes."""
        self.image.setImage(img, levels=(0, 255), autoLevels=False)
        size = (img.shape[1], img.shape[0])
        self.image.setRect(QRectF(0, 0, size[0], size[1]))
        if size != self.frame_size:
            self.frame_size = size
            self.vb.autoRange(padding=0.0)

    def set_title(self, text: str) -> None:
        self.title.setText(text)

    def set_boxes(self, boxes, selected: int = -1, editable: bool = True) -> None:
        """Draw ``boxes``: (key, EditBox) pairs; ``selected`` is a key drawn highlighted.
        ``editable`` False (the consensus view) draws them without handles, not movable."""
        for _, roi in self.rois:
            self.vb.removeItem(roi)
        for t in self._labels:
            self.vb.removeItem(t)
        self.rois, self._labels = [], []
        if self.frame_size is None:
            return
        w, h = self.frame_size
        for key, b in boxes:
            colour = SELECTED if key == selected else (SOUNDING if b.sounding else SILENT)
            roi = pg.RectROI((b.x1 * w, b.y1 * h), ((b.x2 - b.x1) * w, (b.y2 - b.y1) * h),
                             pen=_pen(colour, 2.5 if key == selected else 2.0, dashed=not b.sounding),
                             movable=editable, rotatable=False, resizable=False, removable=False)
            for corner, anchor in (((0, 0), (1, 1)), ((1, 0), (0, 1)), ((0, 1), (1, 0)), ((1, 1), (0, 0))):
                if editable:
                    roi.addScaleHandle(corner, anchor)
            if not editable:   # RectROI makes a corner handle of its own
                for handle in list(roi.getHandles()):
                    roi.removeHandle(handle)
            roi.setZValue(30 if key == selected else 20)
            roi.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
            roi.sigRegionChangeFinished.connect(lambda r, k=key: self._finished(k, r))
            roi.sigClicked.connect(lambda _r, _ev, k=key: self.box_clicked.emit(k))
            self.vb.addItem(roi, ignoreBounds=True)
            self.rois.append((key, roi))
            text = pg.TextItem(f"{b.label or '?'}{'' if b.sounding else ' (silent)'}", color=colour,
                               anchor=(0, 1), fill=pg.mkBrush(0, 0, 0, 150))
            font = QFont()
            font.setPointSize(8)
            text.setFont(font)
            text.setPos(b.x1 * w, b.y1 * h)
            text.setZValue(40)
            self.vb.addItem(text, ignoreBounds=True)
            self._labels.append(text)

    def _finished(self, key: int, roi: pg.RectROI) -> None:
        w, h = self.frame_size
        (x, y), (sw, sh) = roi.pos(), roi.size()
        self.box_changed.emit(key, x / w, y / h, (x + sw) / w, (y + sh) / h)

    def view_to_widget(self, fx: float, fy: float):
        """Widget (viewport) coordinates of the frame fraction (fx, fy): for tests and the docs."""
        w, h = self.frame_size
        scene = self.vb.mapViewToScene(pg.Point(fx * w, fy * h))
        return self.mapFromScene(scene)
