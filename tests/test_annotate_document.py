"""The editable annotation set (model_core.annotate.document): its save, history, autosave, writer thread, prefill."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from model_core.annotate.commands import (
    AddBox, CopyPrevious, DeleteBox, MarkNoSounding, MoveBox, Relabel, ToggleSounding,
)
from model_core.annotate.autosave import autosave_path, discard_autosave, find_recovery, recover, write_autosave
from model_core.annotate.document import AnnotationDocument, from_import
from model_core.errors import AnnotationError, InputError
from model_core.formats.avsol_e import avsol_e_from_dict, load_avsol_e

# Every form the reader accepts: bare-list boxes, an unlabelled box, silent boxes, a
# background segment, frame_time left to default, a hair outside [0, 1], Flickr's unnamed
# annotators, named ones, a "no sounding" mark, and a provenance note at the top level.
ORIGINAL = {
    "format": "avsol-e", "version": 1, "classes": ["Church bell", "Dog"], "note": "made by hand",
    "videos": [
        {"video": "bell.mp4", "category": "Church bell", "segments": [
            {"start": 0.0, "end": 1.0, "frame_time": 0.5, "event": True,
             "sounding": [{"box": [0.41, 0.10, 0.62, 0.55], "label": "bell"}, [0.1, 0.1, 0.2, 1.0000001]],
             "silent": [{"box": [0.05, 0.50, 0.20, 0.90], "label": "man"}]},
            {"start": 1.0, "end": 2.0, "event": False},
            {"start": 2.0, "end": 3.0, "frame_time": 2.25, "event": True, "sounding": [], "no_sounding": ["ann"]},
        ]},
        {"video": "dog.mp4", "category": "Dog", "segments": [
            {"start": 4.5, "end": 5.5, "frame_time": 5.0, "event": True,
             "annotators": [[[0.1, 0.1, 0.5, 0.5]], [], [[0.2, 0.2, 0.6, 0.6], [0.7, 0.7, 0.8, 0.8]]]},
            {"start": 5.5, "end": 6.5, "event": True,
             "annotators": [[{"box": [0.1, 0.1, 0.5, 0.5], "label": "dog"}], []],
             "annotator_names": ["ann", "bob"],
             "silent": [{"box": [0.6, 0.6, 0.9, 0.9], "annotator": "bob"}]},
        ]},
    ],
}


@pytest.fixture
def set_path(tmp_path):
    p = tmp_path / "set.json"
    p.write_text(json.dumps(ORIGINAL))
    return p


def _content(doc):
    return [(v.video, k, s.event, sorted(s.no_sounding, key=str),
             sorted((b.coords, b.label or "", b.sounding, b.annotator or "") for b in s.boxes))
            for v in doc.videos for k, s in enumerate(v.segments)]


def test_round_trip_without_edits_keeps_the_annotations(set_path, tmp_path):
    doc = AnnotationDocument.load(set_path)
    out = tmp_path / "saved.json"
    doc.save(out)
    assert load_avsol_e(out) == load_avsol_e(set_path)          # what metrics read: identical
    again = AnnotationDocument.load(out)
    assert _content(again) == _content(doc)                       # annotators, marks, flags too
    saved = json.loads(out.read_text())
    assert saved["note"] == "made by hand" and "history" not in saved   # nothing changed: no history
    # Flickr's unnamed votes get names so they can be told apart, in order, empty group kept
    seg = saved["videos"][1]["segments"][0]
    assert seg["annotator_names"] == ["annotator 1", "annotator 2", "annotator 3"]
    assert [len(g) for g in seg["annotators"]] == [1, 0, 2]
    doc.save(out)                                                  # and a second save is stable
    assert json.loads(out.read_text()) == saved


def test_commands_undo_and_redo_exactly(set_path):
    doc = AnnotationDocument.load(set_path)
    before = _content(doc)
    bid = doc.segment("bell.mp4", 0).boxes[0].id
    cmds = [AddBox(doc, "bell.mp4", 1, (0.9, 0.9, 0.3, 0.3), "bell", who="eve"),  # corners sorted
            MoveBox(doc, "bell.mp4", 0, bid, (0.4, 0.1, 0.7, 0.6), who="eve"),
            Relabel(doc, "bell.mp4", 0, bid, "big bell", who="eve"),
            ToggleSounding(doc, "bell.mp4", 0, bid, who="eve"),
            CopyPrevious(doc, "bell.mp4", 2, who="eve"),           # eve's box drawn in segment 1
            MarkNoSounding(doc, "bell.mp4", 0, who=None),
            DeleteBox(doc, "bell.mp4", 0, doc.segment("bell.mp4", 0).boxes[-1].id, who="eve")]
    states = [before]
    for c in cmds:
        c.do()
        assert c.who in ("eve", None) and c.when.endswith("Z")
        states.append(_content(doc))
    seg1 = doc.segment("bell.mp4", 1)
    assert seg1.event is True and seg1.boxes[0].coords == (0.3, 0.3, 0.9, 0.9)   # a sounding box: an event now
    seg2 = doc.segment("bell.mp4", 2)
    assert seg2.no_sounding == ["ann"] and [b.coords for b in seg2.boxes] == [(0.3, 0.3, 0.9, 0.9)]
    for c, state in zip(reversed(cmds), reversed(states[:-1])):
        c.undo()
        assert _content(doc) == state
    for c, state in zip(cmds, states[1:]):
        c.do()                                                      # redo restores the same boxes
        assert _content(doc) == state
    with pytest.raises(ValueError):
        AddBox(doc, "bell.mp4", 0, (0.2, 0.2, 0.2, 0.5))            # empty box refused before it exists


def test_mark_no_sounding_removes_own_sounding_boxes_and_a_box_clears_it(set_path):
    doc = AnnotationDocument.load(set_path)
    seg = doc.segment("dog.mp4", 1)
    MarkNoSounding(doc, "dog.mp4", 1, who="ann").do()
    assert seg.boxes_of("ann", sounding=True) == [] and seg.no_sounding == ["ann"]
    assert len(seg.boxes_of("bob")) == 1                            # bob's silent box stays
    AddBox(doc, "dog.mp4", 1, (0.1, 0.1, 0.3, 0.3), who="ann").do()
    assert seg.no_sounding == []


def test_save_records_corrections_in_history(set_path):
    doc = AnnotationDocument.load(set_path)
    seg = doc.segment("bell.mp4", 0)
    moved, deleted = seg.boxes[0], seg.boxes[1]
    MoveBox(doc, "bell.mp4", 0, moved.id, (0.4, 0.1, 0.7, 0.6), who="eve").do()
    DeleteBox(doc, "bell.mp4", 0, deleted.id, who="zoe").do()
    AddBox(doc, "bell.mp4", 0, (0.0, 0.0, 0.1, 0.1), "new", who="ann").do()    # a missed object: recorded
    AddBox(doc, "dog.mp4", 1, (0.0, 0.0, 0.1, 0.1), who="ann").do()            # also (bob annotated it)
    doc.add_video("new.mp4", 2)
    AddBox(doc, "new.mp4", 0, (0.0, 0.0, 0.1, 0.1), who="ann").do()            # new work: no correction
    t = ToggleSounding(doc, "bell.mp4", 0, seg.boxes[1].id, who="eve")           # the silent 'man'
    t.do()
    t.undo()                                                                     # undone: no correction
    doc.save()
    hist = json.loads(set_path.read_text())["history"]
    assert len(hist) == 4
    h = {e["who"]: e for e in hist}
    added = [e for e in hist if e["who"] == "ann"]
    assert [(e["video"], e["old"], e["new"]["box"]) for e in added] == [
        ("bell.mp4", None, [0.0, 0.0, 0.1, 0.1]), ("dog.mp4", None, [0.0, 0.0, 0.1, 0.1])]
    assert h["eve"]["old"]["box"] == [0.41, 0.10, 0.62, 0.55] and h["eve"]["new"]["box"] == [0.4, 0.1, 0.7, 0.6]
    assert h["eve"]["video"] == "bell.mp4" and h["eve"]["frame_time"] == 0.5 and h["eve"]["when"].endswith("Z")
    assert h["zoe"]["old"]["box"] == [0.1, 0.1, 0.2, 1.0] and h["zoe"]["new"] is None
    load_avsol_e(set_path)                                           # the reader tolerates the history
    doc = AnnotationDocument.load(set_path)                          # kept, and the next save appends
    Relabel(doc, "bell.mp4", 0, doc.segment("bell.mp4", 0).boxes[0].id, "gong", who="bob").do()
    doc.save()
    hist = json.loads(set_path.read_text())["history"]
    assert len(hist) == 5 and hist[-1]["who"] == "bob" and hist[-1]["new"]["label"] == "gong"


def test_malformed_file_is_one_line_and_nothing_is_overwritten(tmp_path):
    p = tmp_path / "bad.json"
    bad = json.loads(json.dumps(ORIGINAL))
    bad["videos"][0]["segments"][0]["sounding"][0]["box"] = [0.7, 0.1, 0.6, 0.5]
    bad["videos"][1]["segments"][1]["annotator_names"] = ["ann"]
    p.write_text(json.dumps(bad))
    data = p.read_bytes()
    with pytest.raises(AnnotationError) as err:
        AnnotationDocument.load(p)
    msg = str(err.value)
    assert "\n" not in msg and str(p) in msg and "x1 > x2" in msg and "1 names for 2" in msg
    assert p.read_bytes() == data and not autosave_path(p).exists()


def test_invalid_set_is_refused_before_writing(set_path):
    doc = AnnotationDocument.load(set_path)
    data = set_path.read_bytes()
    doc.segment("bell.mp4", 1).boxes.append(doc.segment("bell.mp4", 0).boxes[0])   # sounding box, background
    doc.segment("bell.mp4", 1).event = False
    with pytest.raises(AnnotationError, match="background segment"):
        doc.save()
    assert set_path.read_bytes() == data


def test_second_writer_is_refused_with_the_first_ones_pid(set_path):
    first = AnnotationDocument.load(set_path)
    first.claim()
    second = AnnotationDocument.load(set_path)
    with pytest.raises(InputError, match=f"pid {os.getpid()}"):
        second.save()
    first.save()                      # the holder still saves
    first.release()
    second.save()                     # and the lock is free afterwards


def test_autosave_is_found_only_when_newer(set_path):
    doc = AnnotationDocument.load(set_path)
    assert find_recovery(set_path) is None
    AddBox(doc, "bell.mp4", 1, (0.1, 0.1, 0.4, 0.4), who="eve").do()
    auto = write_autosave(doc)
    assert auto == set_path.parent / ".set.json.autosave.json"
    os.utime(set_path, ns=(1_000_000_000, 1_000_000_000))             # the output older than the autosave
    assert find_recovery(set_path) == auto
    discard_autosave(set_path)
    assert find_recovery(set_path) is None
    write_autosave(doc)
    doc.save()                                                         # a save removes it
    assert not auto.exists()


CHILD = textwrap.dedent("""
    import sys
    from model_core.annotate.commands import AddBox, MoveBox
    from model_core.annotate.autosave import write_autosave
    from model_core.annotate.document import AnnotationDocument
    doc = AnnotationDocument.load(sys.argv[1])
    b = doc.segment("bell.mp4", 0).boxes[0]
    MoveBox(doc, "bell.mp4", 0, b.id, (0.3, 0.1, 0.7, 0.6), who="kim").do()
    for i in range(100000):
        AddBox(doc, "bell.mp4", 1, (0.01 * (i % 50), 0.1, 0.01 * (i % 50) + 0.3, 0.5), who="kim").do()
        write_autosave(doc)
        print(i + 1, flush=True)
