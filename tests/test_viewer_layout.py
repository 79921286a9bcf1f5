"""The canvas's layout, offscreen and fast (the real-window
version is tests/test_walkthrough.py): the grid's cells take the frame's aspect ratio,
each view fits its own cell after any resize, zoom is shared only once the user zooms,
the reduced frame is drawn again when the views grow, the three bottom panels are tabs of
one area that can be maximised, and a layout saved by an older version is not restored."""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def test_grid_geometry_by_hand():
    from avsol_viewer.maps.heads_panel import SPACING, TITLE_PX, grid_geometry

    assert (SPACING, TITLE_PX) == (4, 26)  # the figures below assume these
    # frame + 3 heads (4:3) in a 975 x 254 strip (a bottom tab open): one row of four.
    # width per cell (975 - 2*2 - 3*4) / 4 = 239.75 -> height 179.8; the row's height
    # allows 254 - 4 - 26 - 4 = 220: 179 px cells, 238 wide; margins centre them:
    # (975 - 4*238 - 3*4) // 2 = 5 and (254 - (179 + 26) - 4) // 2 = 22
    assert grid_geometry(4, 975, 254, 4 / 3) == (4, 238, 179, 5, 22)
    # the same in 975 x 501 (no tab): two by two. Height per row (501 - 4 - 2*26 - 3*4) / 2
    # = 216.5 -> 216 px cells, 288 wide; (975 - 2*288 - 4) // 2 = 197, (501 - 2*242 - 12) // 2 = 2
    assert grid_geometry(4, 975, 501, 4 / 3) == (2, 288, 216, 197, 2)
    # too small for any picture: one column, no negative size
    cols, cw, ch, mx, my = grid_geometry(4, 10, 10, 4 / 3)
    assert cw >= 0 and ch >= 0 and mx >= 0 and my >= 0


def _shown_panel(qtbot, width: int, height: int, count: int | None = None):
    """A heads panel of ``width`` x ``height`` on screen (``count`` views set before it shows)."""
    from avsol_viewer.maps.heads_panel import HeadsPanel

    panel = HeadsPanel()
    qtbot.addWidget(panel)
    if count is not None:
        panel.set_count(count)
    panel.resize(width, height)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _settle(qtbot, panel, ms: int = 150):
    qtbot.wait(ms)  # the redraw timer (40 ms) and pyqtgraph's queued fits
    panel.grab()    # lay out and paint


def _fits_own_cell(view, frame_w, frame_h, cell_w, cell_h):
    """The view box is the cell (to a pixel) and shows exactly the whole frame."""
    g = view.vb.geometry()
    (x0, x1), (y0, y1) = view.vb.viewRange()
    return (abs(g.width() - cell_w) <= 1.5 and abs(g.height() - cell_h) <= 1.5
            and x0 <= 0.5 and y0 <= 0.5 and x1 >= frame_w - 0.5 and y1 >= frame_h - 0.5
            and x1 - x0 <= frame_w * 1.02 and y1 - y0 <= frame_h * 1.02)


def test_each_view_fits_its_own_cell_after_every_resize_and_zoom_is_shared_once_zoomed(qtbot):
    from avsol_viewer.maps.heads_panel import grid_geometry

    panel = _shown_panel(qtbot, 975, 501)
    frame = np.full((96, 128, 3), 200, np.uint8)
    panel.show_frame(frame)
    panel.set_count(4)
    for size in ((975, 501), (975, 254), (400, 700), (975, 501)):
        panel.resize(*size)
        _settle(qtbot, panel)
        vp = panel.viewport().size()
        cols, cw, ch, _mx, _my = grid_geometry(4, vp.width(), vp.height(), 128 / 96)
        for v in panel.views:
            assert _fits_own_cell(v, 128, 96, cw, ch), (size, v.vb.geometry(), v.vb.viewRange())
    assert not panel.zoomed()
    # the user zooms view 2: every view shows that region, and keeps it across a resize
    v2 = panel.views[2]
    v2.vb.setRange(xRange=(10, 50), yRange=(20, 50), padding=0)
    v2.vb.sigRangeChangedManually.emit([True, True])
    assert panel.zoomed()
    for v in panel.views:
        (x0, x1), (y0, y1) = v.vb.viewRange()
        assert x0 <= 10.5 and x1 >= 49.5 and y0 <= 20.5 and y1 >= 49.5 and x1 - x0 < 64, v.vb.viewRange()
    panel.resize(975, 254)
    _settle(qtbot, panel)
    assert all(v.vb.viewRange()[0][1] - v.vb.viewRange()[0][0] < 64 for v in panel.views)
    # Reset zoom: each view fits its own cell again
    panel.reset_zoom()
    _settle(qtbot, panel)
    vp = panel.viewport().size()
    _cols, cw, ch, _mx, _my = grid_geometry(4, vp.width(), vp.height(), 128 / 96)
    assert not panel.zoomed() and all(_fits_own_cell(v, 128, 96, cw, ch) for v in panel.views)


