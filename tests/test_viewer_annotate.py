"""Annotate mode: the mouse and the keys on the real widgets, then the saved file.

The clip is ``index_clip`` (2 s, 128 x 96, the frame index drawn in the pixels): two 1 s
segments whose annotated frames are 12 (0.5 s) and 37 (1.5 s). Boxes go in and come out as
fractions of the frame; a drag is resolved to the frame's pixels, hence the 0.02 tolerance
(2.5 frame pixels of 128).
"""
from __future__ import annotations

import json

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from media_helpers import read_frame_index
from model_core.annotate.autosave import autosave_path
from model_core.formats.avsol_e import load_avsol_e

TOL = 0.02


def _mouse(widget, kind, pos, buttons):
    ev = QMouseEvent(kind, QPointF(pos), widget.mapToGlobal(pos).toPointF(), Qt.MouseButton.LeftButton,
                     buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, ev)


def drag(qtbot, canvas, frm, to):
    """A left-button drag from frame fraction ``frm`` to ``to``, as the mouse sends it."""
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


def key(v, k, mod=Qt.KeyboardModifier.NoModifier):
    v.qtbot.keyClick(v.win, k, mod)


def boxes(mode):
    return [(round(b.x1, 3), round(b.y1, 3), round(b.x2, 3), round(b.y2, 3)) for b in mode.current().boxes]


def close(got, want):
    return all(abs(g - w) <= TOL for g, w in zip(got, want))


def start(v, clip, out, annotator="alice"):
    assert v.win.open_path(clip)
    v.wait_frame(0)
    mode = v.win.annotate
    assert mode.start(out, annotator), v.errors
    mode.canvas.resize(640, 480)
    v.qtbot.waitUntil(lambda: mode.canvas.frame_size == (128, 96)
                      and read_frame_index(mode.canvas.image.image) == 12, timeout=15000)
    return mode


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


def test_recovery_offered_after_an_autosave_is_left(make_viewer, index_clip, tmp_path, monkeypatch):
    v = make_viewer()
    out = tmp_path / "set.json"
    mode = start(v, index_clip, out)
    mode.add_box(0.1, 0.1, 0.4, 0.4)
    mode.flush_autosave(wait=True)    # what the debounce timer writes after an edit burst
    assert autosave_path(out).exists() and not out.exists()
    mode.doc.release()                # as a killed viewer: the lock goes with the process
    mode.doc = None
    asked = []
    monkeypatch.setattr("avsol_viewer.asks.ask_yes_no", lambda *a, **k: asked.append(a[1]) or True)
    assert mode.start(out, "alice")
    assert asked == ["Recover annotations?"]
    assert mode.index == 0 and close(boxes(mode)[0], (0.1, 0.1, 0.4, 0.4))
    assert mode.doc.modified        # recovered, not yet saved


def test_autosave_is_written_off_the_gui_thread(make_viewer, index_clip, tmp_path, monkeypatch):
    """The write held on the writer's thread: the GUI thread's flush returns at once and
    edits go on; the snapshots taken meanwhile are one write, of the latest; closing the
    window waits for it, and the autosave left is a valid set with every edit."""
    import threading

    from model_core.annotate import autosave as asv

    gate, started, writes = threading.Event(), threading.Event(), []
    real = asv.write_autosave_payload

    def held(path, payload):
        started.set()
        assert gate.wait(20)
        writes.append((threading.current_thread(), len(payload["videos"][0]["segments"][0]["sounding"])))
        return real(path, payload)

    monkeypatch.setattr(asv, "write_autosave_payload", held)
    v = make_viewer()
    out = tmp_path / "set.json"
    mode = start(v, index_clip, out)
    # starting added the video to the set and showed segment 0: that snapshot (no box yet) is
    # the one being written, held
    assert started.wait(20) and not autosave_path(out).exists()
    mode.add_box(0.1, 0.1, 0.4, 0.4)           # editing goes on during the write
    mode.flush_autosave()                      # the debounce timer's call: returns at once
    mode.add_box(0.5, 0.5, 0.7, 0.7)
    mode.flush_autosave()
    mode.add_box(0.2, 0.6, 0.3, 0.9)
    mode.flush_autosave()
    assert len(mode.current().boxes) == 3
    gate.set()
    v.win.close()                              # flushes: waits for the writes
    assert [n for _, n in writes] == [0, 3]    # latest wins: the 1- and 2-box snapshots never written
    assert all(t is not threading.main_thread() for t, _ in writes)
    load_avsol_e(autosave_path(out))           # a valid AVSOL-E file
    assert len(asv.recover(out).segment(index_clip.name, 0).boxes) == 3


