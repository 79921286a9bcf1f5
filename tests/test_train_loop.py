"""The trainer: exact resume after a kill, checkpoints, JSON-lines progress, the CLI."""
from __future__ import annotations

import io
import json
import math
import os
import signal
import sys
from pathlib import Path

import pytest
import torch

from model_core.cli import main
from model_core.jobs.events import Epoch, Log, Progress, Start, Step, parse
from model_core.model.checkpoint import load_checkpoint
from model_core.train.loop import Trainer
from model_core.train.options import PRESETS, TrainOptions


@pytest.fixture(scope="module")
def tiny(synth_set, tmp_path_factory) -> Path:
    """The session's synthetic set, copied: the feature cache goes beside it."""
    return synth_set(copy_to=tmp_path_factory.mktemp("train_loop") / "set")


def options(tiny: Path, out: Path, **kw) -> TrainOptions:
    base = dict(data=str(tiny), head="dnm", epochs=2, out=str(out), device="cpu", batch_size=4,
                model=dict(PRESETS["tiny"]), save_every=2, log_every=1, cache=str(tiny.parent / "cache"),
                threads=1)
    base.update(kw)
    return TrainOptions(**base)


class Kill(Exception):
    """Stands for kill -9: raised from a callback, nothing gets saved after it."""


def kill_at(step: int):
    def cb(event):
        if isinstance(event, Step) and event.step == step:
            raise Kill()
    return cb


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.slow
@pytest.mark.parametrize("kill_step", [3, 5])  # mid-epoch 1 (last save: step 2); mid-epoch 2 (epoch end)
def test_resume_after_kill_reaches_the_same_weights(tiny, tmp_path, kill_step):
    straight = Trainer(options(tiny, tmp_path / "a.pt", keep_last=True)).run()
    with pytest.raises(Kill):
        Trainer(options(tiny, tmp_path / "b.pt"), [kill_at(kill_step)]).run()
    assert (tmp_path / "b.last.pt").exists() and not (tmp_path / "b.pt").exists()
    events = []
    resumed = Trainer(options(tiny, tmp_path / "b.pt", resume=True, keep_last=True), [events.append]).run()
    start = next(e for e in events if isinstance(e, Start))
    assert start.resumed_from == (2 if kill_step == 3 else 4)
    a, b = load_checkpoint(tmp_path / "a.pt"), load_checkpoint(tmp_path / "b.pt")
    assert_same_weights(a.state_dict, b.state_dict)
    assert straight["history"] == resumed["history"]  # same train/val metrics per epoch
    assert resumed["steps"] == straight["steps"] and resumed["samples"] == straight["samples"]
    la = load_checkpoint(tmp_path / "a.last.pt", with_train_state=True).train_state
    lb = load_checkpoint(tmp_path / "b.last.pt", with_train_state=True).train_state
    for sa, sb in zip(la["optimizer"]["state"].values(), lb["optimizer"]["state"].values()):
        for k in sa:
            assert torch.equal(sa[k], sb[k])


def test_final_checkpoint_summary_and_no_train_state(tiny, tmp_path):
    summary = Trainer(options(tiny, tmp_path / "m.pt", head="cls", epochs=1)).run()
    assert not (tmp_path / "m.last.pt").exists()
    raw = torch.load(tmp_path / "m.pt", weights_only=True)
    assert "train_state" not in raw
    ck = load_checkpoint(tmp_path / "m.pt")
    assert ck.head == "cls" and ck.config.width == PRESETS["tiny"]["width"]
    for key in ("data", "head", "epochs", "steps", "samples", "train", "val", "seconds", "device",
                "torch", "seed", "command"):
        assert key in ck.summary, key
    assert ck.summary == summary and ck.summary["steps"] > 0 and ck.summary["device"] == "cpu"
    assert {"loss", "avc_acc", "cls_acc"} <= set(ck.summary["val"])
    assert "ciou@0.5" in ck.summary["val"]  # the synthetic set has AVSOL-E boxes
    model = ck.build()
    frames = torch.zeros(2, 3, 64, 64, dtype=torch.uint8)
    assert model(frames, torch.zeros(2, 1, 64, 101)).logits_map.shape == (2, 4, 4)


