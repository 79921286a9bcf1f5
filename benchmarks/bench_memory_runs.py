"""Peak memory over repeated runs of the same command: ``avsol infer`` on a long 720p film
and the viewer on a one-hour file, each N times (default 10), against its limit.

One run's peak says little: the same command has peaked at very different figures from one
run to the next (thread timing decides which allocator arena a thread takes, how far the
decoder runs ahead of the model while it warms up). What is promised is a bound in *every*
run, so this reports every run's peak and their minimum, median and maximum, each against
its limit: 1 GB for ``avsol infer`` (README), SPEC 8's 1.5 GB for the viewer.

- ``infer``: ``avsol infer FILM --checkpoint CKPT --out MAPS.npz --device cpu --backend B``
  in a fresh child (``bench_memory.cli_peak``: the child's ``VmHWM``, wall and CPU seconds;
  its progress lines go to ``benchmarks/out/memory_runs_infer_PID_K.log``). The film
  (:func:`long_film`): 600 s of 1280 x 720 30 fps H.264 + AAC made with ffmpeg from six
  kinds of picture with grain and a speech-like sound (120 s of distinct scenes, repeated
  by stream copy), or ``--film PATH``. ``--parallel N`` runs N at a time (each a process of
  its own: its peak is its own; on a loaded machine it is what lets 10 runs of a 600 s
  film finish).
- ``viewer``: SPEC 8's figure, ``bench_viewer``'s memory walk (the window offscreen with
  the three demo heads, as avsol-viewer computes their maps: in a map process; the one-hour
  1080p30 file opened, its sound track and the models loaded, 12 seeks, 3 x 2 s of
  playback) in a fresh child that first bounds the heap as avsol-viewer's main does, one at
  a time beside the infer runs. The figure is the viewer's ``VmHWM`` plus that of each
  process it started (sampled every 0.25 s), against 1.5 GB.

Run with ``python -m benchmarks.run memory_runs`` (defaults) or
``python -m benchmarks.bench_memory_runs [--runs N] [--film PATH] [--only infer|viewer]
[--parallel N] [--backend B] [--record RUNS.jsonl] [--json OUT]``; ``--from-record
RUNS.jsonl`` summarizes the runs of several such commands that recorded to one file.
Figures in ``benchmarks/README.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
RUNS = 10
#: the long film's length, s
FILM_S = 600
#: ... made of this many seconds of distinct scenes, repeated
SCENES_S = 120
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


#: the long film's six scenes, in order: (name, lavfi video source or None for the demo clip).
#: Each is a different kind of picture (synthetic pattern, fractal zoom, cellular automata,
#: a real clip scaled up, moving gradients), all with temporal grain so that no scene
#: compresses to nearly nothing, as a real film's scenes don't.
SCENES = (
    ("testsrc2", "testsrc2=s=1280x720:r=30"),
    ("mandelbrot", "mandelbrot=s=640x360:r=30:maxiter=256,scale=1280:720"),
    ("life", "life=s=1280x720:r=30:mold=10:ratio=0.25:life_color=#ff9040:death_color=#203060:mold_color=#4060a0"),
    ("demo", None),
    ("cellauto", "cellauto=s=1280x720:r=30:rule=110:random_fill_ratio=0.5"),
    ("gradients", "gradients=s=1280x720:r=30:speed=0.03:n=6"),
)


def _sound(seconds: float) -> str:
    """The film's sound (a filter graph ending in ``[a]``): pink noise band-passed to the
    voice's band and opened and closed at a syllable's rate (speech-like), mixed with tones
    that change pitch every second."""
    return (f"anoisesrc=d={seconds}:color=pink:sample_rate=48000:amplitude=0.4:seed=7,"
            "bandpass=f=900:width_type=h:w=1800,tremolo=f=4:d=0.9[speech];"
            f"aevalsrc='0.15*sin(2*PI*(220+55*mod(floor(t)\\,9))*t)':s=48000:d={seconds}[tones];"
            "[speech][tones]amix=inputs=2:normalize=0,aformat=channel_layouts=stereo[a]")


def long_film(seconds: int = FILM_S, unique_s: int = SCENES_S) -> Path:
    """A ``seconds``-long 1280 x 720 30 fps H.264 + AAC film: :func:`scenes` (``unique_s``
    seconds) repeated by stream copy (every frame is still decoded: the decoder's work per
    second is the scenes', only the encoding is saved). Made once in ``benchmarks/out``."""
    from benchmarks.bench_viewer import _repeat
    from model_core.atomic import atomic_path
    from model_core.media.probe import probe

    repeats = max(1, round(seconds / unique_s))
    short = scenes(unique_s)
    if repeats == 1:
        return short
    path = OUT / f"memory_runs_film_{repeats * unique_s}s.mp4"
    if _is_film(path, repeats * unique_s):
        return path
    with atomic_path(path) as tmp:
        _repeat(short, tmp, repeats)
    if probe(path).frame_count != repeats * probe(short).frame_count:
        raise RuntimeError(f"bench_memory_runs: {path.name} does not hold {repeats} copies of {short.name}")
    return path


def _is_film(path: Path, seconds: float) -> bool:
    from model_core.media.probe import probe

    if not path.exists():
        return False
    try:
        info = probe(path)
        return info.duration > seconds - 1 and (info.width, info.height) == (1280, 720) and info.has_audio
    except Exception:  # noqa: BLE001 - a broken cache file is rewritten
        return False


def scenes(seconds: int = SCENES_S) -> Path:
    """A ``seconds``-long 1280 x 720 30 fps H.264 + AAC film made with ffmpeg from varied
    sources (:data:`SCENES`, ``seconds / 6`` each, the demo clip among them scaled up),
    encoded as a downloaded film is (x264 ``veryfast``, CRF 23 capped at 4 Mbit/s, AAC
    128 kbit/s 48 kHz stereo); made once in ``benchmarks/out``. Not a real film (none is
    available offline): a stand-in whose scenes, bit rate and sound vary like one's."""
    import shutil

    from model_core.atomic import atomic_path

    path = OUT / f"memory_runs_scenes_{seconds}s.mp4"
    if _is_film(path, seconds):
        return path
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RuntimeError("bench_memory_runs: the long film is made with the ffmpeg program, not found on PATH")
    OUT.mkdir(parents=True, exist_ok=True)
    part = seconds / len(SCENES)
    demo = ROOT / "resources" / "demo" / "demo.mp4"
    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y"]
    chains = []
    for k, (name, src) in enumerate(SCENES):
        if src is None:
            cmd += ["-stream_loop", "-1", "-t", f"{part:.3f}", "-i", str(demo)]
            src_chain = f"[{k}:v]scale=1280:720:flags=bicubic,fps=30,"
        else:
            cmd += ["-f", "lavfi", "-t", f"{part:.3f}", "-i", src]
            src_chain = f"[{k}:v]"
        # grain that changes every frame, and a slow hue drift: no scene is static
        chains.append(f"{src_chain}format=yuv420p,setsar=1,hue=h=t*{7 + 5 * k},"
                      f"noise=alls={6 + 2 * (k % 3)}:allf=t[v{k}]")
    graph = (";".join(chains) + ";" + "".join(f"[v{k}]" for k in range(len(SCENES)))
             + f"concat=n={len(SCENES)}:v=1:a=0[v];" + _sound(seconds))
    with atomic_path(path) as tmp:
        cmd += ["-filter_complex", graph, "-map", "[v]", "-map", "[a]",
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-maxrate", "4M", "-bufsize", "8M",
                "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-ar", "48000",
                "-movflags", "+faststart", "-f", "mp4", str(tmp)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"bench_memory_runs: ffmpeg could not make {path.name}: {r.stderr.strip()[-1000:]}")
    return path


def infer_peak(video: Path, ckpt: Path, backend: str = "torch", log: Path | None = None) -> dict:
    """One ``avsol infer`` of ``video`` in a fresh child, as a user runs it (every frame, the
    default options but ``--backend``): its peak, wall and CPU seconds."""
    from benchmarks.bench_memory import cli_peak

    out = OUT / f"memory_runs_{os.getpid()}_{threading.get_ident()}.npz"
    try:
        return cli_peak(["infer", str(video), "--checkpoint", str(ckpt), "--out", str(out), "--device", "cpu",
                         "--backend", backend], log=log)
    finally:
        out.unlink(missing_ok=True)


# SPEC 8's viewer figure in a child that first does what avsol-viewer's main does first
_VIEWER_CHILD = """
import json, os, sys
from model_core.allocator import bound_heap
bound_heap()
from benchmarks.bench_memory_runs import viewer_child
print(json.dumps(viewer_child(sys.argv[1], sys.argv[2:])), flush=True)
os._exit(0)  # skip the interpreter's teardown of Qt objects (the figures are out)
"""


def _status_kb(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` now (``/proc``'s parent links)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _rollup_kb(pid: int) -> dict[str, int]:
    """``pid``'s ``smaps_rollup`` in kB: ``Pss`` (a page shared with k processes counted
    1/k, whichever processes they are: on a shared machine, other users of the same
    libraries lower it) and ``Private`` (pages no other process maps); {} when unreadable."""
    out = {"Pss": 0, "Private": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                key = line.split(":", 1)[0]
                if key == "Pss":
                    out["Pss"] = int(line.split()[1])
                elif key in ("Private_Clean", "Private_Dirty"):
                    out["Private"] += int(line.split()[1])
    except OSError:
        return {}
    return out


class _TreeWatch(threading.Thread):
    """Samples this process's descendants (the viewer's map process) every ``every`` s:
    each one's ``VmHWM`` (a peak: sampling misses none of it but what grew in the last
    interval before it ended), and the largest sum over the whole tree of ``VmRSS`` (shared
    library pages counted in each process), of PSS, and of this process's ``VmRSS`` plus
    its descendants' private pages (what a lone viewer holds: the libraries the map
    process shares with the viewer counted once)."""

    def __init__(self, every: float = 0.25):
        super().__init__(name="tree-watch", daemon=True)
        self.every, self.halt = every, threading.Event()
        self.peaks_kb: dict[int, int] = {}
        self.tree_rss_kb = 0
        self.tree_pss_kb = 0
        self.own_rss_children_private_kb = 0

    def sample(self) -> None:
        me = os.getpid()
        own = _status_kb(me, "VmRSS") or 0
        total, pss, private = own, _rollup_kb(me).get("Pss", 0), 0
        for pid in _descendants(me):
            hwm = _status_kb(pid, "VmHWM")
            if hwm is not None:
                self.peaks_kb[pid] = max(hwm, self.peaks_kb.get(pid, 0))
            total += _status_kb(pid, "VmRSS") or 0
            roll = _rollup_kb(pid)
            pss += roll.get("Pss", 0)
            private += roll.get("Private", 0)
        self.tree_rss_kb = max(self.tree_rss_kb, total)
        self.tree_pss_kb = max(self.tree_pss_kb, pss)
        self.own_rss_children_private_kb = max(self.own_rss_children_private_kb, own + private)

    def run(self) -> None:
        while not self.halt.wait(self.every):
            self.sample()


def viewer_child(file: str, checkpoints: list[str]) -> dict:
    """SPEC 8's walk (``bench_viewer.child_memory``: the window offscreen with the heads,
    sound track and models loaded, 12 seeks, 3 x 2 s of playback) in this process, with the
    peaks of the processes it starts (the map process): ``peak_rss_mb`` is the viewer's
    ``VmHWM`` plus each child's, what the viewer holds at most (an upper bound: the
    peaks need not coincide and shared library pages count in each; the sampled PSS sum
    counts those once)."""
    from benchmarks.bench_viewer import child_memory

    t0 = time.perf_counter()
    watch = _TreeWatch()
    watch.start()
    fig = child_memory(file, checkpoints)
    watch.sample()
    watch.halt.set()
    own = fig["peak_rss_mb"]
    kids = [round(kb / 1024, 1) for kb in watch.peaks_kb.values() if kb > 0]
    return {"peak_rss_mb": round(own + sum(kids), 1), "viewer_mb": own, "children_mb": kids,
            "tree_rss_sampled_max_mb": round(watch.tree_rss_kb / 1024, 1),
            "tree_pss_sampled_max_mb": round(watch.tree_pss_kb / 1024, 1),
            "rss_plus_children_private_sampled_max_mb": round(watch.own_rss_children_private_kb / 1024, 1),
            "stages_mb": fig["vm_hwm_mb"],
            "wall_s": round(time.perf_counter() - t0, 1)}


def viewer_peak(hour: Path, checkpoints: list[str]) -> dict:
    from benchmarks.bench_viewer import _env

    r = subprocess.run([sys.executable, "-c", _VIEWER_CHILD, str(hour), *checkpoints],
                       cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=3600)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"viewer child on {hour.name} failed ({r.returncode}): {r.stderr[-2000:]}")
    return json.loads(lines[-1])


def summary(peaks: list[float], limit_mb: float) -> dict:
    """min / median / max of the runs' peaks and whether every run stayed under ``limit_mb``."""
    return {"runs": len(peaks), "peaks_mb": peaks, "min_mb": min(peaks), "median_mb": statistics.median(peaks),
            "max_mb": max(peaks), "limit_mb": limit_mb, "every_run_under_limit": max(peaks) < limit_mb}


def run(runs: int = RUNS, film_path: str | None = None, only: str | None = None, parallel: int = 1,
        backend: str = "torch", seconds: int = FILM_S, record: str | None = None) -> dict:
    """``runs`` runs of each kind; ``parallel`` infer runs at a time (each its own process: a
    run's peak is its own whatever runs beside it), the viewer's runs one at a time beside
    them. Every run is printed (and appended to ``record``, JSON lines) as it ends, so a
    session stopped early keeps the runs done."""
    from concurrent.futures import ThreadPoolExecutor

    from benchmarks.bench_memory import _checkpoint
    from benchmarks.bench_viewer import _heads, load, make_hour_file
    from model_core.media.probe import probe

    kinds = [only] if only else ["infer", "viewer"]
    video = Path(film_path) if film_path else long_film(seconds)
    ckpt = _checkpoint()
    hour = make_hour_file()[0] if "viewer" in kinds else None
    heads, ckpts = _heads()
    fig: dict = {"infer_command": f"avsol infer {video.name} --checkpoint {ckpt.relative_to(ROOT)} --out MAPS.npz "
                                  f"--device cpu --backend {backend}", "parallel": parallel, "load_before": load()}
    if "infer" in kinds:
        info = probe(video)
        fig["film"] = {"file": video.name, "duration_s": round(info.duration, 1), "frames": info.frame_count,
                       "size": [info.width, info.height], "fps": info.fps}
    if hour is not None:
        info = probe(hour)
        fig["viewer_file"] = {"file": hour.name, "duration_s": round(info.duration, 1),
                              "size": [info.width, info.height], "heads": heads}
    done: dict = {k: [] for k in kinds}
    lock = threading.Lock()

    def one(kind: str, k: int) -> None:
        log = OUT / f"memory_runs_{kind}_{os.getpid()}_{k}.log"   # commands side by side: one log each
        got = infer_peak(video, ckpt, backend, log) if kind == "infer" else viewer_peak(hour, ckpts)
        got.update(kind=kind, run=k, load=load(), ended=time.strftime("%H:%M:%S", time.gmtime()), **({"backend": backend} if kind == "infer" else {}))
        with lock:
            done[kind].append(got)
            print(json.dumps(got), file=sys.stderr, flush=True)
            if record:
                with open(record, "a") as fh:
                    fh.write(json.dumps(got) + "\n")

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = [pool.submit(one, "infer", k) for k in range(runs)] if "infer" in kinds else []
        if "viewer" in kinds:
            for k in range(runs):
                one("viewer", k)
        for f in futures:
            f.result()
    for kind in kinds:
        runs_done = sorted(done[kind], key=lambda r: r["run"])
        fig[kind] = summary([r["peak_rss_mb"] for r in runs_done], LIMITS_MB[kind])
        fig[kind]["wall_s"] = [r["wall_s"] for r in runs_done]
        fig[kind]["wall_s_median"] = statistics.median(fig[kind]["wall_s"])
        if all("cpu_s" in r for r in runs_done):
            fig[kind]["cpu_s"] = [r["cpu_s"] for r in runs_done]
    fig["load_after"] = load()
    return fig


def from_record(record: str) -> dict:
    """The summary of every run appended to ``record`` (several ``--record`` runs of this
    benchmark side by side, each in a session of its own, write to one file): per kind and
    backend, the runs in the order they ended."""
    rows = [json.loads(ln) for ln in Path(record).read_text().splitlines() if ln.strip()]
    fig: dict = {}
    for row in rows:
        name = row["kind"] if row["kind"] == "viewer" else f"infer_{row.get('backend', 'torch')}"
        fig.setdefault(name, []).append(row)
    out = {}
    for name, got in fig.items():
        out[name] = summary([r["peak_rss_mb"] for r in got], LIMITS_MB[got[0]["kind"]])
        out[name]["wall_s"] = [r["wall_s"] for r in got]
        out[name]["wall_s_median"] = statistics.median(out[name]["wall_s"])
        if all("cpu_s" in r for r in got):
            out[name]["cpu_s"] = [r["cpu_s"] for r in got]
        out[name]["load"] = [r["load"] for r in got]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_memory_runs", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=RUNS)
    p.add_argument("--film", default=None, help="measure avsol infer on this file instead of the long film")
    p.add_argument("--seconds", type=int, default=FILM_S, help="the long film's length (made once)")
    p.add_argument("--only", choices=("infer", "viewer"), default=None)
    p.add_argument("--parallel", type=int, default=1, metavar="N", help="infer runs at a time (default 1)")
    p.add_argument("--backend", default="torch", help="avsol infer's --backend (default torch)")
    p.add_argument("--record", default=None, metavar="RUNS.jsonl", help="append every run here as it ends")
    p.add_argument("--json", default=None, metavar="OUT")
    p.add_argument("--from-record", default=None, metavar="RUNS.jsonl",
                   help="run nothing: summarize the runs a --record file holds")
    a = p.parse_args(argv)
    if a.from_record:
        print(json.dumps(from_record(a.from_record), indent=1))
        return 0
    fig = run(a.runs, a.film, a.only, a.parallel, a.backend, a.seconds, a.record)
    print(json.dumps(fig, indent=1))
    if a.json:
        from model_core.atomic import write_json

        write_json(a.json, fig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
