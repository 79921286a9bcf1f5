"""The per-item inspection shown large.

Beside its table the Evaluation panel shows every head on the selected item (map, the
region the report's rule predicts, GT boxes, peak) in a strip of small tiles: at the
bottom area's size, three heads are ~100 px each. Two ways to see them large:

* clicking a row opens the item's video at its frame in the main canvas, every head's map
  at full size (``commands.inspect_item``); when the bottom area had the window
  (maximised), the canvas is given back so that the item is seen;
* View › Inspect item large (Ctrl+I), or a double-click on the strip, opens the strip in
  its own window, as large as that window (kept within the screen), following the
  selection as the failures are walked (F / Shift+F).

The window reads the panel's picture (``ResultsPanel._preview_image``) each time it paints
and repaints whenever the panel's strip does: one picture, drawn by the panel's code.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

SHORTCUT = "Ctrl+I"
BACKGROUND = QColor(0x1E, 0x1F, 0x22)


class _Picture(QWidget):
    """Draws the panel's current strip, scaled to fit (aspect kept, centred)."""

    def __init__(self, panel, parent=None):
        super().__init__(parent)
        self.panel = panel
        self.setMinimumSize(200, 80)

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), BACKGROUND)
        rgb = getattr(self.panel, "_preview_image", None)
        if rgb is None:
            p.setPen(QColor(200, 200, 200))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                       "Select an item in the Evaluation panel (a row, or F / Shift+F).")
            return
        h, w = rgb.shape[:2]
        img = QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888)
        scale = min(self.width() / w, self.height() / h)
        tw, th = int(w * scale), int(h * scale)
        target = QRect((self.width() - tw) // 2, (self.height() - th) // 2, tw, th)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        p.drawImage(target, img)


class InspectionWindow(QWidget):
    """A window of its own (torn off the panel) showing the selected item's heads large."""

    def __init__(self, window, panel):
        super().__init__(window, Qt.WindowType.Window)
        self.setWindowTitle("AVSOL Studio — item inspection")
        self.panel = panel
        self.picture = _Picture(panel, self)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.picture, 1)
        lay.addWidget(self.caption)

    def refresh(self) -> None:
        self.caption.setText(self.panel.detail.text())
        self.picture.update()

    def show_large(self) -> None:
        """Show (sized to most of the screen the main window is on) and raise."""
        if not self.isVisible():
            screen = self.parentWidget().screen() if self.parentWidget() is not None else None
            if screen is not None:
                avail = screen.availableGeometry()
                w, h = int(avail.width() * 0.8), int(avail.height() * 0.6)
                self.setGeometry(avail.x() + (avail.width() - w) // 2, avail.y() + (avail.height() - h) // 2, w, h)
        self.refresh()
        self.show()
        self.raise_()
        self.activateWindow()


class _StripWatcher(QObject):
    """Double-click on the panel's strip: show it large; the strip repainted: so is the window."""

    def __init__(self, inspection: InspectionWindow):
        super().__init__(inspection)
        self.inspection = inspection

    def eventFilter(self, obj, ev) -> bool:
        t = ev.type()
        if t == QEvent.Type.MouseButtonDblClick:
            self.inspection.show_large()
            return True
        if t == QEvent.Type.Paint and self.inspection.isVisible():
            self.inspection.refresh()
        return False


def install_inspection(ctx) -> InspectionWindow:
    """View › Inspect item large (Ctrl+I), the strip's double-click, and the canvas given
    back when a row is opened while the bottom area is maximised. The feature ``"inspection"``."""
    panel = ctx.feature("evaluation").panel
    ins = InspectionWindow(ctx.widget, panel)
    watcher = _StripWatcher(ins)
    panel.preview.installEventFilter(watcher)
    panel.preview.setToolTip(panel.preview.toolTip() + f" — double-click ({SHORTCUT}): show large")

    def _show_item_in_canvas(_row) -> None:
        if ctx.bottom_maximised():
            ctx.set_bottom_maximised(False)

    panel.item_activated.connect(_show_item_in_canvas)
    ctx.add_action("inspect_large", "&Inspect item large", SHORTCUT, ins.show_large, menu="View",
                   tip="every head on the selected evaluation item, in a window of its own")
    return ctx.register("inspection", ins)
