"""The canvas of a window with no file open: what to do first, instead of an empty area.

"Open video…", "Open demo" (the bundled clip with its annotations, and the bundled heads
when none is loaded) and the recent files, over the heads panel, like the start page of
napari or SLEAP. It is a child widget of the canvas, centred on it, and acts through the
window's own commands, asked of its :class:`~avsol_viewer.context.WindowContext` (the
``"open"`` action, ``open_path``, ``load_checkpoint``), so it adds no second way of opening
anything. The presenter shows it exactly while no file
is open (and not in live mode).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

#: Recent files listed on the canvas (the File › Open recent menu has them all).
RECENT_SHOWN = 5


def demo_clip() -> Path | None:
    """The bundled demo video, if this installation has it."""
    from avsol_viewer.constants import resources_dir

    p = resources_dir() / "demo" / "demo.mp4"
    return p if p.is_file() else None


class WelcomeOverlay(QFrame):
    """See the module docstring; :meth:`refresh` re-reads the recent files."""

    def __init__(self, canvas, ctx=None):
        super().__init__(canvas)
        #: the window's context (None: a canvas on its own, whose buttons do nothing)
        self.ctx = ctx
        self.setObjectName("welcome")
        self.setStyleSheet("#welcome { background: rgba(40, 42, 46, 235); border: 1px solid #555; "
                           "border-radius: 8px; } QLabel { color: #ddd; } "
                           "QPushButton[flat=\"true\"] { color: #8ecae6; text-align: left; border: none; }")
        self.canvas = canvas
        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 18, 24, 18)
        title = QLabel("<span style='font-size:16pt; font-weight:bold'>AVSOL Studio</span>")
        lay.addWidget(title, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addWidget(QLabel("Drop a video here, or:"), 0, Qt.AlignmentFlag.AlignHCenter)
        row = QHBoxLayout()
        self.open_button = QPushButton("Open video…")
        self.demo_button = QPushButton("Open demo")
        self.demo_button.setToolTip("The bundled demo clip with its annotations and the bundled heads "
                                    "(trained on synthetic shapes)")
        self.open_button.clicked.connect(self._open)
        self.demo_button.clicked.connect(self.open_demo)
        row.addWidget(self.open_button)
        row.addWidget(self.demo_button)
        lay.addLayout(row)
        self.recent_title = QLabel("<b>Recent files</b>")
        lay.addWidget(self.recent_title)
        self.recent_box = QVBoxLayout()
        self.recent_box.setSpacing(0)
        lay.addLayout(self.recent_box)
        self.recent_buttons: list[QPushButton] = []
        self._filter = _Follow(self)
        canvas.installEventFilter(self._filter)
        self.hide()

    # -- acting through the window ------------------------------------------------------
    def _open(self) -> None:
        action = self.ctx.action("open") if self.ctx is not None else None
        if action is not None:
            action.trigger()

    def open_demo(self) -> bool:
        """Open the demo clip, loading the bundled heads first when no model is loaded."""
        from avsol_viewer.constants import default_checkpoints

        ctx = self.ctx
        clip = demo_clip()
        if ctx is None:
            return False
        if clip is None:
            ctx.error("No demo", "This installation has no resources/demo/demo.mp4.")
            return False
        c = ctx.controller
        if not c.maps.models and not c.maps.loading:
            for p in default_checkpoints():
                ctx.load_checkpoint(p)
        return ctx.open_path(clip)

    # -- showing ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the recent files (they change as files are opened) and re-centre."""
        settings = self.ctx.settings if self.ctx is not None else None
        files = [f for f in (settings.recent_files() if settings is not None else []) if Path(f).exists()]
        for b in self.recent_buttons:
            self.recent_box.removeWidget(b)
            b.deleteLater()
        self.recent_buttons = []
        for f in files[:RECENT_SHOWN]:
            b = QPushButton(Path(f).name)
            b.setFlat(True)
            b.setToolTip(f)
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            b.clicked.connect(lambda _=False, f=f: self.ctx.open_path(f))
            self.recent_box.addWidget(b)
            self.recent_buttons.append(b)
        self.recent_title.setVisible(bool(files))
        self.demo_button.setEnabled(demo_clip() is not None)
        self.place()

    def place(self) -> None:
        self.adjustSize()
        w, h = self.width(), self.height()
        self.move(max(0, (self.canvas.width() - w) // 2), max(0, (self.canvas.height() - h) // 2))

    def set_shown(self, shown: bool) -> None:
        # isHidden, not isVisible: the window itself may not be shown yet
        if shown and self.isHidden():
            self.refresh()
            self.show()
            self.raise_()
        elif not shown and not self.isHidden():
            self.hide()


class _Follow(QObject):
    """Keeps the overlay centred when the canvas changes size."""

    def __init__(self, overlay: WelcomeOverlay):
        super().__init__(overlay)
        self.overlay = overlay

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt's name
        if ev.type() == QEvent.Type.Resize and not self.overlay.isHidden():
            self.overlay.place()
        return False
