"""Multi-process training under torchrun (2 CPU processes, gloo): only rank 0 writes and
prints, and a run killed and resumed reaches the uninterrupted run's weights."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="module")
def tiny(synth_set, tmp_path_factory) -> Path:
    """The session's synthetic set, copied: the ranks' logs and the cache go beside it."""
    return synth_set(copy_to=tmp_path_factory.mktemp("train_ddp") / "set")


def descendants(pid: int) -> list[int]:
    """Process ids below ``pid`` (from /proc), to end them if the run hangs."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def rank_logs(folder: Path) -> str:
    return "\n".join(f"== {p}\n{p.read_text()[-3000:]}" for p in sorted(folder.rglob("stderr.log")))


def torchrun(tiny: Path, out: Path, *extra: str) -> list[dict]:
    logs = tiny.parent / "logs"  # each rank's stderr lands there (--redirects 2)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "--log-dir", str(logs), "--redirects", "2", "-m", "model_core", "train", str(tiny), "--head", "dnm", "--epochs", "2", "--out", str(out),
           "--device", "cpu", "--config", "tiny", "--batch-size", "2", "--save-every", "2", "--jsonl",
           "--log-every", "1", "--cache", str(tiny.parent / "cache"), *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
    # on a timeout every process of the run gets SIGABRT (faulthandler writes where it was
    # into the rank's stderr log) and none is left behind
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        ranks = descendants(proc.pid)  # torchrun starts each rank in a session of its own
        for pid in [proc.pid, *ranks]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGABRT)
        out, err = proc.communicate()
        pytest.fail(f"torchrun timed out; stdout tail:\n{out[-1500:]}\nstderr tail:\n{err[-3000:]}"
                    f"\nranks' stderr:\n{rank_logs(logs)}")
    assert proc.returncode == 0, err[-3000:] + rank_logs(logs)
    return [json.loads(text) for text in out.splitlines() if text.startswith("{")]


@pytest.mark.slow
def test_two_processes_resume_exactly(tiny, tmp_path):
    straight = torchrun(tiny, tmp_path / "a.pt")
    starts = [m for m in straight if m["event"] == "start"]
    assert len(starts) == 1 and starts[0]["world_size"] == 2  # rank 0 alone prints
    assert sum(m["event"] == "done" for m in straight) == 1
    torchrun(tiny, tmp_path / "b.pt", "--stop-after-steps", "3")
    assert (tmp_path / "b.last.pt").exists() and not (tmp_path / "b.pt").exists()
    resumed = torchrun(tiny, tmp_path / "b.pt", "--resume")
    assert next(m for m in resumed if m["event"] == "start")["resumed_from"] == 2
    a = torch.load(tmp_path / "a.pt", weights_only=True)
    b = torch.load(tmp_path / "b.pt", weights_only=True)
    assert a["summary"]["world_size"] == 2
    for k in a["state_dict"]:
        assert torch.equal(a["state_dict"][k], b["state_dict"][k]), k
    assert a["summary"]["history"] == b["summary"]["history"]
    assert not list(tmp_path.glob(".*tmp"))  # no stray temporary files from rank 1
