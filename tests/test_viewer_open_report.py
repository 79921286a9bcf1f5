"""``avsol-viewer REPORT.json`` / File › Open with an eval report opens it as a report in the
Evaluation panel (issue 26: it said "not a media file"), and an AVSOL-E annotations file is
still loaded as annotations."""
from __future__ import annotations

import numpy as np
import pytest

from model_core.formats import AvsolE, Box, Segment, VideoAnnotation, save_avsol_e
from model_core.metrics.items import score_items
from model_core.metrics.report import build_report, write_report
from viewer_support import FakeFactory

pytestmark = pytest.mark.gui


@pytest.fixture
def report_file(tmp_path):
    segs = [Segment(0, 1, 0.5, True, sounding=(Box(0.5, 0, 1, 1),))]
    ann = tmp_path / "avsol-e.json"
    save_avsol_e(AvsolE(("bell",), (VideoAnnotation("clip.mp4", "bell", tuple(segs)),)), ann)
    m = np.tile(np.arange(7, dtype=np.float32) / 6, (7, 1))
    items = score_items(m[None], segs, videos=["clip.mp4"], head="a", categories=["bell"], p_avc=[0.9])
    path = tmp_path / "eval-report.json"
    write_report(path, build_report(items, ["a"], {"command": "metrics", "annotations": str(ann),
                                                   "threshold": "median"}))
    return path


def test_open_path_shows_a_report_in_the_evaluation_panel(make_viewer, report_file):
    v = make_viewer(FakeFactory())
    assert v.win.open_path(report_file)
    assert not v.errors
    assert v.win.evaluation.panel.model.rowCount() == 1
    assert v.win.controller.session is None                 # not opened as a video


def test_open_path_still_refuses_a_json_that_is_neither(make_viewer, tmp_path):
    v = make_viewer(FakeFactory())
    other = tmp_path / "notes.json"
    other.write_text('{"hello": 1}')
    assert not v.win.open_path(other)
    assert v.errors and "notes.json" in v.errors[-1][1]


def test_main_opens_a_report_given_on_the_command_line(report_file, tmp_path, monkeypatch):
    """``avsol-viewer REPORT.json`` goes through ``open_path``: sniffed as a report."""
    from avsol_viewer.main_window import _is_report

    assert _is_report(report_file)
    assert not _is_report(tmp_path / "avsol-e.json") and not _is_report(tmp_path / "missing.json")