def test_cli_jsonl_stream(tiny, tmp_path, capsys):
    out = tmp_path / "j.pt"
    rc = main(["train", str(tiny), "--head", "avc", "--epochs", "2", "--out", str(out), "--device", "cpu",
               "--config", "tiny", "--batch-size", "4", "--jsonl", "--cache", str(tiny.parent / "cache"),
               "--log-every", "1"])
    assert rc == 0
    lines = capsys.readouterr().out.splitlines()
    events = [parse(ln) for ln in lines]           # stdout: only events of the job protocol
    kinds = [e.kind for e in events]
    assert kinds[-1] == "done" and kinds.count("epoch") == 2 and kinds.count("start") == 1
    assert "progress" in kinds and all(e.stage == "cache" for e in events if isinstance(e, Progress))
    step = json.loads(lines[kinds.index("step")])
    assert {"epoch", "step", "total_steps", "loss", "l_avc", "lr", "samples_per_s"} <= set(step)
    epoch = next(e for e in events if isinstance(e, Epoch))
    assert {"loss", "avc_acc", "cls_acc"} <= set(epoch.val) and "loss" in epoch.train
    command = load_checkpoint(out).summary["command"]  # how the run was started, as typed
    assert command.startswith("avsol train ") and "--head avc" in command and "--jsonl" in command, command


@pytest.mark.slow
def test_cli_resume_with_nothing_to_resume_and_mismatch(tiny, tmp_path, capsys):
    out = tmp_path / "r.pt"
    common = ["train", str(tiny), "--head", "dnm", "--out", str(out), "--device", "cpu", "--config", "tiny",
              "--batch-size", "4", "--cache", str(tiny.parent / "cache")]
    assert main([*common, "--epochs", "1", "--resume"]) == 0
    assert "nothing to resume" in capsys.readouterr().out
    assert main([*common, "--epochs", "2", "--stop-after-steps", "3", "--save-every", "2"]) == 0
    assert (tmp_path / "r.last.pt").exists()
    capsys.readouterr()
    assert main([*common, "--epochs", "3", "--resume"]) == 2  # other settings: refused, said why
    err = capsys.readouterr().err
    assert "r.last.pt" in err and "epochs" in err
    assert main([*common, "--epochs", "2", "--resume"]) == 0
    assert "resuming from" in capsys.readouterr().out and not (tmp_path / "r.last.pt").exists()


def test_cli_bad_input_exits_2(tmp_path, capsys):
    assert main(["train", str(tmp_path / "none"), "--head", "dnm", "--epochs", "1", "--out",
                 str(tmp_path / "x.pt"), "--device", "cpu"]) == 2
    assert "none" in capsys.readouterr().err
    assert main(["train", str(tmp_path), "--head", "dnm", "--epochs", "1", "--out", str(tmp_path / "x.pt"),
                 "--map-size", "5"]) == 2


@pytest.mark.slow
def test_select_best_writes_the_chosen_epoch(tiny, tmp_path):
    summary = Trainer(options(tiny, tmp_path / "s.pt", epochs=3, select_best="loss", keep_last=True)).run()
    losses = [h["val"]["loss"] for h in summary["history"]]
    chosen = summary["selected"]["epoch"]
    assert chosen == 1 + losses.index(min(losses)) and summary["selected"]["by"] == "val loss"
    assert_same_weights(load_checkpoint(tmp_path / "s.pt").state_dict,
                        load_checkpoint(tmp_path / "s.best.pt").state_dict)
    assert load_checkpoint(tmp_path / "s.pt").summary["selected"]["epoch"] == chosen


class _HeadOne(io.StringIO):
    """stdout read by ``| head -1``: the first line goes through, then the pipe is closed."""

    def write(self, text):
        if self.getvalue().count("\n") >= 1:
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)


