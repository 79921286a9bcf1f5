"""Multi-process training under torchrun (2 CPU processes, gloo): only rank 0 writes and
prints, and a run killed and resumed reaches the uninterrupted run's weights."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from model_core.cli import main

SYNTH = ["--videos", "8", "--classes", "3", "--duration", "3", "--size", "64", "--fps", "10"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("train_ddp") / "set"
    assert main(["synth", str(out), "--seed", "1", *SYNTH]) == 0
    return out


def torchrun(tiny: Path, out: Path, *extra: str) -> list[dict]:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "model_core", "train", str(tiny), "--head", "dnm", "--epochs", "2", "--out", str(out),
           "--device", "cpu", "--config", "tiny", "--batch-size", "2", "--save-every", "2", "--jsonl",
           "--log-every", "1", "--cache", str(tiny.parent / "cache"), *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(ln) for ln in proc.stdout.splitlines() if ln.startswith("{")]


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
