"""Shared pieces of the viewer tests: a window on a manual clock, the fake models
(defined in ``tests/fakes.py``, imported here too because every viewer test takes them
with the window), and annotate mode's mouse, keys and boxes.

The fixtures (``index_clip``, ``other_clip``, ``settings``, ``make_viewer`` and the
autouse no-thread-left guard) live in ``tests/conftest.py``, so that session-scoped ones
are built once per run and the guard covers every test.
"""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

from fakes import FakeFactory, FakeLocalizer, quadrant_map  # noqa: F401 - the viewer tests' fakes


class Viewer(SimpleNamespace):
    """A window on a manual clock: ``win``, ``c`` (controller), ``clock``, ``qtbot``.

    Waits are generous (the machine running the suite may be busy); they end as soon as
    the condition holds.
    """

    def frame_is(self, index: int) -> bool:
        return self.c.shown_index == index and self.c.image is not None

    def wait_frame(self, index: int, timeout: int = 15000) -> None:
        self.qtbot.waitUntil(lambda: self.frame_is(index), timeout=timeout)

    def maps_drawn(self, index: int) -> bool:
        """Frame ``index`` is not on screen, or every head on screen has drawn its map.

        The worker fills the cache on its own thread and tells the window by a queued signal:
        between the two, ``ready_at`` holds while the heads still say "computing…"."""
        if self.c.shown_index != index or self.win.presenter.live is not None:
            return True
        return all(dm is not None for label, dm in self.win.presenter.shown if label != "Frame")

    def wait_maps(self, index: int, timeout: int = 30000) -> None:
        self.qtbot.waitUntil(lambda: bool(self.c.maps.models) and self.c.maps.ready_at(index)
                             and self.maps_drawn(index), timeout=timeout)


def open_with(make_viewer, clip, **fakes):
    """A window whose fake models ``fakes`` (name -> FakeLocalizer) are loaded, on ``clip``."""
    v = make_viewer(FakeFactory(**fakes))
    for name in fakes:
        v.win.load_checkpoint(f"/models/{name}.pt")
    assert v.win.open_path(clip)
    return v


def set_display(v, **kw):
    """Change display options of ``v``'s window as the menus do (the fields ``kw``)."""
    v.win.set_options(replace(v.win.display.options, **kw))


# -- annotate mode (tests/test_viewer_annotate_*.py) ---------------------------------------
# The clip is ``index_clip`` (2 s, 128 x 96, the frame index drawn in the pixels): two 1 s
# segments whose annotated frames are 12 (0.5 s) and 37 (1.5 s). Boxes go in and come out
# as fractions of the frame; a drag is resolved to the frame's pixels, hence the 0.02
# tolerance (2.5 frame pixels of 128). Qt is imported in the functions: the models' tests
# import the fakes from here without a Qt application.

TOL = 0.02


def _mouse(widget, kind, pos, buttons):
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    ev = QMouseEvent(kind, QPointF(pos), widget.mapToGlobal(pos).toPointF(), Qt.MouseButton.LeftButton,
                     buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, ev)


def drag(qtbot, canvas, frm, to):
    """A left-button drag from frame fraction ``frm`` to ``to``, as the mouse sends it."""
    from PySide6.QtCore import QEvent, Qt

    vp = canvas.viewport()
    a, b = canvas.view_to_widget(*frm), canvas.view_to_widget(*to)
    left = Qt.MouseButton.LeftButton
    _mouse(vp, QEvent.Type.MouseButtonPress, a, left)
    qtbot.wait(30)   # pyqtgraph drops mouse moves closer than its rate limit
    mid = (a + b) / 2
    _mouse(vp, QEvent.Type.MouseMove, mid, left)
    qtbot.wait(30)
    _mouse(vp, QEvent.Type.MouseMove, b, left)
    qtbot.wait(30)
    _mouse(vp, QEvent.Type.MouseButtonRelease, b, Qt.MouseButton.NoButton)
    qtbot.wait(30)


def key(v, k, mod=None):
    """Key ``k`` with the modifiers ``mod`` (none by default) on ``v``'s window."""
    from PySide6.QtCore import Qt

    v.qtbot.keyClick(v.win, k, Qt.KeyboardModifier.NoModifier if mod is None else mod)


def boxes(mode):
    """The current segment's boxes as (x1, y1, x2, y2), rounded to 3 places."""
    return [(round(b.x1, 3), round(b.y1, 3), round(b.x2, 3), round(b.y2, 3)) for b in mode.current().boxes]


def close(got, want):
    """Each coordinate of ``got`` within :data:`TOL` of ``want``'s."""
    return all(abs(g - w) <= TOL for g, w in zip(got, want))


def start(v, clip, out, annotator="alice"):
    """Open ``clip`` and annotate it into ``out`` as ``annotator``; returns the mode once
    its canvas shows segment 0's frame (12) at the clip's size."""
    from media_helpers import read_frame_index

    assert v.win.open_path(clip)
    v.wait_frame(0)
    mode = v.win.annotate
    assert mode.start(out, annotator), v.errors
    mode.canvas.resize(640, 480)
    v.qtbot.waitUntil(lambda: mode.canvas.frame_size == (128, 96)
                      and read_frame_index(mode.canvas.image.image) == 12, timeout=15000)
    return mode