""")


def _kill_9_after(set_path, script: str, edits: int) -> None:
    """Run ``script`` on ``set_path`` in a child process (the set dated 1 s after the epoch,
    so any autosave is newer and offered for recovery) and kill -9 it in the middle of its
    burst, once it has printed a count of ``edits`` or more."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    os.utime(set_path, ns=(1_000_000_000, 1_000_000_000))
    child = subprocess.Popen([sys.executable, "-c", script, str(set_path)], stdout=subprocess.PIPE,
                             text=True, env=env)
    try:
        for line in child.stdout:
            if int(line) >= edits:
                break
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL


def test_kill_9_mid_burst_then_recovery(set_path):
    _kill_9_after(set_path, CHILD, 5)
    assert load_avsol_e(set_path) == avsol_e_from_dict(ORIGINAL)      # the output was never touched
    auto = find_recovery(set_path)
    assert auto is not None
    doc = recover(set_path)
    assert doc.modified and doc.path == set_path
    n = len(doc.segment("bell.mp4", 1).boxes)
    assert n >= 5
    doc.save()
    saved = json.loads(set_path.read_text())
    assert len(saved["videos"][0]["segments"][1]["sounding"]) == n
    hist = saved["history"]                                           # the correction before the crash survives
    # the move of a box and the n boxes added to the (annotated, background) segment
    assert len(hist) == 1 + n and all(e["who"] == "kim" for e in hist)
    assert hist[0]["new"]["box"] == [0.3, 0.1, 0.7, 0.6] and hist[0]["old"]["box"] == [0.41, 0.10, 0.62, 0.55]
    assert all(e["old"] is None for e in hist[1:])
    assert find_recovery(set_path) is None


