"""Annotate mode, prefill: boxes proposed from a loaded head's map (on request, or on
each segment reached with --prefill HEAD), and a head not loaded named in one message.

The clip is ``index_clip`` (two 1 s segments, annotated frames 12 and 37); annotate
mode's helpers (open and start, drag, keys, boxes) are in ``tests/viewer_support.py``.
"""
from __future__ import annotations

from PySide6.QtCore import Qt

from viewer_support import boxes, key, start


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
