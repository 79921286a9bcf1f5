"""A torchrun evaluation whose rank dies: the collective that finds it
out raises ``RankLost`` (one line, never gloo's traceback) and the surviving rank writes the
partial report from the items logs it can read, as a SIGTERM'd single run does."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from model_core.distributed import Dist, RankLost
from model_core.evaluation import EvalOptions, run_eval
from model_core.formats import AvsolE, Box, Segment, VideoAnnotation, save_avsol_e
from model_core.inference import VideoMaps

from fakes import FakeModel

LEFT = np.zeros((7, 7), np.float32)
LEFT[:, :3] = 0.9


def fake_localize(locs, path, times, cancel=None, **kw):
    n = len(times)
    return {loc.name: VideoMaps(np.asarray(times, float), np.stack([LEFT] * n), np.full(n, 0.8, np.float32),
                                np.ones((n, 1), np.float32), False) for loc in locs}


class DeadPeer(Dist):
    """Rank ``rank`` of 2 whose peer died: every collective after the work fails as gloo does."""

    def __init__(self, rank: int):
        super().__init__(rank=rank, world=2)
        self.calls = 0

    def barrier(self):                       # the start-up barrier passes (the peer was alive)
        pass

    def gather(self, obj):
        self.calls += 1
        self.broken = RankLost("gathering the results", RuntimeError(
            "[../third_party/gloo/gloo/transport/tcp/pair.cc:534] Connection closed by peer [127.0.0.1]:1234"))
        raise self.broken


def make_set(root: Path, n: int = 4) -> Path:
    seg = (Segment(0, 1, 0.5, True, sounding=(Box(0, 0, 0.5, 1, "bell"),)),)
    (root / "videos").mkdir(parents=True)
    for i in range(n):
        (root / "videos" / f"v{i}.mp4").write_bytes(b"not decoded by the fake")
    save_avsol_e(AvsolE(("bell",), tuple(VideoAnnotation(f"v{i}.mp4", "bell", seg) for i in range(n))),
                 root / "avsol-e.json")
    return root


@pytest.mark.parametrize("rank", [0, 1])
def test_a_dead_peer_leaves_a_partial_report_and_one_line(tmp_path, rank):
    root = make_set(tmp_path)
    err = io.StringIO()
    dist = DeadPeer(rank)
    res = run_eval(root, [], root / "r.json", EvalOptions(), localizers=[FakeModel("a", classes=["bell"])], localize=fake_localize,
                   dist=dist, err=err, stdout=io.StringIO())
    assert dist.calls == 1
    # this rank's shard (every 2nd video) is in the report; the peer's is not: incomplete
    assert res.report is not None and res.cancelled and res.report_path.exists()
    videos = sorted({r["video"] for r in res.report["items"]})
    assert videos == [f"v{i}.mp4" for i in range(rank, 4, 2)]
    assert res.report["meta"]["complete"] is False
    notes = " | ".join(res.report["notes"])
    assert "incomplete: 2 of 4 videos evaluated (interrupted); rerun with --resume" in notes
    assert "torchrun: gathering the results failed, another rank is gone (Connection closed by peer " \
           "[127.0.0.1]:1234)" in notes
    assert "Traceback" not in err.getvalue() and "another rank is gone" in err.getvalue()
    assert (tmp_path / f"r.items.rank{rank}.jsonl").exists()   # kept for --resume


def test_the_dead_peers_log_on_a_shared_disk_is_in_the_report(tmp_path):
    root = make_set(tmp_path)
    # the peer (rank 1) had finished v1 before it died: its log is on the shared disk
    run_eval(root, [], root / "r.json", EvalOptions(), localizers=[FakeModel("a", classes=["bell"])], localize=fake_localize,
             dist=DeadPeer(1), err=io.StringIO(), stdout=io.StringIO())
    (root / "r.json").unlink()
    res = run_eval(root, [], root / "r.json", EvalOptions(resume=True), localizers=[FakeModel("a", classes=["bell"])],
                   localize=fake_localize, dist=DeadPeer(0), err=io.StringIO(), stdout=io.StringIO())
    assert sorted({r["video"] for r in res.report["items"]}) == ["v0.mp4", "v1.mp4", "v2.mp4", "v3.mp4"]
    assert res.report["meta"]["complete"] is True and not res.cancelled


def test_more_than_two_ranks_leave_the_report_to_rank_0(tmp_path):
    root = make_set(tmp_path, 6)
    dist = DeadPeer(1)
    dist.world = 3
    res = run_eval(root, [], root / "r.json", EvalOptions(), localizers=[FakeModel("a", classes=["bell"])], localize=fake_localize,
                   dist=dist, err=io.StringIO(), stdout=io.StringIO())
    assert res.report is None and res.cancelled and not (root / "r.json").exists()


def test_a_broken_group_is_not_used_again():
    d = DeadPeer(0)
    with pytest.raises(RankLost):
        d.gather(1)
    with pytest.raises(RankLost, match="^torchrun: gathering the results failed, another rank is gone"):
        Dist.all_gather(d, 1)          # the real method refuses at once: nothing sent


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        out += [int(k) for k in kids]
        todo += [int(k) for k in kids]
    return out


def _rank_of(pid: int) -> int | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    ranks = [e[5:] for e in env if e.startswith(b"RANK=")]
    return int(ranks[0]) if ranks else None


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the rank's process in /proc")
def test_torchrun_eval_whose_rank_is_killed_leaves_a_partial_report(tmp_path, synth_set, make_tiny_checkpoint):
    """Real torchrun, 2 CPU processes: rank 1 is killed (-9) after its first video; the
    report of what was done is written, the run says so in one line, no gloo traceback."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    from model_core.formats import load_avsol_e

    data = synth_set(seed=5, videos=8, classes=3, fps=None)
    ckpt = make_tiny_checkpoint(load_avsol_e(data / "avsol-e.json").classes)
    out = tmp_path / "r.json"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "--log-dir", str(tmp_path / "logs"), "--redirects", "2", "-m", "model_core", "eval", str(data),
           "--out", str(out), "--batch-size", "4", "--checkpoint", str(ckpt)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)
    log1 = tmp_path / "r.items.rank1.jsonl"
    try:
        end = time.monotonic() + 240
        while time.monotonic() < end and proc.poll() is None:
            if log1.exists() and log1.read_text().count("\n") >= 2:     # header + its first video
                break
            time.sleep(0.05)
        victim = next((p for p in _descendants(proc.pid) if _rank_of(p) == 1), None)
        assert victim is not None, "rank 1 not found"
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    rank0 = "\n".join(p.read_text() for p in (tmp_path / "logs").rglob("stderr.log") if "/0/" in str(p))
    assert out.exists(), stderr[-2000:] + rank0[-2000:]
    report = json.loads(out.read_text())
    assert report["meta"]["complete"] is False and 1 <= report["meta"]["videos_done"] < 8
    assert any("rerun with --resume" in n for n in report["notes"])
    assert "Traceback" not in rank0 and "gloo" not in rank0.lower()
    assert "torchrun: gathering the results failed, another rank is gone (Connection closed by peer" in rank0
