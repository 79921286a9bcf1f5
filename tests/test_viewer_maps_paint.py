"""The heads' paint, made cheaper for a map on every frame while playing: the same pixels
as before (the overlay's colours as pyqtgraph picks them from the float map, the frame as
with levels (0, 255)), titles that no longer re-lay out the grid, and a cheaper reduction
of the frame for the screen."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")


def _pixels(item) -> np.ndarray:
    """What an ``ImageItem`` draws: its QImage as ARGB32 bytes."""
    from PySide6.QtGui import QImage

    item.render()
    qimg = item.qimage.convertToFormat(QImage.Format.Format_ARGB32)
    ptr = qimg.constBits()
    return np.frombuffer(ptr, np.uint8, qimg.sizeInBytes()).reshape(qimg.height(), -1).copy()


def test_the_overlay_draws_the_colours_of_the_float_map(qtbot):
    import pyqtgraph as pg

    from avsol_viewer.core.map_display import prepare
    from avsol_viewer.maps.colormaps import overlay_lut
    from avsol_viewer.maps.frame_view import HeadView

    rng = np.random.default_rng(0)
    raw = rng.random((14, 14), dtype=np.float32)
    raw[0, :3] = (0.0, 1.0, 255 / 256)                 # the ends and a boundary of the table
    dm = prepare(raw, "absolute")
    lut = overlay_lut("inferno", 0.6)
    view = HeadView()
    view.set_frame(np.zeros((96, 128, 3), np.uint8))
    view.set_map(dm, lut, 0.5, contour=True, peak=True)
    assert view.overlay.image.dtype == np.uint8 and view.overlay.image.shape == (224, 224, 4)
    reference = pg.ImageItem()
    reference.setImage(dm.values, levels=(0.0, 1.0), autoLevels=False, lut=lut)   # as before
    assert np.array_equal(_pixels(view.overlay), _pixels(reference))


def test_the_frame_is_drawn_as_with_levels_0_255(qtbot):
    import pyqtgraph as pg

    from avsol_viewer.maps.frame_view import HeadView

    img = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    view = HeadView()
    view.set_frame(img)
    reference = pg.ImageItem()
    reference.setImage(img, levels=(0, 255), autoLevels=False)
    assert np.array_equal(_pixels(view.frame_item), _pixels(reference))


def test_a_new_title_does_not_lay_the_grid_out_again(qtbot, monkeypatch):
    import pyqtgraph as pg

    from avsol_viewer.maps.frame_view import ViewTitle

    title = ViewTitle("", size="10pt")
    title.resize(200, ViewTitle.HEIGHT)
    calls = []
    monkeypatch.setattr(pg.LabelItem, "updateGeometry", lambda self: calls.append(1), raising=False)
    hints = dict(title._sizeHint)
    title.setText("<b>DNM</b> p(av) 0.42")
    assert title.text == "<b>DNM</b> p(av) 0.42" and "p(av) 0.42" in title.item.toHtml()
    assert title.opts["justify"] == "center"
    title.setText("x" * 400)                         # longer than the cell: its start stays in view
    assert title.opts["justify"] == "left"
    assert calls == [] and title._sizeHint == hints
    assert title.minimumHeight() == ViewTitle.HEIGHT and title.minimumWidth() == 0
    title.setText("styled", color="#ff0000")        # a style change lays out as pyqtgraph does
    assert calls                                     # (several: its size hints and min sizes)


def test_the_frame_is_reduced_for_the_screen_like_the_models_resize():
    from avsol_viewer.maps.heads_panel import reduce_for_display
    from model_core.media.frames import resize_frame

    y, x = np.mgrid[0:720, 0:1280]
    img = np.stack([(x * 255 // 1279), (y * 255 // 719), ((x + y) % 256)], axis=2).astype(np.uint8)
    import cv2

    half = reduce_for_display(img, (640, 360))                      # one exact halving
    assert np.array_equal(half, cv2.resize(img, (640, 360), interpolation=cv2.INTER_AREA))
    small = reduce_for_display(img, (500, 281))
    assert small.shape == (281, 500, 3) and small.dtype == np.uint8
    ref = resize_frame(img, (500, 281)).astype(np.int16)
    assert np.abs(small.astype(np.int16) - ref)[:, :, :2].mean() < 1.5   # smooth ramps: close
    assert reduce_for_display(img, (1280, 720)) is img
