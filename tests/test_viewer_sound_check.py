"""The viewer's "Follows the sound?" view (SPEC 5, 7): each head's map of one frame with
its own audio, silence, noise and an off-screen sound, through the one map engine and its
cache; the segment panel's negative figures; the results panel's negatives table."""
from __future__ import annotations

import json
import shutil

import pytest

from viewer_support import FakeFactory, FakeLocalizer, quadrant_map


def _by_sound(frame, emb):  # hot top-left when the window has sound, bottom-right when silent
    return quadrant_map("tl" if emb[0] > 1e-3 else "br")


@pytest.fixture
def folder(tmp_path, index_clip, other_clip):
    shutil.copy(index_clip, tmp_path / "a.mp4")
    shutil.copy(other_clip, tmp_path / "b.mp4")
    doc = {"format": "avsol-e", "version": 1, "classes": ["tone", "bell"], "videos": [
        {"video": "a.mp4", "category": "tone", "segments": [
            {"start": 0.0, "end": 1.0, "frame_time": 0.5, "event": True, "sounding": [[0.0, 0.0, 0.5, 0.5]]}]},
        {"video": "b.mp4", "category": "bell", "segments": [
            {"start": 1.0, "end": 2.0, "frame_time": 1.5, "event": True, "sounding": [[0.5, 0.5, 1.0, 1.0]]}]}]}
    (tmp_path / "avsol-e.json").write_text(json.dumps(doc))
    return tmp_path


def test_follows_the_sound_view(make_viewer, folder):
    fake = FakeLocalizer("dnm", map_fn=_by_sound)
    v = make_viewer(FakeFactory(dnm=fake))
    v.win.load_checkpoint("/models/dnm.pt")
    assert v.win.open_path(folder / "a.mp4")
    v.c.player.seek(0.2)
    v.wait_maps(5)
    sc = v.win.sound_check
    with v.qtbot.waitSignal(sc.check.done, timeout=30000):
        v.win.actions_by_name["sound_check"].trigger()
    assert sc.dock.isVisible()
    assert sc.check.index == 12                           # the segment's annotated frame (0.5 s)
    kinds = [k for k, _ in sc.check.audios]
    assert kinds == ["own", "silence", "noise", "offscreen"]
    off = dict(sc.check.audios)["offscreen"]
    assert off.path.endswith("b.mp4") and off.at == 1.5   # the only segment of an absent class
    key = v.c.maps.models[0].key
    e = sc.check.entries()[key]
    assert e["own"].map[0, 0] > 0.5 and e["silence"].map[-1, -1] > 0.5 and e["silence"].map[0, 0] < 0.5
    assert e["noise"].map[0, 0] > 0.5 and e["offscreen"].map[0, 0] > 0.5
    assert sc.view.cells[(key, "silence")].text() == f"p(av) {e['silence'].p_avc:.2f}"
    text = v.win.segment.negatives.text()
    # own top-left vs silence bottom-right: nearly disjoint median masks (the bilinear
    # resize blurs the quadrant edges), and 0.9 apart on half the frame
    fig = sc.check.figures(v.c.current_segment()[1])[key]
    assert fig["silence"]["map_iou"] < 0.1 and fig["silence"]["map_change"] == pytest.approx(0.45, abs=0.03)
    assert f"silence p(av) 0.95, IoU {fig['silence']['map_iou']:.2f}" in text
    assert "noise p(av) 0.95, IoU 1.00, Δ 0.000" in text
    # a second comparison of the same frame is served from the cache, at once
    n = len(fake.predicted)
    with v.qtbot.waitSignal(sc.check.done, timeout=5000):
        sc.compare()
    assert len(fake.predicted) == n


def test_results_panel_shows_the_negatives_table(qtbot):
    from avsol_viewer.evaluate.summary_view import SummaryView

    view = SummaryView()
    qtbot.addWidget(view)
    neg = {"silence": {"roc_auc": 0.5, "false_alarm": 1.0, "pia": 0.2, "map_iou": 1.0, "map_change": 0.0,
                       "n_items": 6}}
    view.show_summaries({"dnm": {"negatives": neg, "per_class": {}, "per_size": {}}}, [])
    assert not view.negatives.isHidden() and view.negatives.rowCount() == 1
    assert view.negatives.verticalHeaderItem(0).text() == "dnm · silence"
    assert [view.negatives.item(0, c).text() for c in range(6)] == ["0.500", "1.000", "0.200", "1.000",
                                                                     "0.000", "6"]
    view.show_summaries({"dnm": {"per_class": {}, "per_size": {}}}, [])
    assert view.negatives.isHidden()


def test_a_report_rows_negatives_in_the_segment_panel_text_and_the_item_line():
    from avsol_viewer.evaluate.results_panel import describe
    from avsol_viewer.maps.sound_check import report_negatives_text

    row = {"head": "dnm", "video": "a.mp4", "time": 0.5, "status": "scored", "p_avc": 0.9,
           "negatives": {"silence": {"p_avc": 0.1, "map_iou": 0.25, "map_change": 0.125},
                         "offscreen#2": {"p_avc": 0.2, "map_iou": None, "map_change": 0.0, "source": "b.mp4@1.5"}}}
    text = report_negatives_text(row)
    assert "own p(av) 0.90" in text and "silence p(av) 0.10, IoU 0.25, Δ 0.125" in text
    assert "off-screen#2 p(av) 0.20, IoU n/a, Δ 0.000" in text
    assert report_negatives_text({"head": "dnm"}) == ""
    assert describe(row).endswith("; silence p(av) 0.100; offscreen#2 p(av) 0.200")
