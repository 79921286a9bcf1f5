"""The map's value under the mouse: which head, which frame pixel, and the value there.

A colour alone cannot say whether a blob is confident: on the per-frame min-max scale a
map of silence (p(av) 0.03) is as bright as a sure one. The readout names the map's own
value sigmoid(Z) at the cursor, and on that scale what the colour stands for too, so the
user can tell a weak map from a strong one by pointing at it.

It listens to the heads panel's scene (pyqtgraph's ``sigMouseMoved``) and reads the maps
the presenter drew last (``source()``: one ``(label, DisplayMap | None)`` per view, in
the views' order); the views stay untouched. The text goes out by ``text_changed`` (the
window shows it in the status bar); "" when the cursor is on no frame.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, Signal

from avsol_viewer.core.map_display import value_at


def readout_text(label: str, dm, x: float, y: float, w: float, h: float) -> str:
    """The line for frame pixel (``x``, ``y``) of a ``w`` x ``h`` frame in the view ``label``
    drawing ``dm`` (None: no map there); "" outside the frame."""
    if not (0 <= x < w and 0 <= y < h):
        return ""
    where = f"{label} at ({int(x)}, {int(y)})"
    if dm is None:
        return f"{where}: no map"
    got = value_at(dm, x / w, y / h)
    if got is None:  # in the frame but outside a centre-cropping model's crop
        return f"{where}: outside the part of the frame this model sees"
    value, shown = got
    text = f"{where}: map value {value:.3f}"
    if dm.levels != (0.0, 1.0):  # per-frame min-max: the colour is relative to this frame
        lo, hi = dm.levels
        text += f" (colour {shown:.2f} of this frame's range {lo:.3f}..{hi:.3f})"
    return text


class MapReadout(QObject):
    """See the module docstring."""

    text_changed = Signal(str)

    def __init__(self, heads, source, parent=None):
        super().__init__(parent)
        self.heads, self.source = heads, source
        self.text = ""
        self._pos: QPointF | None = None
        heads.scene().sigMouseMoved.connect(self._on_move)
        heads.installEventFilter(self)  # the cursor leaving the panel clears the line

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt's name
        if ev.type() == QEvent.Type.Leave:
            self.clear()
        return False

    def _on_move(self, pos) -> None:
        self._pos = QPointF(pos)
        self.update_text()

    def clear(self) -> None:
        """The cursor left the views."""
        self._pos = None
        self.update_text()

    def text_at(self, pos: QPointF) -> str:
        """The readout for scene position ``pos``."""
        shown = self.source()
        for k, v in enumerate(self.heads.views):
            if k >= len(shown) or not v.vb.sceneBoundingRect().contains(pos):
                continue
            frame = v.frame_item
            if frame.image is None:
                return ""
            rect = frame.mapRectToParent(frame.boundingRect())  # the frame, in view coordinates
            p = v.vb.mapSceneToView(pos)
            label, dm = shown[k]
            return readout_text(label, dm, p.x() - rect.x(), p.y() - rect.y(), rect.width(), rect.height())
        return ""

    def update_text(self) -> None:
        """Recompute for the last cursor position (the frame or the maps changed under it)."""
        text = self.text_at(self._pos) if self._pos is not None else ""
        if text != self.text:
            self.text = text
            self.text_changed.emit(text)