CHILD_WRITER = textwrap.dedent("""
    import sys
    from model_core.annotate.autosave import AutosaveWriter
    from model_core.annotate.commands import AddBox
    from model_core.annotate.document import AnnotationDocument
    doc = AnnotationDocument.load(sys.argv[1])
    writer = AutosaveWriter()
    for i in range(100000):
        AddBox(doc, "bell.mp4", 1, (0.01 * (i % 50), 0.1, 0.01 * (i % 50) + 0.3, 0.5), who="kim").do()
        writer.submit_document(doc)       # the viewer's way: snapshot here, written on the writer's thread
        if i % 7 == 0:
            writer.flush()
            print(i + 1, flush=True)
""")


def test_kill_9_while_the_writer_thread_writes_then_recovery(set_path):
    """The autosave written off the editing thread, killed at a random point of its writes:
    what is left is a whole snapshot (the reader reads it) holding a prefix of the burst."""
    _kill_9_after(set_path, CHILD_WRITER, 30)
    assert load_avsol_e(set_path) == avsol_e_from_dict(ORIGINAL)      # the output was never touched
    doc = recover(set_path)
    n = len(doc.segment("bell.mp4", 1).boxes)
    assert n >= 30                                                    # at least what was flushed
    xs = [b.x1 for b in doc.segment("bell.mp4", 1).boxes]
    assert xs == pytest.approx([0.01 * (i % 50) for i in range(n)])   # the first n edits, in order