def test_malformed_file_is_one_line_and_untouched(make_viewer, index_clip, tmp_path):
    v = make_viewer()
    out = tmp_path / "set.json"
    text = json.dumps({"format": "avsol-e", "version": 1, "classes": ["a"],
                       "videos": [{"video": "x.mp4", "category": "a",
                                   "segments": [{"start": 0, "end": 1, "event": True,
                                                 "sounding": [[0.5, 0.1, 0.2, 0.3]]}]}]})
    out.write_text(text)
    assert v.win.open_path(index_clip)
    assert not v.win.annotate.start(out, "alice")
    ((title, message),) = v.errors
    assert "\n" not in message and "set.json" in message and "x1 > x2" in message
    assert out.read_text() == text and not v.win.annotate.active


def test_second_writer_refused(make_viewer, index_clip, tmp_path):
    from model_core.outputs.lock import OutputLock

    v = make_viewer()
    out = tmp_path / "set.json"
    with OutputLock(out):
        assert v.win.open_path(index_clip)
        assert not v.win.annotate.start(out, "bob")
    ((_, message),) = v.errors
    assert "pid" in message and "\n" not in message


def test_two_annotators_view_and_file(make_viewer, index_clip, tmp_path):
    v = make_viewer()
    out = tmp_path / "set.json"
    mode = start(v, index_clip, out, "alice")
    mode.add_box(0.1, 0.1, 0.4, 0.4)
    assert mode.save()
    mode.stop()
    assert mode.start(out, "bob")
    assert mode.visible() == []                 # bob sees his own boxes
    mode.set_view("all")
    assert len(mode.visible()) == 1
    mode.set_view("one")
    mode.add_box(0.5, 0.5, 0.9, 0.9)
    assert mode.save()
    seg = load_avsol_e(out).videos[0].segments[0]
    assert seg.annotators is not None and len(seg.annotators) == 2


def test_consensus_view_is_the_majority_and_read_only(make_viewer, index_clip, tmp_path):
    """Mine / all / consensus: alice [.1,.1,.4,.4] and bob [.1,.1,.5,.4] are one object
    (IoU .09/.12 = .75), averaged to [.1,.1,.45,.4]; bob's lone [.6,.6,.9,.9] is 1 of 2
    voters and dropped. Nothing edits the consensus."""
    import pytest

    v = make_viewer()
    out = tmp_path / "set.json"
    mode = start(v, index_clip, out, "alice")
    mode.add_box(0.1, 0.1, 0.4, 0.4)
    assert mode.save()
    mode.stop()
    assert mode.start(out, "bob")
    mode.add_box(0.1, 0.1, 0.5, 0.4)
    mode.add_box(0.6, 0.6, 0.9, 0.9)
    assert mode.view_box.findData("consensus") >= 0
    mode.set_view("consensus")
    assert mode.view_box.currentData() == "consensus"
    ((key, box),) = mode.visible()
    assert box.coords == pytest.approx((0.1, 0.1, 0.45, 0.4))
    ((_, roi),) = mode.canvas.rois
    assert not roi.translatable and roi.getHandles() == []     # drawn without handles
    edits, boxes = mode.stack.count(), len(mode.current().boxes)
    mode.add_box(0.2, 0.6, 0.3, 0.9)
    mode.move_box(key, 0.0, 0.0, 0.2, 0.2)
    mode.copy_forward()
    assert (mode.stack.count(), len(mode.current().boxes)) == (edits, boxes)
    assert "read-only" in v.win.statusBar().currentMessage()
    mode.set_view("all")
    assert len(mode.visible()) == 3 and mode.canvas.rois[0][1].getHandles() != []
    mode.set_view("one")
    assert len(mode.visible()) == 2


