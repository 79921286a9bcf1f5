"""The repeated-run memory benchmark's own arithmetic (benchmarks/bench_memory_runs.py): the
summary a run is judged by, and the peaks of the processes a viewer starts (its map
process), which its figure adds to its own."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from benchmarks import bench_memory_runs as runs


def test_summary_is_min_median_max_against_the_limit():
    s = runs.summary([700.0, 650.0, 1000.0, 660.0], 1024.0)
    assert (s["runs"], s["min_mb"], s["median_mb"], s["max_mb"]) == (4, 650.0, 680.0, 1000.0)
    assert s["every_run_under_limit"] is True
    # one run over the limit is enough to fail, whatever the median
    assert runs.summary([650.0, 650.0, 1024.0], 1024.0)["every_run_under_limit"] is False


_HOLDER = """
import sys, time
block = bytearray(60 * 2**20)          # 60 MiB, touched: resident
for i in range(0, len(block), 4096):
    block[i] = 1
print("ready", flush=True)
sys.stdin.readline()
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_the_tree_watch_finds_a_grandchild_and_keeps_its_peak():
    """A child that starts a grandchild holding 60 MiB: both are found below this process,
    and the grandchild's peak (VmHWM) is kept once it has ended."""
    code = ("import subprocess, sys\n"
            f"p = subprocess.Popen([sys.executable, '-c', {_HOLDER!r}], stdin=sys.stdin, stdout=sys.stdout)\n"
            "p.wait()\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        below = runs._descendants(os.getpid())
        assert parent.pid in below
        grandchildren = [p for p in below if p != parent.pid and parent.pid in _ancestors(p)]
        assert len(grandchildren) == 1
        watch = runs._TreeWatch()
        watch.sample()
        assert watch.peaks_kb[grandchildren[0]] >= 60 * 1024
        assert watch.tree_rss_kb >= 60 * 1024 + (runs._status_kb(os.getpid(), "VmRSS") or 0)
        assert 60 * 1024 <= watch.tree_pss_kb <= watch.tree_rss_kb   # shared pages counted once
        own = runs._status_kb(os.getpid(), "VmRSS")
        assert own + 60 * 1024 <= watch.own_rss_children_private_kb <= watch.tree_rss_kb + 1024
        parent.stdin.write("\n")
        parent.stdin.flush()
        parent.wait(timeout=30)
        watch.sample()               # gone: the peak seen stays
        assert watch.peaks_kb[grandchildren[0]] >= 60 * 1024
        assert grandchildren[0] not in runs._descendants(os.getpid())
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def _ancestors(pid: int) -> list[int]:
    out = []
    while pid > 1:
        with open(f"/proc/{pid}/stat") as fh:
            pid = int(fh.read().rsplit(")", 1)[1].split()[1])
        out.append(pid)
    return out


def test_cli_peak_reports_the_childs_peak_wall_and_cpu(tmp_path):
    from benchmarks.bench_memory import cli_peak

    log = tmp_path / "child.log"
    t = time.perf_counter()
    fig = cli_peak(["--version"], log=log)
    assert set(fig) == {"peak_rss_mb", "wall_s", "cpu_s"}
    assert 0 < fig["peak_rss_mb"] < 4096 and fig["wall_s"] >= 0
    assert 0 < fig["cpu_s"] < time.perf_counter() - t + 60   # the child's own seconds, not ours
    with pytest.raises(RuntimeError, match="avsol infer failed"):
        cli_peak(["infer", str(tmp_path / "missing.mp4"), "--checkpoint", "x.pt", "--out",
                  str(tmp_path / "m.npz")], log=log)
    assert "missing.mp4" in log.read_text()    # the child's stderr went to the log


def test_runs_recorded_side_by_side_are_summarized_per_kind_and_backend(tmp_path):
    import json

    rec = tmp_path / "runs.jsonl"
    rows = [{"kind": "infer", "backend": "torch", "peak_rss_mb": p, "wall_s": 10.0, "cpu_s": 5.0, "load": [1, 1, 1]}
            for p in (700.0, 690.0, 710.0)]
    rows.append({"kind": "infer", "backend": "openvino", "peak_rss_mb": 1100.0, "wall_s": 8.0, "cpu_s": 4.0,
                 "load": [1, 1, 1]})
    rows.append({"kind": "viewer", "peak_rss_mb": 1400.0, "wall_s": 60.0, "load": [2, 2, 2]})
    rec.write_text("".join(json.dumps(r) + "\n" for r in rows))
    fig = runs.from_record(str(rec))
    assert set(fig) == {"infer_torch", "infer_openvino", "viewer"}
    assert (fig["infer_torch"]["min_mb"], fig["infer_torch"]["median_mb"], fig["infer_torch"]["max_mb"]) == \
        (690.0, 700.0, 710.0)
    assert fig["infer_torch"]["every_run_under_limit"] and not fig["infer_openvino"]["every_run_under_limit"]
    assert fig["viewer"]["limit_mb"] == 1536.0 and "cpu_s" not in fig["viewer"]
