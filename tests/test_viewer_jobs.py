"""The viewer's one job base and job panel (``avsol_viewer.jobs``), driven by a fake child
that writes the job protocol's events: the bar, its ETA and the status follow the events, a
line that is not an event of this version is named in the crash message, Cancel ends the
child as the CLI does (exit 130) and enables Resume."""
from __future__ import annotations

import sys
import textwrap

import pytest

pytestmark = pytest.mark.gui

FAKE_CHILD = textwrap.dedent("""
    import signal, sys, time
    from model_core.jobs.events import Log, Progress
    mode = sys.argv[-1]
    print(Progress(done=0, total=4).to_json(), flush=True)
    print(Log(text="warming up").to_json(), flush=True)
    print(Progress(done=1, total=4, eta_s=75.0).to_json(), flush=True)
    print("a plain line", flush=True)
    if mode == "crash":
        print('{"event": "progress", "v": 7, "done": 2, "total": 4}', flush=True)
        sys.stderr.write("Traceback (most recent call last):\\nRuntimeError: out of memory\\n")
        sys.stderr.flush()
        sys.exit(1)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(130))   # the CLI's Cancel
    print('{"event": "log", "v": 1, "text": "waiting"}', flush=True)
    while True:
        time.sleep(0.05)
""")


def make_job(tmp_path, mode):
    from avsol_viewer.jobs.job import CliJob
    from model_core.jobs.events import Log, Progress

    class CountJob(CliJob):
        """The smallest job: progress in things, logs as the status."""

        def __init__(self):
            super().__init__()
            self.events, self.texts = [], []
            self.process.text.connect(self.texts.append)

        def on_event(self, event):
            self.events.append(event)
            if isinstance(event, Progress):
                self.progressed.emit(event.done, event.total, event.eta_s, f"{event.done}/{event.total} things")
            elif isinstance(event, Log):
                self.status_changed.emit(event.text)

        def can_resume(self):
            return self.outcome != "done"

    fake = tmp_path / "fake_child.py"
    fake.write_text(FAKE_CHILD)
    job = CountJob()
    job.process.command = [sys.executable, str(fake)]
    return job, [mode]


def test_a_crashing_child_drives_the_panel_and_leaves_its_last_lines(qtbot, tmp_path):
    from avsol_viewer.jobs.panel import JobPanel
    from model_core.jobs.events import Log, Progress

    job, args = make_job(tmp_path, "crash")
    panel = JobPanel("idle")
    qtbot.addWidget(panel)
    panel.attach(job)
    panel.begin("counting", eta="starting…")
    assert panel.bar.isVisibleTo(panel) and panel.cancel_button.isEnabled() and not panel.resume_button.isEnabled()
    with qtbot.waitSignal(job.ended, timeout=30000) as blocker:
        job.start_process(args)
    outcome, message = blocker.args
    assert outcome == "failed" and "out of memory" in message
    assert "avsol: event 'progress' of protocol version 7" in message     # the bad line, named
    assert job.events == [Progress(done=0, total=4), Log(text="warming up"), Progress(done=1, total=4, eta_s=75.0)]
    assert job.texts == ["a plain line", '{"event": "progress", "v": 7, "done": 2, "total": 4}']
    # the panel followed: bar at 1 of 4 with its text, status from the log, then ended
    assert (panel.bar.value(), panel.bar.maximum(), panel.bar.format()) == (1, 4, "1/4 things")
    assert panel.status.text() == "warming up" and panel.eta.text() == ""
    assert not panel.bar.isVisibleTo(panel) and not panel.cancel_button.isEnabled()
    assert panel.resume_button.isEnabled()