def test_jsonl_into_head_1_still_writes_the_checkpoint(tiny, tmp_path, monkeypatch):
    out = tmp_path / "p.pt"
    head = _HeadOne()
    monkeypatch.setattr(sys, "stdout", head)
    rc = main(["train", str(tiny), "--head", "avc", "--epochs", "1", "--out", str(out), "--device", "cpu",
               "--config", "tiny", "--batch-size", "4", "--jsonl", "--cache", str(tiny.parent / "cache")])
    assert rc == 0 and head.getvalue().count("\n") == 1
    assert load_checkpoint(out).summary["finished"]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_keep_the_resumable_checkpoint_and_say_how_to_resume(tiny, tmp_path, monkeypatch,
                                                                                capsys, sig):
    from model_core.jobs import sinks

    class KilledAtStep3(sinks.HumanSink):
        def __call__(self, event):
            super().__call__(event)
            if isinstance(event, Step) and event.step == 3:
                os.kill(os.getpid(), sig)

    monkeypatch.setattr(sinks, "HumanSink", KilledAtStep3)
    out = tmp_path / "s.pt"
    common = ["train", str(tiny), "--head", "dnm", "--epochs", "2", "--out", str(out), "--device", "cpu",
              "--config", "tiny", "--batch-size", "4", "--cache", str(tiny.parent / "cache"),
              "--save-every", "2", "--log-every", "1"]
    assert main(common) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted" in err[0] and "s.last.pt" in err[0] and "--resume" in err[0]
    assert (tmp_path / "s.last.pt").exists() and not out.exists()
    monkeypatch.undo()
    assert main([*common, "--resume"]) == 0
    assert "resuming from" in capsys.readouterr().out and out.exists()


@pytest.mark.slow
def test_a_training_video_without_sound_is_named(tiny, tmp_path):
    import shutil

    from media_helpers import make_clip

    data = tmp_path / "set"
    shutil.copytree(tiny, data, ignore=shutil.ignore_patterns(".avsol-cache"))
    first_train = (data / "trainSet.txt").read_text().strip().splitlines()[-1].split("&")[1]
    mute = data / "videos" / f"{first_train}.mp4"
    assert mute.exists()
    make_clip(mute, n_frames=30, fps=10, size=(64, 64), with_audio=False)
    logs = []
    Trainer(options(data, tmp_path / "m.pt", epochs=1, cache=str(tmp_path / "cache")),
            [lambda e: logs.append(e) if isinstance(e, Log) else None]).run()
    warning = [e.text for e in logs if "without a sound track" in e.text]
    assert warning and mute.name in warning[0] and "silence" in warning[0]