def test_edit_ground_truth_from_the_results_panel(make_viewer, index_clip, tmp_path):
    """Evaluation panel › Edit ground truth: the item's video in annotate mode, on the
    report's annotations file, at the item's segment; a moved box is saved there."""
    import shutil

    import numpy as np

    from avsol_viewer.evaluate import commands
    from model_core.formats import AvsolE, Box, Segment, VideoAnnotation, save_avsol_e
    from model_core.metrics.items import score_items
    from model_core.metrics.report import build_report, write_report

    (tmp_path / "videos").mkdir()
    shutil.copy(index_clip, tmp_path / "videos" / "clip.mp4")
    segs = (Segment(0, 1, 0.5, True, sounding=(Box(0.5, 0, 1, 1),)),
            Segment(1, 2, 1.5, True, sounding=(Box(0.5, 0, 1, 1),)))
    ann = tmp_path / "avsol-e.json"
    save_avsol_e(AvsolE(("bell",), (VideoAnnotation("clip.mp4", "bell", segs),)), ann)
    m = np.tile(np.arange(7, dtype=np.float32) / 6, (7, 1))
    items = score_items(np.stack([m, m]), list(segs), videos=["clip.mp4"] * 2, head="a",
                        categories=["bell"] * 2, p_avc=[0.9, 0.9])
    report = tmp_path / "report.json"
    write_report(report, build_report(items, ["a"], {"command": "metrics", "annotations": str(ann),
                                                     "threshold": "median"}))
    v = make_viewer()
    assert commands.open_report(v.win.context, report)
    panel = v.win.evaluation.panel
    r = next(i for i in range(panel.proxy.rowCount()) if panel.proxy.row_at(i)["time"] == 1.5)
    panel.table.selectRow(r)
    v.qtbot.mouseClick(panel.edit_gt_button, Qt.MouseButton.LeftButton)
    mode = v.win.annotate
    assert mode.active and mode.path == ann and mode.index == 1, v.errors
    assert boxes(mode) == [(0.5, 0.0, 1.0, 1.0)]    # the unnamed ground truth is shown, editable
    mode.move_box(mode.current().boxes[0].id, 0.4, 0.1, 0.9, 0.9)
    assert mode.save()
    saved = load_avsol_e(ann).videos[0].segments
    assert saved[0].sounding[0].coords == (0.5, 0.0, 1.0, 1.0)
    assert saved[1].sounding[0].coords == (0.4, 0.1, 0.9, 0.9)
    (entry,) = json.loads(ann.read_text())["history"]     # the correction, recorded by the document
    assert entry["old"]["box"] == [0.5, 0.0, 1.0, 1.0] and entry["new"]["box"] == [0.4, 0.1, 0.9, 0.9]
    mode.stop()


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


def test_round_trip_without_edits_keeps_the_annotations(make_viewer, index_clip, tmp_path):
    from model_core.formats import AvsolE, Box, Segment, VideoAnnotation, save_avsol_e

    out = tmp_path / "set.json"
    segs = (Segment(0, 1, 0.5, True, sounding=(Box(0.5, 0, 1, 1, "bell"),), silent=(Box(0, 0, 0.2, 0.3, "man"),)),
            Segment(1, 2, 1.5, False))
    save_avsol_e(AvsolE(("bell",), (VideoAnnotation(index_clip.name, "bell", segs),)), out)
    before = load_avsol_e(out)
    v = make_viewer()
    mode = start(v, index_clip, out)
    assert mode.save()
    assert load_avsol_e(out) == before


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