def test_autosave_writer_latest_wins_off_the_calling_thread(set_path, monkeypatch):
    """A write held on the writer's thread: submit returns at once; two snapshots submitted
    meanwhile are one write, of the second; cancel drops a waiting one; flush waits."""
    import threading

    from model_core.annotate import autosave as asv

    gate, started, written = threading.Event(), threading.Event(), []
    real = asv.write_autosave_payload

    def slow(path, payload):
        started.set()
        assert gate.wait(10)
        written.append(len(payload["videos"][0]["segments"][1].get("sounding", [])))
        return real(path, payload)

    monkeypatch.setattr(asv, "write_autosave_payload", slow)
    doc = AnnotationDocument.load(set_path)
    writer = asv.AutosaveWriter()
    AddBox(doc, "bell.mp4", 1, (0.1, 0.1, 0.4, 0.4), who="eve").do()
    writer.submit_document(doc)                                       # 1 box: taken by the thread, held
    assert started.wait(10) and not writer.idle
    for k in (2, 3):                                                  # edits go on meanwhile
        AddBox(doc, "bell.mp4", 1, (0.1 * k, 0.1, 0.5, 0.4), who="eve").do()
        writer.submit_document(doc)
    assert not writer.flush(timeout=0.05)                             # still held
    gate.set()
    assert writer.flush(timeout=10) and writer.idle
    assert written == [1, 3] and writer.writes == 2                   # the 2-box snapshot never written
    assert len(recover(set_path).segment("bell.mp4", 1).boxes) == 3
    # cancel: the snapshot waiting behind a write under way is dropped
    gate.clear()
    started.clear()
    writer.submit_document(doc)
    assert started.wait(10)
    writer.submit_document(doc)
    done = threading.Thread(target=lambda: (writer.cancel(), written.append("cancelled")))
    done.start()
    gate.set()
    done.join(10)
    assert written[-2:] == [3, "cancelled"] and writer.flush(timeout=10) and writer.writes == 3


def test_autosave_writer_reports_a_failed_write(tmp_path):
    from model_core.annotate.autosave import AutosaveWriter

    errors = []
    writer = AutosaveWriter(on_error=errors.append)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    writer.submit(blocker / "sub" / ".set.json.autosave.json", {"format": "avsol-e"})   # a file as folder
    assert writer.flush(timeout=10)
    assert len(errors) == 1 and isinstance(errors[0], OSError) and writer.error is errors[0]


