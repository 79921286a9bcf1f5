"""Peak memory over repeated runs of the same command: ``avsol infer`` on a long 720p film
and the viewer on a one-hour file, each N times (default 10), against its limit.

One run's peak says little: the same command has peaked at very different figures from one
run to the next (thread timing decides which allocator arena a thread takes, how far the
decoder runs ahead of the model while it warms up). What is promised is a bound in *every*
run, so this reports every run's peak and their minimum, median and maximum, each against
its limit: 1 GB for ``avsol infer`` (README), SPEC 8's 1.5 GB for the viewer.

- ``infer``: ``avsol infer FILM --checkpoint CKPT --out MAPS.npz --device cpu --quiet`` in a
  fresh child (``bench_memory.cli_peak``: the child's ``VmHWM``). The film is
  ``bench_memory``'s: ``bench_decode``'s 60 s 720p30 clip (made by the project's writer)
  repeated ``--repeats`` times by stream copy (default 10: 600 s), or ``--film PATH``.
- ``viewer``: ``bench_viewer_memory``'s walk (the window offscreen, no heads: open, sound
  track loaded, 12 seeks, zoom and 2 s of playback at three places) on its one-hour file, in
  a fresh child; the figure is the child's ``VmHWM`` at the end of the walk.

Runs alternate (infer, viewer, infer, ...) so a change of the machine's load falls on both.
Run with ``python -m benchmarks.run memory_runs`` (defaults) or
``python -m benchmarks.bench_memory_runs [--runs N] [--repeats R | --film PATH]
[--only infer|viewer] [--json OUT]``. Figures in ``benchmarks/README.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
RUNS = 10
#: the limits the runs are held to, MB
LIMITS_MB = {"infer": 1024.0, "viewer": 1536.0}


def film(repeats: int) -> Path:
    """``bench_decode``'s 720p30 clip, ``repeats`` times over (stream copy; made once)."""
    from benchmarks.bench_decode import make_test_video

    OUT.mkdir(parents=True, exist_ok=True)
    short = make_test_video()
    if repeats <= 1:
        return short
    from benchmarks.bench_viewer import _repeat
    from model_core.atomic import atomic_path
    from model_core.media.probe import probe

    path = OUT / f"memory_720p30_x{repeats}.mp4"
    if path.exists():
        try:
            if probe(path).duration > (repeats - 0.5) * probe(short).duration:
                return path
        except Exception:  # noqa: BLE001 - a broken cache file is rewritten
            pass
    with atomic_path(path) as tmp:
        _repeat(short, tmp, repeats)
    return path


def infer_peak(video: Path, ckpt: Path) -> dict:
    from benchmarks.bench_memory import cli_peak

    out = OUT / f"memory_runs_{os.getpid()}.npz"
    try:
        return cli_peak(["infer", str(video), "--checkpoint", str(ckpt), "--out", str(out), "--device", "cpu",
                         "--quiet"])
    finally:
        out.unlink(missing_ok=True)


# the viewer's walk in a child that first does what avsol-viewer's main does first
_VIEWER_CHILD = """
import json, os, sys
try:
    from model_core.allocator import bound_heap
except ImportError:  # a tree from before it (the 'before' figures)
    bound_heap = lambda: False
bound_heap()
from benchmarks.bench_viewer_memory import child
print(json.dumps(child(sys.argv[1])), flush=True)
os._exit(0)  # skip the interpreter's teardown of Qt objects (the figures are out)
"""


def viewer_peak(hour: Path) -> dict:
    from benchmarks.bench_viewer import _env

    r = subprocess.run([sys.executable, "-c", _VIEWER_CHILD, str(hour)],
                       cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=3600)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"viewer child on {hour.name} failed ({r.returncode}): {r.stderr[-2000:]}")
    one = json.loads(lines[-1])
    return {"peak_rss_mb": one["peak_rss_mb"], "wall_s": one["wall_s"]}


def summary(peaks: list[float], limit_mb: float) -> dict:
    """min / median / max of the runs' peaks and whether every run stayed under ``limit_mb``."""
    return {"runs": len(peaks), "peaks_mb": peaks, "min_mb": min(peaks), "median_mb": statistics.median(peaks),
            "max_mb": max(peaks), "limit_mb": limit_mb, "every_run_under_limit": max(peaks) < limit_mb}


def run(runs: int = RUNS, repeats: int = 10, film_path: str | None = None, only: str | None = None) -> dict:
    from benchmarks.bench_memory import _checkpoint
    from benchmarks.bench_viewer import load
    from benchmarks.bench_viewer_memory import make_file
    from model_core.media.probe import probe

    kinds = [only] if only else ["infer", "viewer"]
    video = Path(film_path) if film_path else film(repeats)
    ckpt = _checkpoint()
    hour = make_file(3600)[0] if "viewer" in kinds else None
    fig: dict = {"infer_command": f"avsol infer {video.name} --checkpoint {ckpt.relative_to(ROOT)} --out MAPS.npz "
                                  "--device cpu --quiet", "load_before": load()}
    if "infer" in kinds:
        fig["film"] = {"file": video.name, "duration_s": round(probe(video).duration, 1)}
    if hour is not None:
        fig["viewer_file"] = {"file": hour.name, "duration_s": round(probe(hour).duration, 1)}
    got: dict = {k: [] for k in kinds}
    walls: dict = {k: [] for k in kinds}
    for _ in range(runs):
        for kind in kinds:
            one = infer_peak(video, ckpt) if kind == "infer" else viewer_peak(hour)
            got[kind].append(one["peak_rss_mb"])
            walls[kind].append(one["wall_s"])
            print(f"{kind}: {one['peak_rss_mb']} MB in {one['wall_s']} s (load {load()})", file=sys.stderr, flush=True)
    for kind in kinds:
        fig[kind] = summary(got[kind], LIMITS_MB[kind])
        fig[kind]["wall_s_median"] = statistics.median(walls[kind])
    fig["load_after"] = load()
    return fig


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_memory_runs", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=RUNS)
    p.add_argument("--repeats", type=int, default=10, help="the film: the 60 s clip this many times over")
    p.add_argument("--film", default=None, help="measure avsol infer on this file instead")
    p.add_argument("--only", choices=("infer", "viewer"), default=None)
    p.add_argument("--json", default=None, metavar="OUT")
    a = p.parse_args(argv)
    fig = run(a.runs, a.repeats, a.film, a.only)
    print(json.dumps(fig, indent=1))
    if a.json:
        from model_core.atomic import write_json

        write_json(a.json, fig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
