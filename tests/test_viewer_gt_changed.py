"""The results panel marks the items whose ground truth changed (issue 30 item 4): a
rescore against a corrected set writes ``gt_changed: true`` on those rows, and the panel
must show which ones, count them and filter to them."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from model_core.formats import Box, Segment
from model_core.metrics.items import score_items
from model_core.metrics.report import build_report

pytestmark = pytest.mark.gui

RIGHT = np.tile(np.arange(7, dtype=np.float32) / 6, (7, 1))


def _report() -> dict:
    """Three scored items of one head; the second (t = 1.5) marked as a rescore does."""
    segs = [Segment(k, k + 1, k + 0.5, True, sounding=(Box(0.5, 0, 1, 1),)) for k in range(3)]
    items = score_items(np.stack([RIGHT] * 3), segs, videos=["clip.mp4"] * 3, head="a",
                        categories=["bell"] * 3, p_avc=[0.9] * 3)
    report = build_report(items, ["a"], {"command": "metrics", "threshold": "median"})
    for row in report["items"]:
        if row["time"] == 1.5:
            row["gt_changed"] = True
    return report


def test_gt_changed_rows_are_marked_counted_and_filtered(qtbot):
    from avsol_viewer.evaluate.items_table import COLUMNS, GT_CHANGED
    from avsol_viewer.evaluate.results_panel import ResultsPanel

    panel = ResultsPanel()
    qtbot.addWidget(panel)
    assert panel.show_report(_report(), "r.json")
    assert "1 with ground truth changed" in panel.status.text()
    fail_col = COLUMNS.index("failure")
    texts = {}
    for i in range(panel.proxy.rowCount()):
        idx = panel.proxy.index(i, fail_col)
        texts[panel.proxy.row_at(i)["time"]] = (idx.data(), idx.data(Qt.ItemDataRole.ToolTipRole) or "")
    label = panel.proxy.row_at(0)["failure"]            # all three score alike
    assert texts[1.5][0] == f"{label} (GT changed)" and texts[1.5][1].startswith("ground truth changed")
    assert texts[0.5][0] == label and "ground truth" not in texts[0.5][1]
    # the failure filter offers the marker; choosing it keeps the one changed row
    box = panel.filters["failure"]
    assert box.findText(GT_CHANGED) >= 0
    box.setCurrentText(GT_CHANGED)
    assert panel.proxy.rowCount() == 1 and panel.proxy.row_at(0)["time"] == 1.5
    box.setCurrentText("(any)")
    assert panel.proxy.rowCount() == 3
    # an ordinary label still filters by the label, marked row included
    box.setCurrentText(label)
    assert panel.proxy.rowCount() == 3


def test_a_report_without_changes_offers_no_marker(qtbot):
    from avsol_viewer.evaluate.items_table import GT_CHANGED
    from avsol_viewer.evaluate.results_panel import ResultsPanel

    report = _report()
    for row in report["items"]:
        row.pop("gt_changed", None)
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    assert panel.show_report(report, "r.json")
    assert "ground truth changed" not in panel.status.text()
    assert panel.filters["failure"].findText(GT_CHANGED) < 0
