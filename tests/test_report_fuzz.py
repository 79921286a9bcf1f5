"""Hand-edited and mutated reports in the Evaluation panel (issue 25, finding 2): a report
with a string cIoU, a missing ``video`` key and a broken base64 ``map`` is shown with
those rows marked and one line naming the first bad field, never half-loaded, never a
traceback from a Qt model, and the next open still works; a hypothesis fuzz opens
mutated reports and drives every cell, filter, sort and failure walk."""
from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model_core.formats import Box, Segment
from model_core.metrics.items import ROW_KEYS, score_items, unscored_items
from model_core.metrics.report import build_report

pytestmark = pytest.mark.gui

RIGHT = np.tile(np.arange(7, dtype=np.float32) / 6, (7, 1))
SEGS = (Segment(0, 1, 0.5, True, sounding=(Box(0.5, 0, 1, 1),)),
        Segment(1, 2, 1.5, True, sounding=(Box(0, 0, 0.5, 1),)),
        Segment(2, 3, 2.5, False))


def _report() -> dict:
    items = []
    for head, m in (("a", RIGHT), ("b", RIGHT[:, ::-1].copy())):
        items += score_items(np.stack([m] * 3), list(SEGS), videos=["v.mp4"] * 3, head=head,
                             categories=["bell"] * 3, p_avc=[0.9, 0.8, 0.7])
        items += unscored_items(list(SEGS[:1]), videos=["gone.mp4"], head=head, status="missing",
                                error="video file not found", categories=["bell"])
    return build_report(items, ["a", "b"], {"command": "metrics", "threshold": "median"})


BASE = _report()


def _drive(panel) -> None:
    """Everything a user does with the panel, touching every cell and role."""
    from PySide6.QtCore import Qt

    from avsol_viewer.evaluate.items_table import ROW_ROLE, SORT_ROLE

    model = panel.model
    roles = (Qt.ItemDataRole.DisplayRole, SORT_ROLE, ROW_ROLE, Qt.ItemDataRole.ToolTipRole,
             Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.TextAlignmentRole)
    for r in range(model.rowCount()):
        for c in range(model.columnCount()):
            for role in roles:
                model.data(model.index(r, c), role)
    for c in range(model.columnCount()):
        panel.table.sortByColumn(c, Qt.SortOrder.DescendingOrder)
    for box in panel.filters.values():
        for i in range(box.count()):
            box.setCurrentIndex(i)
        box.setCurrentIndex(0)
    panel.failures_only.setChecked(True)
    panel.failures_only.setChecked(False)
    for _ in range(3):
        panel.step_failure(1)
    for r in range(panel.proxy.rowCount()):
        panel.activate(r)


@pytest.fixture
def panel(qtbot):
    from avsol_viewer.evaluate.results_panel import ResultsPanel

    p = ResultsPanel()
    qtbot.addWidget(p)
    p.resize(900, 600)
    p.show()
    return p


def test_the_issues_three_edits_are_marked_and_named_and_the_next_open_works(panel):
    rep = copy.deepcopy(BASE)
    rep["items"][2]["ciou"] = "abc"
    del rep["items"][3]["video"]
    rep["items"][4]["map"] = rep["items"][4]["map"][:-4] + "!!!!"
    opened = []
    panel.item_activated.connect(opened.append)
    assert panel.show_report(rep, "/x/R.json")
    text = panel.status.text()
    assert "3 invalid item row(s) left out of the metrics; first: items[2].ciou: not a number" in text
    # marked rows first, then the good ones; the summary counts the good rows only
    assert panel.model.rowCount() == len(rep["items"])
    assert [panel.model.rows[i]["status"] for i in range(3)] == ["invalid"] * 3
    assert panel.model.rows[1]["error"] == "items[3].video: missing" and "video" not in panel.model.rows[1]
    assert panel.report["heads"]["a"]["n_total"] + panel.report["heads"]["b"]["n_total"] == len(rep["items"]) - 3
    assert len(panel.report["items"]) == len(rep["items"]) - 3
    _drive(panel)
    assert all(r.get("status") != "invalid" for r in opened)          # a marked row never opens
    # the next open swaps everything in: no row of the bad report is left
    assert panel.show_report(copy.deepcopy(BASE), "/x/good.json")
    assert panel.model.rowCount() == len(BASE["items"]) and "invalid" not in panel.status.text()
    _drive(panel)


