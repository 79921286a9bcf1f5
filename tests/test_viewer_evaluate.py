"""Tools › Evaluate folder… and the results panel, offscreen, without dialogs (the ``do``
halves of the commands): a saved report opened, filtered, walked failure by failure into
the player, rescored under another threshold rule and exported; a child that crashes; and
(slow) a real ``avsol eval`` child over a tiny synthetic folder with a corrupt video,
cancelled and resumed."""
from __future__ import annotations

import json
import shutil
import sys
import textwrap

import numpy as np
import pytest

from model_core.formats import AvsolE, Box, Segment, VideoAnnotation, save_avsol_e
from model_core.metrics.items import score_items, unscored_items
from model_core.metrics.report import build_report, write_report
from viewer_support import FakeFactory, FakeLocalizer

pytestmark = pytest.mark.gui

RIGHT = np.tile(np.arange(7, dtype=np.float32) / 6, (7, 1))      # peak on the right
LEFT = RIGHT[:, ::-1].copy()


@pytest.fixture
def saved_report(tmp_path, index_clip):
    """A report of two heads on a real 2 s clip (two segments each: right-half box) plus a
    missing video; head ``a`` right, head ``b`` wrong (a miss)."""
    (tmp_path / "videos").mkdir()
    shutil.copy(index_clip, tmp_path / "videos" / "clip.mp4")
    segs = (Segment(0, 1, 0.5, True, sounding=(Box(0.5, 0, 1, 1),)),
            Segment(1, 2, 1.5, True, sounding=(Box(0.5, 0, 1, 1),)))
    ann = tmp_path / "avsol-e.json"
    save_avsol_e(AvsolE(("bell",), (VideoAnnotation("clip.mp4", "bell", segs),
                                    VideoAnnotation("gone.mp4", "bell", segs[:1]))), ann)
    items = []
    for head, m in (("a", RIGHT), ("b", LEFT)):
        items += score_items(np.stack([m, m]), list(segs), videos=["clip.mp4"] * 2, head=head,
                             categories=["bell"] * 2, p_avc=[0.9, 0.9])
        items += unscored_items(list(segs[:1]), videos=["gone.mp4"], head=head, status="missing",
                                error="video file not found", categories=["bell"])
    report = build_report(items, ["a", "b"], {"command": "metrics", "annotations": str(ann), "threshold": "median"})
    path = tmp_path / "report.json"
    write_report(path, report)
    return path


def test_open_report_filter_inspect_rescore_export(make_viewer, saved_report, tmp_path):
    from avsol_viewer.evaluate import commands

    v = make_viewer(FakeFactory())
    win = v.win
    assert "evaluate" in win.actions_by_name and "open_report" in win.actions_by_name
    assert not commands.open_report(win.context, tmp_path / "nope.json") and "nope.json" in v.errors[-1][1]
    assert commands.open_report(win.context, saved_report)
    panel = win.evaluation.panel
    assert panel.model.rowCount() == 6 and panel.proxy.rowCount() == 6
    report = json.loads(saved_report.read_text())
    assert [panel.proxy.row_at(i)["ciou"] for i in range(6)] == [r["ciou"] for r in report["items"]]  # worst first
    # summary: head a hits everything, head b misses; the curve per head is drawn
    assert panel.summary.summary.item(0, 0).text() == "1.000" and panel.summary.summary.item(1, 0).text() == "0.000"
    assert panel.summary.summary.item(0, 6).text() == "1"                 # one missing item per head
    assert set(panel.summary.curves) == {"a", "b"}
    # filters
    panel.filters["failure"].setCurrentText("miss")
    assert panel.proxy.rowCount() == 2 and {panel.proxy.row_at(i)["head"] for i in range(2)} == {"b"}
    panel.filters["failure"].setCurrentText("(any)")
    panel.filters["head"].setCurrentText("a")
    assert panel.proxy.rowCount() == 3
    panel.filters["head"].setCurrentText("(any)")
    # sorting by cIoU (numeric), descending: head a's 0.97... first
    panel.table.sortByColumn(5, panel.table.horizontalHeader().sortIndicatorOrder().DescendingOrder)
    assert panel.proxy.row_at(0)["head"] == "a"
    # next failure: skips the successes, opens the video at the item's frame
    panel.filters["size"].setCurrentText("huge")          # only the scored rows (the missing has a size too)
    panel.failures_only.setChecked(False)
    row = commands.step_failure(win.context, 1)
    assert row["head"] == "b" and row["failure"] == "miss"
    v.qtbot.waitUntil(lambda: v.c.session is not None, timeout=15000)
    assert v.c.session.path.name == "clip.mp4" and v.c.session.annotations is not None
    # beside the table: both heads on that item, under the report's rule
    assert panel._preview_image is not None and panel._preview_image.shape[1] > 2 * panel._preview_image.shape[0]
    assert not panel.preview.pixmap().isNull()
    v.wait_frame(int(row["time"] * 25 + 1e-6))
    nxt = commands.step_failure(win.context, 1)
    assert nxt["head"] == "b" and nxt["time"] != row["time"]
    v.wait_frame(int(nxt["time"] * 25 + 1e-6))
    # the error row: missing video, named
    panel.filters["size"].setCurrentText("(any)")
    panel.filters["failure"].setCurrentText("missing")
    assert panel.proxy.rowCount() == 2
    panel.activate(0)
    assert "gone.mp4" in v.errors[-1][1]
    panel.filters["failure"].setCurrentText("(any)")
    # rescore under top-gt: the same maps, head a stays right, numbers recomputed
    panel.rescore("top-gt", wait=True)
    assert panel.report["meta"]["threshold"] == "top-gt" and panel.chosen_rule() == "top-gt"
    # Export proposes a name that says the rule, never the original report's (issue 25, 5)
    assert commands.export_name(win.context, "json") == str(saved_report.with_name("report.top-gt.json"))
    assert commands.export_name(win.context, "csv") == str(saved_report.with_name("report.top-gt.csv"))
    a = panel.report["heads"]["a"]
    assert a["ciou@0.5"] == 1.0 and a["mean_ciou"] != json.loads(saved_report.read_text())["heads"]["a"]["mean_ciou"]
    # exports
    assert commands.export_report(win.context, tmp_path / "out.json")
    assert json.loads((tmp_path / "out.json").read_text())["meta"]["threshold"] == "top-gt"
    assert commands.export_report(win.context, tmp_path / "out.csv", "csv")
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert len(lines) == 7 and lines[0].startswith("video,time,head") and "map" not in lines[0].split(",")
    assert commands.contact_sheet(win.context, tmp_path / "worst.png", 3) == 3
    import cv2

    sheet = cv2.imread(str(tmp_path / "worst.png"))
    assert sheet is not None and sheet.shape[0] > 200 and sheet.std() > 10