def test_the_frame_is_drawn_again_at_the_size_the_grown_views_need(qtbot):
    panel = _shown_panel(qtbot, 300, 200, count=4)  # four tiny views: a 720p frame is drawn reduced
    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[:, ::2] = 255
    panel.show_frame(frame)
    _settle(qtbot, panel)
    small = panel.views[0].frame_item.image.shape[1]
    assert small < 400
    panel.resize(1600, 1000)  # no new frame arrives (paused): the copy is redrawn anyway
    qtbot.waitUntil(lambda: panel.views[0].frame_item.image.shape[1] > 1.5 * small, timeout=3000)
    # the view coordinates stay those of the full frame
    assert panel.views[0].frame_item.mapRectToParent(panel.views[0].frame_item.boundingRect()).width() == \
        pytest.approx(1280)


def test_bottom_panels_are_tabs_of_one_area_that_can_be_maximised(make_viewer):
    from PySide6.QtCore import Qt

    v = make_viewer()
    win = v.win
    docks = [win.evaluation.dock, win.training.dock, win.sound_check.dock]
    assert win.bottom_docks == docks
    for d in docks:
        assert win.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea
        assert d.features() & d.DockWidgetFeature.DockWidgetFloatable    # can be torn off
    assert not any(d.isVisible() for d in docks)
    for d in docks:  # all three open: tabs of one area, not three stacked panels
        d.show()
    v.qtbot.wait(50)
    assert set(win.tabifiedDockWidgets(docks[0])) == set(docks[1:])
    for d in docks:
        d.close()
    # maximised: the canvas and the right docks make way; a row opened gives the canvas back
    win.set_bottom_maximised(True)
    assert docks[0].isVisible() and not win.centralWidget().isVisible()
    assert not win.display.isVisible() and win.actions_by_name["maximise_bottom"].isChecked()
    win.set_bottom_maximised(False)
    assert win.centralWidget().isVisible() and win.display.isVisible()
    assert not win.actions_by_name["maximise_bottom"].isChecked()
    win.actions_by_name["maximise_bottom"].trigger()
    assert win.bottom_maximised()
    win.evaluation.panel.item_activated.emit(0)   # (no report: inspect_item does nothing)
    assert not win.bottom_maximised() and win.centralWidget().isVisible()
    # closing the last tab while maximised gives the canvas back too
    win.set_bottom_maximised(True)
    docks[0].close()
    assert not win.bottom_maximised() and win.centralWidget().isVisible()


def test_a_layout_saved_by_an_older_version_is_not_restored(qtbot, settings):
    from avsol_viewer.controller import ViewerController
    from avsol_viewer.main_window import STATE_VERSION, MainWindow

    old = MainWindow(settings, ViewerController())
    qtbot.addWidget(old)
    old.evaluation.dock.show()
    settings.save_window(old.saveGeometry(), old.saveState(0))  # as the old viewer saved it
    old.controller.close()
    new = MainWindow(settings, ViewerController())
    qtbot.addWidget(new)
    new.show()
    assert not new.evaluation.dock.isVisible()
    # this version's own layout is restored
    new.evaluation.dock.show()
    settings.save_window(new.saveGeometry(), new.saveState(STATE_VERSION))
    new.controller.close()
    again = MainWindow(settings, ViewerController())
    qtbot.addWidget(again)
    again.show()
    assert again.evaluation.dock.isVisible()
    again.controller.close()


def test_long_titles_do_not_widen_their_column(qtbot):
    panel = _shown_panel(qtbot, 600, 300)
    panel.show_frame(np.zeros((96, 128, 3), np.uint8))
    from avsol_viewer.maps.heads_panel import HeadContent

    lut = np.zeros((256, 4), np.uint8)
    panel.show_maps([HeadContent("<b>Frame</b> " + "very long title " * 20)] * 2, lut, 0.5, False, False)
    _settle(qtbot, panel)
    assert panel.minimumSizeHint().width() <= 600 and panel.ci.minimumWidth() <= 600
    widths = [v.vb.geometry().width() for v in panel.views]
    assert abs(widths[0] - widths[1]) <= 1.5


def test_rows_added_to_a_scrolled_panel_keep_their_height(qtbot):
    """Display > Show heads gets a row per head after the panel is in its dock's scroll area:
    the scroll area must learn the panel's new minimum (it squeezed three 21 px rows into
    8 px each, drawn over one another, at 1366 x 768)."""
    from types import SimpleNamespace

    from avsol_viewer.dock_scroll import scrolling
    from avsol_viewer.panels.display_panel import DisplayOptions, DisplayPanel

    panel = DisplayPanel(DisplayOptions())
    area = scrolling(panel)
    qtbot.addWidget(area)
    area.resize(300, 200)
    area.show()
    qtbot.wait(20)
    panel.set_models([SimpleNamespace(name=n, head=n, key=n, path=f"/x/{n}.pt", device="cpu")
                      for n in ("avc", "cls", "dnm")])
    qtbot.waitUntil(lambda: all(r.height() >= r.minimumSizeHint().height() for r in panel._head_rows),
                    timeout=2000)
    assert panel.height() >= panel.minimumSizeHint().height()
