"""Annotate mode, the file: the autosave (off the GUI thread) and the recovery it offers,
a malformed file or a second writer refused in one line, and a round trip that keeps
the annotations.

The clip is ``index_clip`` (two 1 s segments, annotated frames 12 and 37); annotate
mode's helpers (open and start, drag, keys, boxes) are in ``tests/viewer_support.py``.
"""
from __future__ import annotations

import json

from model_core.annotate.autosave import autosave_path
from model_core.formats.avsol_e import load_avsol_e
from viewer_support import boxes, close, start


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
