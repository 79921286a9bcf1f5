"""A dock's panel in a scroll area that follows the panel's size hints.

Why: a dock's content asks the window for its minimum size, so a tall panel (Evaluation,
Display) pushed the window past a 1366 x 768 screen. In a frameless scroll area the dock asks
for nothing of its own and the panel scrolls, down to its own minimum size.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QFrame, QScrollArea, QWidget


class _Fitted(QWidget):
    """Holds one panel at the holder's whole size, passing on the panel's size hints but not
    its height-for-width: a scroll area sizes a widget whose layout has height-for-width (a
    word-wrapped label anywhere in it) at its PREFERRED height for the width, not its
    minimum, so the Evaluation panel scrolled in a bottom tab that could show it whole."""

    def __init__(self, panel: QWidget):
        super().__init__()
        self.panel = panel
        panel.setParent(self)
        panel.installEventFilter(self)

    def eventFilter(self, obj, ev) -> bool:
        # the panel's layout changed (rows added: the heads of Display > Show heads): this
        # holder has no layout, so nothing tells the scroll area, which kept the old minimum
        # and squeezed the new rows into a few pixels; tell it
        if obj is self.panel and ev.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
            area = self.parentWidget().parentWidget() if self.parentWidget() else None
            if isinstance(area, QScrollArea):
                QApplication.postEvent(area, QEvent(QEvent.Type.LayoutRequest))
        return False

    def sizeHint(self):
        return self.panel.sizeHint()

    def minimumSizeHint(self):
        return self.panel.minimumSizeHint()

    def resizeEvent(self, ev) -> None:
        self.panel.setGeometry(self.rect())


def scrolling(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area: a dock's content then asks for no minimum size
    of its own (a panel larger than the dock scrolls, down to the panel's minimum size,
    instead of growing the window)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(_Fitted(widget))
    return area