def test_cancel_stops_the_child_and_offers_resume(qtbot, tmp_path):
    from avsol_viewer.jobs.panel import JobPanel

    job, args = make_job(tmp_path, "wait")
    panel = JobPanel("idle", stacked=True)
    qtbot.addWidget(panel)
    panel.attach(job)
    panel.begin("counting")
    job.start_process(args)
    qtbot.waitUntil(lambda: panel.status.text() == "waiting", timeout=30000)
    assert panel.eta.text() == "ETA 1:15" and panel.bar.value() == 1
    with qtbot.waitSignal(job.ended, timeout=30000) as blocker:
        panel.cancel_button.click()
        assert panel.status.text() == job.cancelling_text
    assert blocker.args == ["cancelled", ""]
    assert not job.running() and panel.resume_button.isEnabled() and not panel.cancel_button.isEnabled()
    with qtbot.waitSignal(panel.resume_requested, timeout=1000):
        panel.resume_button.click()


def test_rate_counts_only_this_runs_pace():
    from avsol_viewer.jobs.job import Rate

    now = [100.0]
    rate = Rate(clock=lambda: now[0])
    assert rate.eta(40, 100) is None            # a resumed run starts at 40: no pace yet
    now[0] = 110.0
    assert rate.eta(40, 100) is None
    now[0] = 120.0
    assert rate.eta(50, 100) == pytest.approx(20.0 / 10 * 50)
    rate.reset()
    assert rate.eta(0, 10) is None


FAKE_TRAIN = textwrap.dedent("""
    import sys
    from model_core.jobs.events import Done, Epoch, Progress, Start, Step
    out = sys.argv[sys.argv.index("--out") + 1]
    for e in (Progress(stage="cache", done=3, total=3),
              Start(head="dnm", epochs=1, steps_per_epoch=4, total_steps=4, train_segments=8, val_segments=2,
                    device="cpu", out=out),
              Step(epoch=1, step=2, total_steps=4, loss=0.5, lr=1e-3, samples_per_s=10.0),
              Step(epoch=1, step=4, total_steps=4, loss=0.25, lr=1e-3, samples_per_s=10.0),
              Epoch(epoch=1, epochs=1, step=4, train={"loss": 0.3}, val={"loss": 0.2, "avc_acc": 0.75}),
              Done(out=out, steps=4, epochs=1, seconds=1.0)):
        print(e.to_json(), flush=True)
""")


def test_train_job_and_panel_follow_a_fake_training(qtbot, tmp_path):
    """The Train feature's job and panel on the protocol alone: curves, bar, status and the
    checkpoint offered for loading, without training anything."""
    from avsol_viewer.train.train_job import TrainJob, TrainRequest
    from avsol_viewer.train.train_panel import TrainPanel

    fake = tmp_path / "fake_train.py"
    fake.write_text(FAKE_TRAIN)
    job = TrainJob()
    job.process.command = [sys.executable, str(fake)]
    panel = TrainPanel()
    qtbot.addWidget(panel)
    panel.attach(job)
    request = TrainRequest(str(tmp_path), ("dnm",), 1, str(tmp_path / "runs"), device="cpu", config="tiny")
    statuses = []
    job.status_changed.connect(statuses.append)
    panel.started(request)
    with qtbot.waitSignal(job.finished, timeout=30000) as blocker:
        job.start(request)
    assert blocker.args == ["done", [str(tmp_path / "runs" / "dnm.pt")], ""]
    assert statuses == ["training dnm: starting (reading the data set, building the feature cache)…",
                        "training dnm: feature cache 3/3 videos", "training dnm: 8 segments, 1 epochs on cpu"]
    assert panel.status.text() == f"done: {tmp_path / 'runs' / 'dnm.pt'}"
    assert panel.curves.steps["dnm"] == ([2, 4], [0.5, 0.25]) and panel.curves.val[("dnm", "avc_acc")] == ([1], [0.75])
    assert (panel.bar.value(), panel.bar.maximum()) == (4, 4) and "step %v/%m, loss 0.2500" in panel.bar.format()
    assert panel.load_button.isEnabled() and not panel.resume_button.isEnabled()