FAKE_CLI = textwrap.dedent("""
    import json, os, sys
    print(json.dumps({"event": "progress", "done": 0, "total": 2, "items": 0}), flush=True)
    row = {"video": "v.mp4", "time": 0.5, "head": "h", "start": 0, "end": 1, "status": "scored",
           "kind": "event", "class": "bell", "size": "huge", "ciou": 0.2, "hit": False, "failure": "miss"}
    print(json.dumps({"event": "item", **row}), flush=True)
    print(json.dumps({"event": "progress", "done": 1, "total": 2, "items": 1, "eta_s": 3.0}), flush=True)
    sys.stderr.write("Traceback (most recent call last):\\n  ...\\nRuntimeError: CUDA error: out of memory\\n")
    sys.stderr.flush()
    os.abort()
""")


def test_eta_text():
    from avsol_viewer.jobs.panel import eta_text

    assert (eta_text(None), eta_text(75.4), eta_text(3 * 3600 + 65)) == ("ETA …", "ETA 1:15", "ETA 3:01:05")


def test_a_crashing_child_shows_its_last_lines_and_keeps_the_rows(make_viewer, tmp_path):
    from avsol_viewer.evaluate import commands
    from avsol_viewer.evaluate.eval_job import EvalRequest

    v = make_viewer(FakeFactory())
    fake = tmp_path / "fake_cli.py"
    fake.write_text(FAKE_CLI)
    job = v.win.evaluation.job
    job.process.command = [sys.executable, str(fake)]
    req = EvalRequest(str(tmp_path), ("h.pt",), str(tmp_path / "r.json"), device="cpu")
    assert req.args()[:8] == ["eval", str(tmp_path), "--checkpoint", "h.pt", "--out", str(tmp_path / "r.json"),
                              "--jsonl", "--device"]
    with v.qtbot.waitSignal(job.finished, timeout=30000) as blocker:
        commands.evaluate(v.win.context, req)
    outcome, report, message = blocker.args
    panel = v.win.evaluation.panel
    assert outcome == "crashed" and report is None and "out of memory" in message
    assert (job.done, job.total, job.eta) == (1, 2, 3.0)                   # progress with its ETA
    assert "out of memory" in panel.status.text() and panel.model.rowCount() == 1
    assert panel.resume_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert v.win.isVisible()                                   # the GUI is still there


# -- the real thing (slow): avsol eval in a child process ------------------------------------
@pytest.fixture(scope="module")
def tiny_eval_set(tmp_path_factory, synth_set):
    """5 synthetic videos of 2 s at 64 px (one made undecodable) and a tiny checkpoint (the
    shipped tiny preset, its input too)."""
    from model_core.formats import load_avsol_e
    from tiny_models import save_tiny

    root = tmp_path_factory.mktemp("gui_eval")
    synth_set(seed=3, videos=5, classes=3, duration=2, copy_to=root / "data")
    classes = load_avsol_e(root / "data" / "avsol-e.json").classes
    save_tiny(root / "dnm.pt", classes, image_size=64, map_size=4)
    (root / "data" / "videos" / "synth_00001.mp4").write_bytes(b"\x00" * 2000)
    return root