def test_new_videos_progress_and_next_unannotated():
    doc = AnnotationDocument()
    doc.add_video("a.mp4", 3)
    doc.add_video("b.mp4", 2, "Dog")
    assert doc.classes == ["unlabelled", "Dog"]
    assert doc.video("a.mp4").progress == (0, 3)
    AddBox(doc, "a.mp4", 0, (0.1, 0.1, 0.2, 0.2), who="eve").do()
    MarkNoSounding(doc, "a.mp4", 1, who="eve").do()
    assert doc.video("a.mp4").progress == (2, 3)
    assert doc.next_unannotated("a.mp4", 0) == ("a.mp4", 2)
    assert doc.next_unannotated("a.mp4", 2) == ("b.mp4", 0)
    s = doc.segment("a.mp4", 2)
    assert (s.start, s.end, s.frame_time) == (2.0, 3.0, 2.5)
    with pytest.raises(ValueError):
        doc.add_video("a.mp4", 1)


def test_start_from_an_import(tmp_path):
    from model_core.formats.vggss import import_vggss

    src = tmp_path / "vggss.json"
    src.write_text(json.dumps([{"file": "abc_10", "class": "dog barking", "bbox": [[0.1, 0.2, 0.5, 0.6]]}]))
    obj, _ = import_vggss(src)
    doc = from_import(obj)
    seg = doc.videos[0].segments[0]
    assert [b.coords for b in seg.boxes] == [(0.1, 0.2, 0.5, 0.6)] and seg.frame_time == 5.0
    AddBox(doc, doc.videos[0].video, 0, (0.6, 0.6, 0.9, 0.9), "man", sounding=False, who="eve").do()
    out = tmp_path / "set.json"
    doc.save(out)
    assert load_avsol_e(out).videos[0].segments[0].silent[0].coords == (0.6, 0.6, 0.9, 0.9)


def test_reader_checks_the_annotation_fields():
    seg = {"start": 0, "end": 1, "event": True, "sounding": [{"box": [0, 0, 1, 1], "annotator": 3}],
           "no_sounding": "ann"}
    d = {"format": "avsol-e", "version": 1, "classes": ["x"],
         "videos": [{"video": "v.mp4", "category": "x", "segments": [seg]}]}
    with pytest.raises(AnnotationError) as err:
        avsol_e_from_dict(d)
    assert "annotator: expected a non-empty string" in str(err.value)
    assert "no_sounding: expected a list of annotator names" in str(err.value)
    seg.update(sounding=[], annotator_names=["a"])
    seg.pop("no_sounding")
    with pytest.raises(AnnotationError, match="given without 'annotators'"):
        avsol_e_from_dict(d)


# --- a correction followed by a rescore --------------------------------------------------
@pytest.fixture
def scored_report(tmp_path):
    """A metrics report over a small set: three scored items of a.mp4 (maps rise to the right)."""
    import numpy as np

    from model_core.cli import main
    from model_core.formats import AvsolE, Box, Segment, VideoAnnotation, save_avsol_e
    from model_core.maps_file import save_maps

    ann = tmp_path / "ann.json"
    save_avsol_e(AvsolE(("bell",), (VideoAnnotation("a.mp4", "bell", (
        Segment(0, 1, 0.5, True, sounding=(Box(0.5, 0, 1, 1),)),
        Segment(1, 2, 1.5, True, sounding=(Box(0.5, 0, 1, 1),)),
        Segment(2, 3, 2.5, True, sounding=(Box(0, 0, 0.5, 1),)))),)), ann)
    grad = np.tile(np.arange(224, dtype=np.float32) / 223, (224, 1))
    save_maps(tmp_path / "m.npz", np.stack([grad] * 3), ["a.mp4"] * 3, np.array([0.5, 1.5, 2.5]), head="dnm")
    report = tmp_path / "r.json"
    assert main(["metrics", "--maps", str(tmp_path / "m.npz"), "--annotations", str(ann),
                 "--out", str(report)]) == 0
    return report, ann


def _rows(path):
    return {row["time"]: row for row in json.loads(path.read_text())["items"]}


