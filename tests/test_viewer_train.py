"""Tools › Train model…, offscreen and without dialogs: the curve widget fed with the job
protocol's events, and (slow) a real ``avsol train`` child: cancelled, resumed from its last save,
curves drawn, and the checkpoint loaded into the viewer with one click."""
from __future__ import annotations

import pytest


pytestmark = pytest.mark.gui


def test_curves_follow_steps_epochs_and_a_resume(qtbot):
    from avsol_viewer.train.train_panel import CurveWidget
    from model_core.jobs.events import Epoch, Step

    w = CurveWidget()
    qtbot.addWidget(w)
    for step, loss in ((1, 2.0), (2, 1.5), (3, 1.2)):
        w.add_event("dnm", Step(step=step, loss=loss, epoch=1))
    w.add_event("dnm", Epoch(epoch=1, train={"loss": 1.5}, val={"loss": 1.4, "avc_acc": 0.5, "cls_acc": 0.25}))
    assert w.steps["dnm"] == ([1, 2, 3], [2.0, 1.5, 1.2])
    assert w.val[("dnm", "avc_acc")] == ([1], [0.5]) and ("dnm", "ciou@0.5") not in w.val
    assert ("dnm", "loss") not in w.val          # an epoch event without its step: no val-loss point
    # a resumed run restarts from its last save at step 2: the later points are replaced
    w.add_event("dnm", Step(step=2, loss=1.4, epoch=1))
    assert w.steps["dnm"] == ([1, 2], [2.0, 1.4])
    x, y = w._items[("loss", "dnm")].getData()
    assert list(x) == [1, 2] and list(y) == [2.0, 1.4]


def test_curve_plots_are_built_when_first_needed(qtbot):
    """Not with the window (start-up), but when shown or drawn on; clearing before is fine."""
    from avsol_viewer.train.train_panel import CurveWidget
    from model_core.jobs.events import Step

    w = CurveWidget()
    qtbot.addWidget(w)
    w.clear()
    assert not w.built()
    w.show()
    qtbot.waitExposed(w)
    assert w.built() and w.loss_plot.parent() is not None
    hidden = CurveWidget()
    qtbot.addWidget(hidden)
    hidden.add_event("avc", Step(step=1, loss=1.0))
    assert hidden.built() and len(hidden.loss_plot.getPlotItem().listDataItems()) == 1


def test_train_request_command_line(tmp_path):
    from avsol_viewer.train.train_job import TrainRequest

    r = TrainRequest(str(tmp_path), ("avc", "dnm"), 3, str(tmp_path / "runs"), batch_size=8, device="cpu",
                     config="tiny", resume=True)
    assert r.args("dnm") == ["train", str(tmp_path), "--head", "dnm", "--epochs", "3", "--out",
                             str(tmp_path / "runs" / "dnm.pt"), "--device", "cpu", "--resume", "--batch-size", "8",
                             "--jsonl", "--config", "tiny"]


@pytest.fixture(scope="module")
def tiny_train_set(synth_set, tmp_path_factory):
    """The session's synthetic set, copied: the cache goes beside it."""
    return synth_set(copy_to=tmp_path_factory.mktemp("gui_train") / "set")


@pytest.mark.slow
def test_train_cancel_resume_curves_and_load(make_viewer, tiny_train_set, tmp_path):
    from model_core.inference.engine import default_localizer
    from avsol_viewer.train import commands
    from avsol_viewer.train.train_job import TrainRequest
    from model_core.jobs.events import Step

    v = make_viewer(default_localizer)
    req = TrainRequest(str(tiny_train_set), ("avc",), 2, str(tmp_path / "runs"), batch_size=4, device="cpu",
                       config="tiny", log_every=1, save_every=1, threads=1,
                       cache=str(tiny_train_set.parent / "cache"))
    job = v.win.training.job
    panel = v.win.training.panel
    stop_at = {"step": 2}

    def cancel_once(event):
        if isinstance(event, Step) and event.step >= stop_at["step"] and not job.process.cancel_requested:
            job.cancel()

    job.event.connect(cancel_once)
    with v.qtbot.waitSignal(job.finished, timeout=240000) as blocker:
        commands.train(v.win.context, req)
    assert blocker.args[0] == "cancelled", blocker.args
    assert (tmp_path / "runs" / "avc.last.pt").exists() and not (tmp_path / "runs" / "avc.pt").exists()
    assert panel.resume_button.isEnabled() and not panel.load_button.isEnabled()
    job.event.disconnect(cancel_once)
    with v.qtbot.waitSignal(job.finished, timeout=240000) as blocker:
        panel.resume()
    outcome, written, message = blocker.args
    assert outcome == "done", message
    assert written == [str(tmp_path / "runs" / "avc.pt")]
    xs, ys = panel.curves.steps["avc"]
    assert xs == sorted(xs) and xs[-1] == xs[0] + len(xs) - 1 and len(xs) >= 3      # one point per step, no gap
    assert panel.curves.val[("avc", "avc_acc")][0] == [1, 2]                 # one point per epoch
    assert panel.curves.val[("avc", "loss")][0][-1] == xs[-1]                # val loss at the last step
    assert panel.load_button.isEnabled()
    panel.load_button.click()
    v.qtbot.waitUntil(lambda: [m.name for m in v.c.maps.models] == ["avc"], timeout=60000)
    assert v.c.maps.models[0].head == "avc"