def test_a_diverging_training_is_one_line_not_a_traceback(tiny, tmp_path, monkeypatch, capsys):
    import model_core.train.loop as loop

    real = loop.head_loss
    # the loss turns NaN from step 3 on (the loss is read only every --log-every steps: 4 here)
    calls = []

    def nan_from_step_3(*a, **k):
        out = real(*a, **k)
        calls.append(1)
        if len(calls) >= 3:
            out["loss"] = out["loss"] * float("nan")
        return out

    monkeypatch.setattr(loop, "head_loss", nan_from_step_3)
    rc = main(["train", str(tiny), "--head", "avc", "--epochs", "1", "--out", str(tmp_path / "d.pt"),
               "--device", "cpu", "--config", "tiny", "--batch-size", "2", "--log-every", "4",
               "--save-every", "2", "--cache", str(tiny.parent / "cache")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "training diverged" in err[0] and "--lr" in err[0]
    # found at the logging step 4, naming the first NaN step and the range read at once (the
    # save at step 2 read steps 1-2)
    assert "nan at step 3 (of steps 3-4" in err[0], err[0]
    assert len(calls) == 4   # steps 3 and 4 ran; the check came at the logging step, not per step
    # the save at step 2 holds finite weights; the one at step 4 was refused (flushed first)
    ck = load_checkpoint(tmp_path / "d.last.pt", with_train_state=True)
    assert ck.train_state["step"] == 2
    assert all(torch.isfinite(v).all() for v in ck.state_dict.values() if v.is_floating_point())


@pytest.mark.slow
def test_step_results_are_read_from_the_device_only_at_logging_steps(tiny, tmp_path, monkeypatch):
    """No per-step .item()/float()/bool() of a step's result inside the step; one
    read_scalars call per logging step (nanoGPT's habit: a read per step makes the host wait
    for the GPU). Counted inside the step: any read made by the loop's own code, and any read
    of a floating-point tensor (a loss, a metric, a norm) by model_core's code. Left out: torch's
    own (AdamW's step counter lives on the CPU) and head_loss's ``keep.any()`` on the CPU
    index of negatives (a bool tensor)."""
    import traceback

    import model_core.train.loop as loop

    state = {"in_step": False, "reads_in_step": [], "flushes": 0}
    for name in ("item", "tolist", "__float__", "__bool__", "__int__", "__index__"):
        original = getattr(torch.Tensor, name)

        def counted(self, *a, _original=original, _name=name, **k):
            if state["in_step"]:
                caller = traceback.extract_stack(limit=2)[0].filename.replace(os.sep, "/")
                if caller.endswith("model_core/train/loop.py") or (
                        "/model_core/" in caller and self.is_floating_point()):
                    state["reads_in_step"].append((_name, caller))
            return _original(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, counted)
    step = loop.Trainer._train_step

    def watched(self, idx):
        state["in_step"] = True
        try:
            return step(self, idx)
        finally:
            state["in_step"] = False

    monkeypatch.setattr(loop.Trainer, "_train_step", watched)
    read = loop.read_scalars

    def counted_read(values):
        state["flushes"] += 1
        return read(values)

    monkeypatch.setattr(loop, "read_scalars", counted_read)
    events = []
    summary = Trainer(options(tiny, tmp_path / "r.pt", log_every=3, save_every=1000, grad_clip=1.0),
                      [events.append]).run()
    assert state["reads_in_step"] == []
    spe = next(e for e in events if isinstance(e, Start)).steps_per_epoch
    steps = [e.step for e in events if isinstance(e, Step)]
    # a step event at every 3rd step and at each epoch's end, each after exactly one read
    expected = [s for s in range(1, 2 * spe + 1) if s % 3 == 0 or s % spe == 0]
    assert steps == expected and state["flushes"] == len(expected), (spe, steps, state)
    last = [e for e in events if isinstance(e, Step)][-1]
    assert isinstance(last.loss, float) and math.isfinite(last.loss) and last.grad_norm > 0
    assert summary["steps"] == 2 * spe


@pytest.mark.slow
def test_grad_clip_is_a_setting_of_the_run(tiny, tmp_path):
    from model_core.errors import InputError

    assert "grad_clip" not in options(tiny, tmp_path / "x.pt").run_settings()   # old runs still resume
    assert options(tiny, tmp_path / "x.pt", grad_clip=0.5).run_settings()["grad_clip"] == 0.5
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(InputError, match="--grad-clip must be a finite number > 0"):
            Trainer(options(tiny, tmp_path / "x.pt", grad_clip=bad))
    with pytest.raises(Kill):
        Trainer(options(tiny, tmp_path / "g.pt", grad_clip=0.5), [kill_at(3)]).run()
    ts = load_checkpoint(tmp_path / "g.last.pt", with_train_state=True).train_state
    assert ts["settings"]["grad_clip"] == 0.5
    with pytest.raises(InputError, match="grad_clip: 0.5 then, None now"):
        Trainer(options(tiny, tmp_path / "g.pt", resume=True)).run()


def test_grad_clip_cli_refuses_a_bad_norm(tmp_path, capsys):
    for bad in ("0", "-1", "nan", "inf", "x"):
        rc = main(["train", str(tmp_path), "--head", "avc", "--epochs", "1", "--out", str(tmp_path / "o.pt"),
                   "--grad-clip", bad])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2 and len(err) == 1 and "--grad-clip" in err[0], err
