"""Memory of ``avsol infer`` against the film's length (issue 13, SPEC 8).

``avsol infer FILE --checkpoint resources/models/dnm.pt`` (the demo dnm head, or a
demo-size untrained checkpoint when the demo models are absent) on the 720p30 file of
``bench_decode`` (60 s) and on a film ``REPEATS`` times as long made from it by stream copy
(no re-encoding), each in a fresh child process whose peak resident memory (``VmHWM``) is
read at the end. Target: the same peak for both (under 1 GB with the demo heads): the
pipeline holds a few batches, never the film. Run with ``python -m benchmarks.run memory``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
REPEATS = 10

_CHILD = """
import resource, sys, time
from model_core.cli import main
t = time.perf_counter()
rc = main(sys.argv[1:])
wall = time.perf_counter() - t
hwm = next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmHWM:'))
ru = resource.getrusage(resource.RUSAGE_SELF)
print('{"rc": %d, "vm_hwm_bytes": %d, "wall_s": %.2f, "cpu_s": %.2f}' % (rc, hwm, wall, ru.ru_utime + ru.ru_stime))
"""


def _checkpoint() -> Path:
    demo = ROOT / "resources" / "models" / "dnm.pt"
    if demo.is_file():
        return demo
    import torch

    from model_core.model import ModelConfig, build_model
    from model_core.model.checkpoint import save_checkpoint

    path = OUT / "memory_demo_size_dnm.pt"
    cfg = ModelConfig(num_classes=28, width=16, audio_width=16, layers=(1, 1, 1, 1), image_size=112,
                      map_size=7, embed_dim=64)
    torch.manual_seed(0)
    save_checkpoint(path, build_model(cfg), cfg, [f"c{i}" for i in range(28)], "dnm")
    return path


def _long_film(short: Path) -> Path:
    """``short`` (bench_decode's clip) ``REPEATS`` times over: bench_memory_runs' film."""
    from benchmarks.bench_memory_runs import film

    return film(REPEATS)


def _infer(video: Path, ckpt: Path) -> dict:
    out = OUT / f"memory_{video.stem}.npz"
    fig = cli_peak(["infer", str(video), "--checkpoint", str(ckpt), "--out", str(out), "--device", "cpu",
                    "--quiet"])
    return {"peak_rss_mb": fig["peak_rss_mb"], "wall_s": fig["wall_s"]}


def cli_peak(args: list[str], timeout: float = 3600, log: Path | None = None) -> dict:
    """Run ``avsol ARGS`` in a fresh child process; its peak resident memory (VmHWM, MB), the
    command's wall time and the process's CPU seconds (all its threads: the figure that
    load from other jobs disturbs least). ``log``: the child's stderr goes to this file as
    it runs (a long run's progress can be followed) instead of being held. Raises
    RuntimeError with the child's stderr when it fails."""
    cmd = [sys.executable, "-c", _CHILD, *args]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if log is None:
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        err = r.stderr
    else:
        with open(log, "w") as fh:
            r = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=fh, text=True,
                               timeout=timeout)
        err = Path(log).read_text(errors="replace")
    line = [ln for ln in r.stdout.splitlines() if ln.startswith('{"rc"')]
    fig = json.loads(line[-1]) if line else {"rc": r.returncode}
    if r.returncode != 0 or fig["rc"] != 0:   # a command that failed measured nothing
        raise RuntimeError(f"avsol {args[0]} failed ({r.returncode or fig['rc']}): {err[-2000:]}")
    return {"peak_rss_mb": round(fig["vm_hwm_bytes"] / 2**20, 1), "wall_s": fig["wall_s"], "cpu_s": fig["cpu_s"]}


def run() -> dict:
    from benchmarks.bench_decode import make_test_video
    from model_core.media.probe import probe

    OUT.mkdir(parents=True, exist_ok=True)
    short = make_test_video()
    long = _long_film(short)
    ckpt = _checkpoint()
    fig: dict = {"checkpoint": str(ckpt.relative_to(ROOT)), "command": "avsol infer FILE --checkpoint CKPT "
                 "--out MAPS.npz --device cpu --quiet (peak VmHWM of the process)"}
    for name, video in (("short", short), ("long", long)):
        load0 = [round(x, 2) for x in os.getloadavg()]
        t = time.perf_counter()
        f = _infer(video, ckpt)
        info = probe(video)
        f.update(file=video.name, duration_s=round(info.duration, 1),
                 frames_per_s=round(info.frame_count / f["wall_s"], 1), load_before=load0,
                 load_after=[round(x, 2) for x in os.getloadavg()], seconds=round(time.perf_counter() - t, 1))
        fig[name] = f
    fig["long_over_short_peak"] = round(fig["long"]["peak_rss_mb"] / fig["short"]["peak_rss_mb"], 3)
    fig["target"] = "long_over_short_peak ~1.0 and peak < 1024 MB"
    return fig


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
