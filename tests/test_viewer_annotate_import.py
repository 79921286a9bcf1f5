"""Annotate mode, sets from elsewhere: Flickr and VGG-SS imports continued by hand, the
import's refusals, and the results panel's Edit ground truth on a report's annotations.

The clip is ``index_clip`` (two 1 s segments, annotated frames 12 and 37); annotate
mode's helpers (open and start, drag, keys, boxes) are in ``tests/viewer_support.py``.
"""
from __future__ import annotations

import json

from PySide6.QtCore import Qt

from model_core.annotate.autosave import autosave_path
from model_core.formats.avsol_e import load_avsol_e
from viewer_support import boxes


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
