"""Annotate mode, editing: the mouse and the keys on the real widgets (draw, move,
resize, relabel, undo, nudge, segments, play, the keys dialog), the folder list, the
command-line flags and the keys' documentation, then the saved file.

The clip is ``index_clip`` (two 1 s segments, annotated frames 12 and 37); annotate
mode's helpers (open and start, drag, keys, boxes) are in ``tests/viewer_support.py``.
"""
from __future__ import annotations

import json

from PySide6.QtCore import Qt

from media_helpers import read_frame_index
from model_core.annotate.autosave import autosave_path
from model_core.formats.avsol_e import load_avsol_e
from viewer_support import boxes, close, drag, key, start


def test_mouse_and_keys_make_the_saved_file(make_viewer, index_clip, tmp_path):
    v = make_viewer()
    out = tmp_path / "set.json"
    mode = start(v, index_clip, out)
    assert mode.index == 0 and abs(v.c.player.time - 0.5) < 0.05   # the segment's centre frame
    assert v.win.spectrogram.highlight.isVisible()
    assert v.win.spectrogram.highlight.getRegion() == (0.0, 1.0)
    c = mode.canvas
    # draw
    drag(v.qtbot, c, (0.1, 0.1), (0.5, 0.6))
    assert len(mode.current().boxes) == 1 and close(boxes(mode)[0], (0.1, 0.1, 0.5, 0.6)), boxes(mode)
    # move: the inside of the box
    drag(v.qtbot, c, (0.3, 0.35), (0.4, 0.45))
    assert close(boxes(mode)[0], (0.2, 0.2, 0.6, 0.7)), boxes(mode)
    # resize: the bottom-right handle
    drag(v.qtbot, c, (0.6, 0.7), (0.8, 0.9))
    assert close(boxes(mode)[0], (0.2, 0.2, 0.8, 0.9)), boxes(mode)
    # relabel: typed in the class box
    mode.select(mode.current().boxes[0].id)
    v.qtbot.keyClicks(mode.class_box.lineEdit(), "dog")
    v.qtbot.keyClick(mode.class_box.lineEdit(), Qt.Key.Key_Return)
    assert mode.current().boxes[0].label == "dog"
    # undo / redo through the keys: the label, then back
    key(v, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert mode.current().boxes[0].label is None
    key(v, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert mode.current().boxes[0].label == "dog"
    # a second box, silent (S), then deleted (Delete) and the deletion undone
    drag(v.qtbot, c, (0.05, 0.05), (0.15, 0.2))
    assert len(mode.current().boxes) == 2 and mode.selected == mode.current().boxes[1].id
    assert mode.current().boxes[1].label == "dog"        # new boxes take the most recent class
    key(v, Qt.Key.Key_S)
    assert mode.current().boxes[1].sounding is False
    key(v, Qt.Key.Key_Delete)
    assert len(mode.current().boxes) == 1
    key(v, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(mode.current().boxes) == 2
    # next segment (D): the frame at 1.5 s; copy the previous segment's boxes forward (R)
    key(v, Qt.Key.Key_D)
    assert mode.index == 1
    v.qtbot.waitUntil(lambda: read_frame_index(mode.canvas.image.image) == 37, timeout=15000)
    assert v.win.spectrogram.highlight.getRegion() == (1.0, 2.0)
    key(v, Qt.Key.Key_R)
    assert boxes(mode) == [boxes_0 for boxes_0 in [tuple(round(x, 3) for x in (b.x1, b.y1, b.x2, b.y2))
                                                  for b in mode.segments()[0].boxes]]
    # relabel the copied first box with a recent class by number key, after a new class
    mode.select(mode.current().boxes[0].id)
    mode.set_label("bell")
    key(v, Qt.Key.Key_Tab)   # cycle: the second box
    assert mode.selected == mode.current().boxes[1].id
    key(v, Qt.Key.Key_2)   # recent: ["bell", "dog"]
    assert mode.current().boxes[1].label == "dog"
    key(v, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert v.errors == []
    saved = load_avsol_e(out)     # the project's reader: a valid AVSOL-E v1 file
    (video,) = saved.videos
    assert video.video == index_clip.name
    s0, s1 = video.segments
    assert (s0.start, s0.end, s0.frame_time, s0.event) == (0.0, 1.0, 0.5, True)
    assert [b.label for b in s0.sounding] == ["dog"] and [b.label for b in s0.silent] == ["dog"]
    assert close(s0.sounding[0].coords, (0.2, 0.2, 0.8, 0.9))
    assert [b.label for b in s1.sounding] == ["bell"] and [b.label for b in s1.silent] == ["dog"]
    assert {"dog", "bell"} <= set(mode.doc.labels())   # offered as labels from now on
    raw = json.loads(out.read_text())
    assert raw["videos"][0]["segments"][0]["sounding"][0]["annotator"] == "alice"
    assert not autosave_path(out).exists()   # a save supersedes the autosave
    mode.stop()


def test_no_object_and_next_unannotated(make_viewer, index_clip, tmp_path):
    v = make_viewer()
    out = tmp_path / "set.json"
    mode = start(v, index_clip, out)
    key(v, Qt.Key.Key_O)
    assert mode.no_object()
    mode.go_to(0)
    key(v, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)   # next unannotated: segment 2
    assert mode.index == 1
    assert mode.save()
    raw = json.loads(out.read_text())["videos"][0]["segments"]
    assert raw[0]["no_sounding"] == ["alice"] and raw[0]["sounding"] == []
    assert "no_sounding" not in raw[1]
    load_avsol_e(out)


def test_folder_list_progress_and_next_unfinished(make_viewer, index_clip, tmp_path):
    import shutil

    for name in ("a.mp4", "b.mp4"):
        shutil.copy(index_clip, tmp_path / name)
    v = make_viewer()
    mode = start(v, tmp_path / "a.mp4", tmp_path / "set.json")
    texts = lambda: [mode.video_list.item(k).text() for k in range(mode.video_list.count())]  # noqa: E731
    assert texts() == ["a.mp4 — 0/2", "b.mp4 — not started"]
    mode.add_box(0.1, 0.1, 0.3, 0.3)
    assert texts()[0] == "a.mp4 — 1/2"
    key(v, Qt.Key.Key_D)
    key(v, Qt.Key.Key_O)
    assert texts()[0] == "a.mp4 — 2/2"
    mode.next_unfinished_video()
    assert v.c.session.path.name == "b.mp4" and mode.video == "b.mp4" and mode.index == 0
    assert texts() == ["a.mp4 — 2/2", "b.mp4 — 0/2"]


def test_command_line_flags_need_each_other(capsys):
    from avsol_viewer.app import main

    assert main(["--annotator", "bob"]) == 2
    assert main(["--prefill", "dnm"]) == 2
    assert main(["--annotate"]) == 2
    err = capsys.readouterr().err
    assert err.count("--annotations, --annotator and --prefill need --annotate") == 2
    assert "--annotate needs a video FILE" in err


def test_docs_list_every_key(repo_root):
    from avsol_viewer.annotate.keys import KEYS

    text = (repo_root / "docs" / "annotate.md").read_text()
    for _, name, key_, _ in KEYS:
        assert f"| {key_} | {name} |" in text, key_


def test_play_segment_keys_dialog_and_close(make_viewer, index_clip, tmp_path):
    from model_core.outputs.lock import lock_path

    v = make_viewer()
    out = tmp_path / "set.json"
    mode = start(v, index_clip, out)
    key(v, Qt.Key.Key_D)
    key(v, Qt.Key.Key_Space, Qt.KeyboardModifier.ShiftModifier)     # play the segment's second
    assert v.c.player.playing and abs(v.c.player.time - 1.0) < 0.05
    mode._on_time(2.0)                                              # the player reaches its end
    assert not v.c.player.playing and abs(v.c.player.time - 1.5) < 0.05
    key(v, Qt.Key.Key_F1, Qt.KeyboardModifier.ShiftModifier)
    assert mode.keys_dialog.isVisible()
    mode.keys_dialog.close()
    mode.add_box(0.1, 0.1, 0.2, 0.2)
    assert lock_path(out).exists()
    v.win.close()                                                   # unsaved: autosaved, lock released
    assert autosave_path(out).exists() and not lock_path(out).exists() and not out.exists()


def test_keys_nudge_and_resize_the_selected_box(make_viewer, index_clip, tmp_path):
    """Alt+arrows move the selected box by 1 % of the frame (stopping at its edge, size
    kept); Alt+Shift+arrows move its right / bottom edge; each press is one undo step."""
    import pytest

    v = make_viewer()
    mode = start(v, index_clip, tmp_path / "set.json")
    mode.add_box(0.2, 0.3, 0.5, 0.6)                     # selected once drawn
    alt, shift = Qt.KeyboardModifier.AltModifier, Qt.KeyboardModifier.ShiftModifier
    key(v, Qt.Key.Key_Right, alt)
    key(v, Qt.Key.Key_Down, alt)
    key(v, Qt.Key.Key_Down, alt)
    assert mode.current().boxes[0].coords == pytest.approx((0.21, 0.32, 0.51, 0.62))
    key(v, Qt.Key.Key_Right, alt | shift)                # wider
    key(v, Qt.Key.Key_Up, alt | shift)                   # shorter
    assert mode.current().boxes[0].coords == pytest.approx((0.21, 0.32, 0.52, 0.61))
    assert v.c.player.time == pytest.approx(0.5, abs=0.05)   # the plain arrows' frame steps did not run
    for _ in range(5):
        key(v, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert mode.current().boxes[0].coords == pytest.approx((0.2, 0.3, 0.5, 0.6))
    mode.move_box(mode.current().boxes[0].id, 0.0, 0.0, 0.3, 0.3)
    key(v, Qt.Key.Key_Left, alt)                         # at the frame's edge: nothing moves
    key(v, Qt.Key.Key_Up, alt)
    assert mode.current().boxes[0].coords == (0.0, 0.0, 0.3, 0.3)
    mode.move_box(mode.current().boxes[0].id, 0.0, 0.0, 0.005, 0.3)
    edits = mode.stack.count()
    key(v, Qt.Key.Key_Left, alt | shift)                 # would vanish: refused, one message
    assert mode.stack.count() == edits and "cannot get smaller" in v.win.statusBar().currentMessage()