def test_prefill_from_a_loaded_head(make_viewer, index_clip, tmp_path, monkeypatch):
    """The head's map (hot in the top-right quadrant) goes to the document's prefill; its
    boxes, in fractions of the map, land on the frame as new boxes (one undo step each)."""
    import sys
    import types

    from viewer_support import FakeFactory, FakeLocalizer

    seen = []

    def prefill_boxes(values):
        seen.append(values)
        return [(0.5, 0.0, 1.0, 0.5)]

    monkeypatch.setitem(sys.modules, "model_core.annotate.prefill",
                        types.SimpleNamespace(prefill_boxes=prefill_boxes))
    v = make_viewer(FakeFactory(dnm=FakeLocalizer("dnm", quadrant="tr")))
    out = tmp_path / "set.json"
    mode = start(v, index_clip, out)
    mode.prefill()                   # no head loaded: one message, no box
    assert [t for t, _ in v.errors] == ["Prefill"] and boxes(mode) == []
    v.errors.clear()
    v.win.load_checkpoint("/models/dnm.pt")
    v.wait_maps(12)
    mode.prefill()
    assert len(seen) == 1 and float(seen[0][0, -1]) > float(seen[0][-1, 0])   # the map as shown
    assert boxes(mode) == [(0.5, 0.0, 1.0, 0.5)]
    key(v, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert boxes(mode) == []


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


def test_prefill_head_proposes_on_each_segment_reached(make_viewer, index_clip, tmp_path):
    """--prefill avc: the avc head's map (0.95 in the bottom-left quadrant, 0.05 elsewhere;
    the first head, dnm, is hot top-right) gives the box [0, .5, .5, 1] on every segment the
    annotator reaches with none of theirs, once: a deleted proposal is not made again."""
    from viewer_support import FakeFactory, FakeLocalizer

    v = make_viewer(FakeFactory(dnm=FakeLocalizer("dnm", quadrant="tr"),
                                avc=FakeLocalizer("avc", head="avc", quadrant="bl")))
    assert v.win.open_path(index_clip)
    v.wait_frame(0)
    v.win.load_checkpoint("/models/dnm.pt")
    v.win.load_checkpoint("/models/avc.pt")
    mode = v.win.annotate
    assert mode.start(tmp_path / "set.json", "alice", prefill="avc"), v.errors
    v.qtbot.waitUntil(lambda: boxes(mode) == [(0.0, 0.5, 0.5, 1.0)], timeout=30000)
    assert mode.current().boxes[0].annotator == "alice" and mode.stack.count() == 1   # one undoable edit
    mode.select(mode.current().boxes[0].id)
    mode.delete_box()                            # rejected by the annotator
    key(v, Qt.Key.Key_D)
    v.qtbot.waitUntil(lambda: boxes(mode) == [(0.0, 0.5, 0.5, 1.0)], timeout=30000)
    key(v, Qt.Key.Key_A)
    v.qtbot.wait(200)
    assert mode.index == 0 and boxes(mode) == []   # not proposed twice
    assert v.errors == []


def test_prefill_head_not_loaded_is_one_message(make_viewer, index_clip, tmp_path):
    from viewer_support import FakeFactory, FakeLocalizer

    v = make_viewer(FakeFactory(dnm=FakeLocalizer("dnm", quadrant="tr")))
    assert v.win.open_path(index_clip)
    mode = v.win.annotate
    assert mode.start(tmp_path / "set.json", "alice", prefill="cls")
    v.win.load_checkpoint("/models/dnm.pt")
    v.qtbot.waitUntil(lambda: bool(v.errors), timeout=30000)
    v.wait_maps(12)
    ((title, message),) = v.errors
    assert title == "Prefill" and message == "--prefill cls: no loaded head has that name (loaded: dnm)"
    assert boxes(mode) == []


def _flickr(folder, stem, boxes_px):
    body = "".join(f"<bbox><n>{i}</n><a>{b[0]}</a><b>{b[1]}</b><c>{b[2]}</c><d>{b[3]}</d></bbox>"
                   for i, b in enumerate(boxes_px))
    (folder / f"{stem}.xml").write_text(f"<annotation><object>{body}</object></annotation>")


def test_import_flickr_boxes_then_continue(make_viewer, index_clip, tmp_path):
    """Annotate › Import…: Flickr's two votes on 1001 ([0,0,128,256] and [0,0,128,128] of
    256 px) become annotators 1 and 2 of the clip named 1001.mp4 in the folder; the open
    video (not in the import) gives way to it; alice adds her box; the saved set keeps the
    votes and adds hers, and nothing is written before the save but the autosave."""
    import shutil

    videos, xml = tmp_path / "videos", tmp_path / "xml"
    videos.mkdir()
    xml.mkdir()
    shutil.copy(index_clip, videos / "1001.mp4")
    shutil.copy(index_clip, videos / "other.mp4")
    _flickr(xml, "1001", [(0, 0, 128, 256), (0, 0, 128, 128)])
    v = make_viewer()
    assert v.win.open_path(videos / "other.mp4")
    mode = v.win.annotate
    out = videos / "flickr-set.json"
    assert mode.import_set("flickr", xml, out, "alice"), v.errors
    assert v.c.session.path.name == "1001.mp4" and mode.video == "1001.mp4" and mode.index == 0
    mode.set_view("all")
    assert sorted(boxes(mode)) == [(0.0, 0.0, 0.5, 0.5), (0.0, 0.0, 0.5, 1.0)]
    assert "entries read: 1" in v.win.statusBar().currentMessage()
    assert not out.exists()
    mode.set_view("one")
    mode.add_box(0.6, 0.6, 0.9, 0.9)
    assert mode.save()
    seg = load_avsol_e(out).videos[0].segments[0]
    raw = json.loads(out.read_text())["videos"][0]["segments"][0]
    assert raw["annotator_names"] == ["annotator 1", "annotator 2", "alice"]
    assert [[b.coords for b in group] for group in seg.annotators] == [
        [(0.0, 0.0, 0.5, 1.0)], [(0.0, 0.0, 0.5, 0.5)], [(0.6, 0.6, 0.9, 0.9)]]
    assert [p.name for p in (videos).iterdir() if p.suffix == ".json"] == ["flickr-set.json"]


def test_import_vggss_boxes_then_continue(make_viewer, tmp_path):
    """VGG-SS: the entry abc_10's box on a 10 s clip, segment [4.5, 5.5], frame at 5 s;
    a wrong box is corrected (moved), and the save records the correction."""
    from media_helpers import make_clip

    make_clip(tmp_path / "abc_10.mp4", n_frames=60, fps=6.0, size=(64, 48))
    src = tmp_path / "vggss.json"
    src.write_text(json.dumps([{"file": "abc_10", "class": "dog barking", "bbox": [[0.1, 0.2, 0.5, 0.6]]},
                               {"file": "zzz_20", "class": "dog barking", "bbox": [[-3e16, 0, 0, 0]]}]))
    v = make_viewer()
    assert v.win.open_path(tmp_path / "abc_10.mp4")
    mode = v.win.annotate
    out = tmp_path / "vggss-set.json"
    assert mode.import_set("vggss", src, out, "alice"), v.errors
    seg = mode.current()
    assert (seg.start, seg.end, seg.frame_time) == (4.5, 5.5, 5.0) and boxes(mode) == [(0.1, 0.2, 0.5, 0.6)]
    assert abs(v.c.player.time - 5.0) < 0.2
    assert "dropped: 1" in v.win.statusBar().currentMessage()
    mode.move_box(seg.boxes[0].id, 0.2, 0.2, 0.6, 0.6)
    assert mode.save()
    saved = json.loads(out.read_text())
    assert saved["classes"] == ["dog barking"] and [v_["video"] for v_ in saved["videos"]] == ["abc_10.mp4"]
    (entry,) = saved["history"]
    assert entry["old"]["box"] == [0.1, 0.2, 0.5, 0.6] and entry["new"]["box"] == [0.2, 0.2, 0.6, 0.6]


def test_import_refuses_an_existing_set_and_bad_input(make_viewer, index_clip, tmp_path):
    v = make_viewer()
    assert v.win.open_path(index_clip)
    mode = v.win.annotate
    out = tmp_path / "set.json"
    out.write_text("{}")
    assert not mode.import_set("flickr", tmp_path, out)
    assert not mode.import_set("vggss", tmp_path / "missing.json", tmp_path / "new.json")
    assert [t for t, _ in v.errors] == ["Cannot import", "Cannot import"]
    assert "exists" in v.errors[0][1] and "missing.json" in v.errors[1][1]
    assert all("\n" not in m for _, m in v.errors)
    assert out.read_text() == "{}" and not (tmp_path / "new.json").exists() and not mode.active
    v.errors.clear()
    left = tmp_path / "left.json"                        # an import there was autosaved, never saved
    autosave_path(left).write_text("{}")
    assert not mode.import_set("flickr", tmp_path, left)
    ((_, message),) = v.errors
    assert "unsaved annotations" in message and autosave_path(left).read_text() == "{}"


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


def test_the_dock_shows_the_agreement_on_the_segment(make_viewer, index_clip, tmp_path):
    """alice [.1,.1,.4,.4] and bob [.1,.1,.5,.4] on segment 0: IoU .09 / .12 = 0.75, both
    sounding, neither marked "no object", both unlabelled: the dock's line for bob's view."""
    v = make_viewer()
    out = tmp_path / "set.json"
    mode = start(v, index_clip, out, "alice")
    mode.add_box(0.1, 0.1, 0.4, 0.4)
    assert mode.save()
    mode.stop()
    assert mode.start(out, "bob")
    assert "vs alice" not in mode.segment_label.text()
    mode.add_box(0.1, 0.1, 0.5, 0.4)
    assert ("vs alice: box IoU 0.75, sounding/silent agree yes, no-object agree yes, labels"
            in mode.segment_label.text()), mode.segment_label.text()
