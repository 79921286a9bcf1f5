"""Annotate mode, several annotators: each one's view, everyone's, the read-only
consensus, and the dock's agreement line.

The clip is ``index_clip`` (two 1 s segments, annotated frames 12 and 37); annotate
mode's helpers (open and start, drag, keys, boxes) are in ``tests/viewer_support.py``.
"""
from __future__ import annotations

from model_core.formats.avsol_e import load_avsol_e
from viewer_support import start


def bob_after_alice(make_viewer, clip, out):
    """A window annotating ``clip`` into ``out`` as bob (his own view), after alice drew
    [.1,.1,.4,.4] on segment 0 and saved: (the viewer, the mode)."""
    v = make_viewer()
    mode = start(v, clip, out, "alice")
    mode.add_box(0.1, 0.1, 0.4, 0.4)
    assert mode.save()
    mode.stop()
    assert mode.start(out, "bob")
    return v, mode


def test_two_annotators_view_and_file(make_viewer, index_clip, tmp_path):
    out = tmp_path / "set.json"
    _, mode = bob_after_alice(make_viewer, index_clip, out)
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

    out = tmp_path / "set.json"
    v, mode = bob_after_alice(make_viewer, index_clip, out)
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


def test_the_dock_shows_the_agreement_on_the_segment(make_viewer, index_clip, tmp_path):
    """alice [.1,.1,.4,.4] and bob [.1,.1,.5,.4] on segment 0: IoU .09 / .12 = 0.75, both
    sounding, neither marked "no object", both unlabelled: the dock's line for bob's view."""
    out = tmp_path / "set.json"
    _, mode = bob_after_alice(make_viewer, index_clip, out)
    assert "vs alice" not in mode.segment_label.text()
    mode.add_box(0.1, 0.1, 0.5, 0.4)
    assert ("vs alice: box IoU 0.75, sounding/silent agree yes, no-object agree yes, labels"
            in mode.segment_label.text()), mode.segment_label.text()