@pytest.mark.slow
def test_evaluate_folder_cancel_resume_and_jump(make_viewer, tiny_eval_set):
    from avsol_viewer.evaluate import commands
    from avsol_viewer.evaluate.eval_job import EvalRequest

    root = tiny_eval_set
    v = make_viewer(FakeFactory(dnm=FakeLocalizer("dnm")))
    out = root / "run" / "report.json"
    req = EvalRequest(str(root / "data"), (str(root / "dnm.pt"),), str(out), device="cpu", batch_size=4,
                      threads=1)
    job = v.win.evaluation.job
    panel = v.win.evaluation.panel
    # cancel once the first video is done: the child finishes the video it is on and stops
    job.progress.connect(lambda done, total, eta: job.cancel() if done >= 1 and not job.process.cancel_requested else None)
    with v.qtbot.waitSignal(job.finished, timeout=180000) as blocker:
        commands.evaluate(v.win.context, req)
    assert blocker.args[0] == "cancelled", blocker.args
    kept = panel.model.rowCount()
    assert 2 <= kept < 10 and panel.resume_button.isEnabled()
    cancelled = json.loads(out.read_text())
    assert cancelled["meta"]["complete"] is False and len(cancelled["items"]) == kept   # what was done is kept
    job.progress.disconnect()                 # the cancel above (the panel follows job.progressed)
    # the cancelled report, reopened from its file, can be resumed too
    job.request = None
    assert commands.open_report(v.win.context, out) and panel.resume_button.isEnabled()
    assert job.request.resume and job.request.checkpoints == (str(root / "dnm.pt"),)
    with v.qtbot.waitSignal(job.finished, timeout=180000) as blocker:
        panel.resume()
    assert blocker.args[0] == "done", blocker.args
    rep = blocker.args[1]
    assert rep["meta"]["complete"] and rep["meta"]["threshold"] == "median"
    rows = panel.model.rows
    assert len(rows) == 10                                          # 5 videos x 2 segments
    bad = [r for r in rows if r["status"] == "failed"]
    assert {r["video"] for r in bad} == {"synth_00001.mp4"} and len(bad) == 2 and bad[0]["error"]
    assert rows[0]["status"] == "failed"                            # worst first: the error rows on top
    assert not panel.resume_button.isEnabled()
    # the maps the rows carry rescore the real run exactly under its own rule
    from model_core.metrics.rescore import rescore_report

    again = rescore_report(rep, "median")
    assert [(r["ciou"], r["failure"]) for r in again["items"]] == [(r["ciou"], r["failure"]) for r in rep["items"]]
    # jump: a scored row opens its video at its frame, with its annotations and the head's map
    i = next(k for k in range(panel.proxy.rowCount()) if panel.proxy.row_at(k)["status"] == "scored")
    row = panel.proxy.row_at(i)
    panel.activate(i)
    v.qtbot.waitUntil(lambda: v.c.session is not None and v.c.session.path.name == row["video"], timeout=15000)
    v.wait_frame(int(row["time"] * 10 + 1e-6))
    assert v.c.session.annotations is not None
    v.qtbot.waitUntil(lambda: [m.name for m in v.c.maps.models] == ["dnm"], timeout=15000)


def test_the_dialogs_build_the_requests_do_runs(qtbot, saved_report, tmp_path):
    """ask(): the dialogs find the annotations and make absolute requests (never exec'd here)."""
    from avsol_viewer.evaluate.eval_dialog import EvalDialog
    from avsol_viewer.train.train_dialog import TrainDialog

    d = EvalDialog(str(saved_report.parent), ["m/dnm.pt"])
    qtbot.addWidget(d)
    assert "2 videos (1 found), 3 items" in d.found.text() and d.ok.isEnabled()
    d.rule.setCurrentText("fixed")
    d.level.setValue(0.3)
    r = d.request()
    # the report goes beside the data folder, named after it, never inside it (issue 25, 5)
    data = saved_report.parent
    assert r.threshold == "fixed:0.3" and r.out == str(data.parent / f"{data.name}-report.json")
    assert r.checkpoints[0].startswith("/") and r.annotations is None
    bad = EvalDialog(str(tmp_path / "nowhere"), ["m/dnm.pt"])
    qtbot.addWidget(bad)
    assert not bad.ok.isEnabled()
    t = TrainDialog(str(saved_report.parent))
    qtbot.addWidget(t)
    assert "no Annotations.txt" in t.found.text() and not t.ok.isEnabled()