@pytest.mark.parametrize("in_place", [False, True])
def test_correction_then_rescore_marks_the_changed_items(scored_report, tmp_path, capsys, in_place):
    from model_core.cli import main

    report, ann = scored_report
    doc = AnnotationDocument.load(ann)
    wrong = doc.segment("a.mp4", 2).boxes[0]                          # the box on the left: the map says right
    MoveBox(doc, "a.mp4", 2, wrong.id, (0.5, 0.0, 1.0, 1.0), who="eve").do()
    corrected = ann if in_place else tmp_path / "corrected.json"
    doc.save(corrected)
    out = tmp_path / "new.json"
    capsys.readouterr()
    assert main(["metrics", "--report", str(report), "--annotations", str(corrected), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ground truth changed: 1 item row(s) marked gt_changed" in printed
    old, new = _rows(report), _rows(out)
    assert new[2.5].get("gt_changed") is True and new[2.5]["ciou"] > old[2.5]["ciou"]
    for t in (0.5, 1.5):                                             # untouched items: same figures, no mark
        assert "gt_changed" not in new[t] and new[t]["ciou"] == old[t]["ciou"]
    meta = json.loads(out.read_text())["meta"]
    sha = meta["annotations_changed"]
    assert sha["was"] == json.loads(report.read_text())["meta"]["annotations_sha256"] != sha["now"]
    info = meta["gt_changed"]
    assert info["items"] == 1 and info["was_file"] == str(ann) and meta["annotations"] == str(corrected)
    assert ("history" in info["how"]) == in_place
    from model_core.metrics.report_schema import read_report
    read_report(out, strict=True)                                     # the marks are in the schema
    # rescored again under another rule (the panel's Rescore): the marks stay on the same rows
    from model_core.metrics.rescore import rescore_report
    again = rescore_report(json.loads(out.read_text()), "0.5")
    assert [r["time"] for r in again["items"] if r.get("gt_changed") is True] == [2.5]
    assert any(n.startswith("ground truth changed: 1 item row(s)") for n in again["notes"])


# --- prefill from a model's map ----------------------------------------------------------
def test_prefill_boxes_by_hand():
    import numpy as np

    from model_core.annotate.prefill import parse_prefill_rule, prefill_boxes, prefill_commands

    m = np.zeros((10, 10), np.float32)
    m[1:3, 2:5] = 0.9          # 6 pixels: columns 2-4, rows 1-2 -> (0.2, 0.1, 0.5, 0.3), area 0.06
    m[8, 7] = 0.8              # 1 pixel -> (0.7, 0.8, 0.8, 0.9), area 0.01
    m[5, 5] = 0.5              # not above the threshold
    assert prefill_boxes(m) == [pytest.approx((0.2, 0.1, 0.5, 0.3))]
    assert prefill_boxes(m, "area:0.05") == [pytest.approx((0.2, 0.1, 0.5, 0.3))]
    got = prefill_boxes(m, "area:0.01")
    assert got == [pytest.approx((0.2, 0.1, 0.5, 0.3)), pytest.approx((0.7, 0.8, 0.8, 0.9))]
    assert prefill_boxes(m, "area:0.01", threshold=0.85) == [pytest.approx((0.2, 0.1, 0.5, 0.3))]
    assert prefill_boxes(np.zeros((4, 4))) == []
    m2 = np.zeros((4, 4))
    m2[0, 0] = m2[1, 1] = 1.0                                        # diagonal neighbours: one region
    assert prefill_boxes(m2) == [pytest.approx((0.0, 0.0, 0.5, 0.5))]
    for bad in ("biggest", "area:0", "area:x", "area:1.5"):
        with pytest.raises(ValueError, match="prefill rule"):
            parse_prefill_rule(bad)
    with pytest.raises(ValueError, match="NaN"):
        prefill_boxes(np.full((3, 3), np.nan))
    doc = AnnotationDocument()
    doc.add_video("a.mp4", 1)
    cmds = prefill_commands(doc, "a.mp4", 0, got, label="dog", who="model")
    for c in cmds:
        c.do()
    assert [b.coords for b in doc.segment("a.mp4", 0).boxes] == [pytest.approx(b) for b in got]
    cmds[1].undo()
    assert len(doc.segment("a.mp4", 0).boxes) == 1


def test_start_from_a_flickr_import_and_compare_its_annotators(tmp_path):
    from model_core.annotate.agreement import agreement
    from model_core.formats.flickr import import_flickr

    d = tmp_path / "anno"
    d.mkdir()
    boxes = [(0, 0, 128, 256), (0, 0, 128, 128)]                    # two annotators' votes, 256 px scale
    body = "".join(f"<bbox><n>{i}</n><a>{b[0]}</a><b>{b[1]}</b><c>{b[2]}</c><d>{b[3]}</d></bbox>"
                   for i, b in enumerate(boxes))
    (d / "1001.xml").write_text(f"<annotation><object>{body}</object></annotation>")
    obj, _ = import_flickr(d)
    doc = from_import(obj)
    seg = doc.videos[0].segments[0]
    assert [(b.annotator, b.coords) for b in seg.boxes] == [
        ("annotator 1", (0.0, 0.0, 0.5, 1.0)), ("annotator 2", (0.0, 0.0, 0.5, 0.5))]
    assert agreement(doc)["overall"]["box_iou"] == pytest.approx(0.5)   # IoU of the votes, by hand
    out = tmp_path / "set.json"
    doc.save(out)
    assert load_avsol_e(out) == obj                                      # continue it: nothing lost


def test_undo_after_a_save_is_a_correction_of_the_saved_set(set_path):
    doc = AnnotationDocument.load(set_path)
    box = doc.segment("bell.mp4", 0).boxes[0]
    move = MoveBox(doc, "bell.mp4", 0, box.id, (0.4, 0.1, 0.7, 0.6), who="eve")
    move.do()
    doc.save()
    assert len(json.loads(set_path.read_text())["history"]) == 1
    move.undo()                                         # the saved box goes back where it was
    write_autosave(doc)
    assert json.loads(autosave_path(set_path).read_text())["autosave"]["pending_history"][0]["new"]["box"] == \
        [0.41, 0.10, 0.62, 0.55]
    doc.save()
    hist = json.loads(set_path.read_text())["history"]
    assert len(hist) == 2 and hist[1]["old"]["box"] == [0.4, 0.1, 0.7, 0.6]
    assert hist[1]["new"]["box"] == [0.41, 0.10, 0.62, 0.55] and hist[1]["who"] == "eve"
    assert load_avsol_e(set_path).videos[0].segments[0].sounding[0].coords == (0.41, 0.10, 0.62, 0.55)


def test_labels_of_edited_boxes_join_the_class_list_when_saved(set_path):
    """Classes "Church bell", "Dog". Edits: a "Cat" box, the bell box relabelled "Dog" (a
    class already), a "Horse" box, an unlabelled box, a second "Cat", a "Ghost" box deleted
    again. Saved classes: Church bell, Dog, Cat, Horse. The untouched boxes' labels
    ("bell", "man", "dog") are not edits and stay out (the round trip writes the same file)."""
    doc = AnnotationDocument.load(set_path)
    bid = doc.segment("bell.mp4", 0).boxes[0].id
    ghost = AddBox(doc, "dog.mp4", 1, (0.1, 0.6, 0.2, 0.7), "Ghost", who="eve")
    for c in (AddBox(doc, "bell.mp4", 2, (0.1, 0.1, 0.3, 0.3), "Cat", who="eve"),
              Relabel(doc, "bell.mp4", 0, bid, "Dog", who="eve"),
              AddBox(doc, "dog.mp4", 0, (0.3, 0.3, 0.4, 0.4), "Horse", who="eve"),
              AddBox(doc, "dog.mp4", 0, (0.5, 0.5, 0.6, 0.6), None, who="eve"),
              AddBox(doc, "dog.mp4", 1, (0.1, 0.1, 0.2, 0.2), "Cat", who="eve"), ghost):
        c.do()
    DeleteBox(doc, "dog.mp4", 1, doc.segment("dog.mp4", 1).boxes[-1].id, who="eve").do()
    assert doc.new_classes() == ["Cat", "Horse"]
    # a refused save changes neither the file nor the class list
    data = set_path.read_bytes()
    bad = doc.segment("bell.mp4", 1)
    bad.boxes.append(doc.segment("bell.mp4", 0).boxes[0])
    with pytest.raises(AnnotationError):
        doc.save()
    assert set_path.read_bytes() == data and doc.classes == ["Church bell", "Dog"]
    bad.boxes.pop()
    doc.save()
    assert doc.classes == ["Church bell", "Dog", "Cat", "Horse"] and doc.new_classes() == []
    assert json.loads(set_path.read_text())["classes"] == ["Church bell", "Dog", "Cat", "Horse"]
    assert load_avsol_e(set_path).classes == ("Church bell", "Dog", "Cat", "Horse")
    # the class stays after its last box goes
    for b in [b for v in doc.videos for s in v.segments for b in s.boxes if b.label == "Horse"]:
        DeleteBox(doc, "dog.mp4", 0, b.id, who="eve").do()
    doc.save()
    assert AnnotationDocument.load(set_path).classes == ["Church bell", "Dog", "Cat", "Horse"]
