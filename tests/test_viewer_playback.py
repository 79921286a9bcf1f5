"""Playback: frame-accurate seeking and stepping, a manual clock, speed, loop, seeking from
the spectrogram and the slider, keyboard shortcuts."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from media_helpers import read_frame_index

FPS = 25.0


@pytest.fixture
def v(make_viewer, index_clip):
    viewer = make_viewer()
    assert viewer.win.open_path(index_clip)
    viewer.wait_frame(0)
    return viewer


def test_seek_is_frame_accurate(v):
    for i in (17, 3, 49, 48, 0, 31):  # backwards, forwards, the last frames, far jumps
        v.c.player.seek_index(i)
        v.wait_frame(i)
        assert read_frame_index(v.c.image) == i
    for t, i in ((1.0, 25), (1.0 - 1e-3, 24), (0.5 + 0.5 / FPS, 13)):  # the frame shown at time t
        v.c.player.seek(t)
        v.wait_frame(i)
        assert read_frame_index(v.c.image) == i


def test_step_frames_and_seconds(v):
    v.c.player.seek_index(10)
    v.wait_frame(10)
    v.c.player.step_frames(1)
    v.wait_frame(11)
    v.c.player.step_frames(-3)
    v.wait_frame(8)
    v.c.player.step_seconds(1.0)
    v.wait_frame(33)
    assert read_frame_index(v.c.image) == 33
    v.c.player.step_frames(100)  # clamped to the last frame
    v.wait_frame(49)


def test_playback_on_manual_clock(v):
    p, clock = v.c.player, v.clock
    p.play()
    assert p.playing
    for k in range(1, 6):
        clock.advance(1 / FPS)
        p.tick()
        v.wait_frame(k)
        assert read_frame_index(v.c.image) == k
    p.set_speed(2.0)
    clock.advance(1 / FPS)
    p.tick()
    v.wait_frame(7)
    p.pause()
    clock.advance(1.0)  # paused: the clock does not move
    p.tick()
    assert p.index == 7


def test_end_stops_or_loops(v):
    p, clock = v.c.player, v.clock
    p.seek_index(48)
    p.play()
    clock.advance(5.0)
    p.tick()
    assert not p.playing and p.index == 49
    v.wait_frame(49)
    p.set_loop(True)
    p.play()  # from the end: starts again at 0
    assert p.index == 0
    clock.advance(2.0 + 0.5 / FPS)  # past the end (2 s): back to the start, still playing
    p.tick()
    assert p.playing and p.index == 0


def test_late_frames_are_dropped_not_queued(v):
    p, clock = v.c.player, v.clock
    p.play()
    v.c.displayed = v.c.dropped = 0
    for _ in range(10):  # the clock jumps 3 frames per tick: two of every three never show
        clock.advance(3 / FPS)
        p.tick()
    v.wait_frame(30)
    assert v.c.displayed <= 11 and v.c.dropped >= 20
    assert read_frame_index(v.c.image) == 30


def test_spectrogram_and_slider_seek(v):
    v.qtbot.waitUntil(lambda: v.c.track is not None, timeout=20000)
    spec = v.win.spectrogram
    vb = spec.getPlotItem().getViewBox()
    vb._on_seek(1.3)  # what a click or drag at x = 1.3 s does
    v.wait_frame(int(1.3 * FPS))
    assert abs(v.c.player.time - 1.3) < 1e-9
    assert abs(spec.playhead.value() - 1.3) < 1e-9
    lo, hi = spec.window.getRegion()
    assert (lo, hi) == pytest.approx((1.0, 2.0))  # the window the maps hear: 1 s cell of 1.3 s
    # a real click on the spectrogram, at 0.6 s
    widget_pt = spec.mapFromScene(vb.mapViewToScene(QPointF(0.6, 32.0)))
    v.qtbot.mouseClick(spec.viewport(), Qt.MouseButton.LeftButton, pos=widget_pt)
    v.qtbot.waitUntil(lambda: abs(v.c.player.time - 0.6) < 0.02, timeout=15000)
    v.wait_frame(v.c.player.timeline.index_at(v.c.player.time))
    # slider: moving it seeks to that frame
    v.win.transport.slider.sliderMoved.emit(40)
    v.wait_frame(40)
    assert v.win.transport.slider.value() == 40
    assert "00:01.600" in v.win.transport.time_label.text()


def test_spectrogram_is_model_core_log_mel(v):
    from model_core.features import spectrogram_for_display
    from model_core.media.audio import read_audio

    v.qtbot.waitUntil(lambda: v.c.track is not None, timeout=20000)
    spec, _, _ = spectrogram_for_display(read_audio(v.c.session.path))
    np.testing.assert_allclose(v.c.track.columns(0, v.c.track.n_columns), spec, atol=1e-4)
    shown = v.win.spectrogram.image.image
    assert shown.shape == spec.shape


def test_keyboard_shortcuts(v):
    win = v.win
    win.activateWindow()
    v.qtbot.keyClick(win, Qt.Key.Key_Right)
    v.wait_frame(1)
    v.qtbot.keyClick(win, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    v.wait_frame(26)
    v.qtbot.keyClick(win, Qt.Key.Key_Left)
    v.wait_frame(25)
    v.qtbot.keyClick(win, Qt.Key.Key_End)
    v.wait_frame(49)
    v.qtbot.keyClick(win, Qt.Key.Key_Home)
    v.wait_frame(0)
    v.qtbot.keyClick(win, Qt.Key.Key_BracketRight)
    assert v.c.player.speed == 1.5
    v.qtbot.keyClick(win, Qt.Key.Key_L)
    assert v.c.player.loop
    v.qtbot.keyClick(win, Qt.Key.Key_Space)
    assert v.c.player.playing
    v.qtbot.keyClick(win, Qt.Key.Key_Space)
    assert not v.c.player.playing


def test_shortcuts_dialog_lists_every_shortcut(v):
    from avsol_viewer.panels.shortcuts_dialog import ShortcutsDialog, shortcut_rows

    rows = dict(shortcut_rows(v.win))
    assert rows["Play / pause"] == "Space"
    assert rows["Next frame"] == "Right"
    assert rows["Forward 1 s"] == "Shift+Right"
    for name in ("Open video…", "Save screenshot…", "Slower", "Faster", "Loop", "Keyboard shortcuts"):
        assert name in rows
    dialog = ShortcutsDialog(v.win)
    assert dialog.table.rowCount() == len(rows)
    dialog.close()