def test_a_broken_header_changes_nothing_but_the_status(panel):
    assert panel.show_report(copy.deepcopy(BASE), "/x/good.json")
    rows = list(panel.model.rows)
    bad = copy.deepcopy(BASE)
    bad["heads"]["a"]["auc"] = "high"
    assert not panel.show_report(bad, "/x/bad.json")
    assert panel.model.rows == rows and panel.report_path == "/x/good.json"
    assert "heads.a.auc: not a number" in panel.status.text()


def test_open_report_in_the_window_twice(make_viewer, tmp_path):
    """File > Open report on the issue's report, then again: one message, no crash."""
    from avsol_viewer.evaluate import commands
    from viewer_support import FakeFactory

    v = make_viewer(FakeFactory())
    rep = copy.deepcopy(BASE)
    rep["items"][0]["ciou"] = "abc"
    del rep["items"][1]["video"]
    path = tmp_path / "R.json"
    path.write_text(json.dumps(rep))
    for _ in range(2):
        assert commands.open_report(v.win.context, path)
        panel = v.win.evaluation.panel
        assert panel.model.rows[0]["status"] == "invalid" and "items[0].ciou: not a number" in panel.status.text()
        _drive(panel)
    broken = tmp_path / "B.json"
    broken.write_text('{"format": "avsol-report", "version": 99, "heads": {}, "items": []}')
    assert not commands.open_report(v.win.context, broken)
    assert "version 99" in v.errors[-1][1] and len(v.errors[-1][1].splitlines()) == 1


# -- the fuzz -------------------------------------------------------------------------------
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(),
                                                                                  max_size=2),
    st.just("7x7:" + "A" * 10), st.just("99999x99999:AAAA"), st.just(float("inf")))
KEYS = st.sampled_from(list(ROW_KEYS) + ["map", "negatives", "status", "kind", "head", "video", "time"])
HEADER = st.sampled_from(["format", "version", "meta", "notes", "heads", "items"])


@st.composite
def mutations(draw):
    rep = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["row", "row", "row", "delete", "header", "head", "meta"]))
        value = draw(VALUES)
        rows = [r for r in rep["items"] if isinstance(r, dict)] if isinstance(rep.get("items"), list) else []
        if where in ("row", "delete") and rows:
            row = rows[draw(st.integers(0, len(rows) - 1))]
            if where == "row":
                row[draw(KEYS)] = value
            else:
                row.pop(draw(KEYS), None)
        elif where == "header":
            rep[draw(HEADER)] = value
        elif where == "head" and isinstance(rep.get("heads"), dict) and rep["heads"]:
            rep["heads"]["a"][draw(st.sampled_from(["auc", "n_items", "per_class", "failures"]))] = value
        elif where == "meta" and isinstance(rep.get("meta"), dict):
            rep["meta"][draw(st.sampled_from(["threshold", "annotations", "checkpoints", "complete"]))] = value
    if draw(st.booleans()) and isinstance(rep.get("items"), list):
        rep["items"].append(draw(VALUES))
    return rep


@pytest.mark.slow
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rep=mutations())
def test_mutated_reports_never_crash_the_panel(panel, tmp_path, rep):
    from model_core.errors import InputError
    from model_core.metrics.report_schema import read_report

    # through a file as File > Open report reads it (NaN / inf written as JSON allows)
    path = tmp_path / "R.json"
    try:
        path.write_text(json.dumps(rep, allow_nan=True))
    except (ValueError, OverflowError):
        return
    try:
        doc, _ = read_report(path, strict=False)
    except InputError as exc:
        assert len(str(exc).splitlines()) == 1 and str(path) in str(exc)
        doc = rep                      # the panel must refuse it on its own too
    shown = panel.show_report(doc, str(path))
    _drive(panel)
    if shown:
        for row in panel.report["items"]:             # what is kept is clean: finite numbers only
            assert all(not (isinstance(v, float) and not math.isfinite(v)) for v in row.values())
