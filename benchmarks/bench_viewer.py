"""Viewer figures (SPEC 8): playback, start-up, memory with an hour-long 1080p file.

Run with ``python -m benchmarks.run viewer`` or alone with ``python -m benchmarks.bench_viewer``
(``AVSOL_BENCH_VIEWER_SECONDS`` sets the playback length, default 20). Every measurement
runs the real viewer in a child process on Qt's offscreen platform (software rendering,
as on a machine without a GPU), with the wall clock (no audio device here):

- ``playback``: the 720p30 file of ``bench_decode`` (60 s, panning texture), the window at
  1600 x 960 showing the plain frame and three heads side by side with contour and peak,
  and the spectrogram with its playhead, played for ~20 s from 5 s in. Counted: frames
  due (the source frames whose time the clock passed), distinct frames displayed, and
  ``displayed_fraction`` = displayed / due (target >= 0.98; the rest were dropped, never
  queued); ``maps_per_frame`` = maps computed per head while playing / frames displayed
  (the goal: 1, a map for every frame; fewer when the playing stride had to grow because
  the engine could not keep up) and ``backend`` (what computed them: the viewer's default
  ``--backend`` / ``--precision``, or ``AVSOL_BENCH_BACKEND`` / ``AVSOL_BENCH_PRECISION``).
  ``playback_no_heads`` plays the same without heads first: the ceiling of the
  display path on the machine at that moment. The heads are the demo checkpoints ``resources/models/{avc,cls,dnm}.pt`` when
  present, else a fake map source (maps cost nothing: the display path alone); when the
  three untrained full-size checkpoints of ``bench_eval`` exist in ``benchmarks/out/``,
  a second run uses them (inference competing with the display for the 2 cores).
- ``paintcost`` (alone only): the GUI thread's CPU per frame shown with the heads (the
  frame and maps set, then the panel painted at once; thread CPU, steadier than wall time
  on a shared machine). ``mapcost`` (alone only): the map worker's CPU per second of video
  at stride 1, with its own decode and with the display decoder's handed frames. Both live in
  ``benchmarks/viewer_costs.py``.
- ``startup``: ``avsol-viewer FILE`` with ``$AVSOL_VIEWER_STARTUP_PROBE``: the app writes
  the wall time of the window's first paint (and whether torch was imported by then) and
  quits; the figure is that time minus the time just before the process was started,
  median of 5 (target 1.5 s), bytecode cached (the first, compiling run is reported
  apart as ``first_run_s``); ``imported_by_first_paint`` lists the runtimes (and pyqtgraph's
  CUDA interop) loaded by then, which must stay empty.
  Alone: ``python -m benchmarks.bench_viewer startup FILE [RUNS]``.
- ``memory``: a one-hour 1080p30 H.264 file with a mono AAC track (made once in
  ``benchmarks/out/``: 64 s encoded at crf 35 / ultrafast, a slowly moving picture, then
  its packets repeated by stream copy to 3648 s), opened in the viewer with the same
  heads; after the sound track and spectrogram are loaded, 12 seeks across the hour and
  2 s of playback at three places; the viewer's peak resident memory is
  ``VmHWM`` of ``/proc/self/status`` (target < 1.5 GB).

Each figure carries the 1-, 5- and 15-minute load averages read before and after it.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
HOUR_FILE = OUT / "viewer_1080p30_1h.mp4"
DEMO_MODELS = ROOT / "resources" / "models"
FULL_MODELS = [OUT / f"eval_full_7x7_{h}.pt" for h in ("avc", "cls", "dnm")]
HEADS = ("avc", "cls", "dnm")
SEGMENT_S = 64          # 64 s x 16 kHz = 1000 AAC frames of 1024 samples: segments tile exactly
HOUR_REPEATS = 57       # 57 x 64 s = 3648 s


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _rss(field: str) -> int:
    """A memory figure of /proc/self/status in bytes (VmHWM = peak resident set)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return -1


# -- inputs --------------------------------------------------------------------------------
def make_hour_file(path: Path = HOUR_FILE) -> tuple[Path, float]:
    """The one-hour 1080p file (once; reused while it probes as expected): (path, seconds spent)."""
    from model_core.media.probe import probe

    if path.exists():
        try:
            info = probe(path)
            if info.duration >= 3600 and (info.width, info.height) == (1920, 1080) and info.has_audio:
                return path, 0.0
        except Exception:  # noqa: BLE001 - a broken cache file is rewritten
            pass
    import numpy as np

    from model_core.atomic import atomic_path
    from model_core.media.writer import write_video

    t0 = time.perf_counter()
    w, h, fps = 1920, 1080, 30
    base = np.empty((h, w, 3), np.uint8)
    base[...] = np.linspace(40, 200, w, dtype=np.uint8)[None, :, None]
    base[..., 2] = np.linspace(60, 180, h, dtype=np.uint8)[:, None]

    def frames():
        for i in range(SEGMENT_S * fps):
            img = base.copy()
            x = 200 + int(1400 * (i / (SEGMENT_S * fps)))
            img[500:620, x:x + 120] = (220, 40, 30)
            yield img

    sr = 16000
    t = np.arange(SEGMENT_S * sr) / sr
    audio = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    segment = OUT / "viewer_1080p30_segment.mp4"
    write_video(segment, frames(), fps, audio=audio, sample_rate=sr, size=(w, h), crf=35, preset="ultrafast")
    with atomic_path(path) as tmp:
        _repeat(segment, tmp, HOUR_REPEATS)
    segment.unlink()
    return path, round(time.perf_counter() - t0, 1)


def _repeat(src: Path, dst: Path, times: int) -> None:
    """``src``'s packets ``times`` over, timestamps shifted by each stream's span (stream
    copy, interleaved by time)."""
    import av

    with av.open(str(src)) as inp:
        packets = [p for p in inp.demux() if p.dts is not None]
        spans = {}
        for s in inp.streams:
            own = [p for p in packets if p.stream.index == s.index]
            spans[s.index] = max(p.pts + (p.duration or 0) for p in own) - min(p.pts for p in own)
        packets.sort(key=lambda p: float(p.dts * p.time_base))
        with av.open(str(dst), mode="w", format="mp4") as out:
            outs = {s.index: out.add_stream_from_template(s) for s in inp.streams}
            for k in range(times):
                for p in packets:
                    idx = p.stream.index
                    q = av.Packet(bytes(p))
                    q.pts, q.dts, q.duration = p.pts + k * spans[idx], p.dts + k * spans[idx], p.duration
                    q.is_keyframe = p.is_keyframe
                    q.time_base = p.time_base
                    q.stream = outs[idx]
                    out.mux(q)


def _heads() -> tuple[str, list[str]]:
    """(what the heads are, checkpoint arguments for the child)."""
    demo = [DEMO_MODELS / f"{h}.pt" for h in HEADS]
    if all(p.is_file() for p in demo):
        return "demo checkpoints (resources/models)", [str(p) for p in demo]
    return "fake map source (no resources/models/*.pt)", ["fake"]


# -- the child: the real viewer, offscreen ---------------------------------------------------
class _FakeHead:
    """A map source without a model: a blob that follows the frame's brightest column."""

    # the rest of the model protocol (model_core.models.protocol.MapModel): a DNM-like head
    family, map_kind, tau, audio_window_s, sample_rate = "dnm", "sigmoid", None, 1.0, 16000
    fingerprint, log_mel_input = None, False
    backend_used, precision = "none (fake)", "fp32"

    def __init__(self, name: str):
        self.name = self.head = name
        self.classes, self.device, self.map_size, self.image_size = ["a", "b"], "cpu", 7, 224

    def crop(self, width, height):
        return (0.0, 0.0, float(width), float(height))

    def warmup(self, batch=None):
        pass

    def embed_audio(self, windows):
        import torch

        return torch.zeros((len(windows), 2))

    def predict_audios(self, frames, embs, audio_index=None):
        return [self.predict(frames, e, audio_index) for e in embs]

    def predict(self, frames, emb, audio_index=None):
        from types import SimpleNamespace

        import numpy as np

        frames = np.asarray(frames)
        cols = frames.mean(axis=(1, 3)).reshape(len(frames), 7, -1).mean(axis=2).argmax(axis=1)
        yy, xx = np.mgrid[0:7, 0:7]
        maps = np.stack([np.exp(-((xx - c) ** 2 + (yy - 3) ** 2) / 3.0) for c in cols]).astype(np.float32)
        return SimpleNamespace(maps=maps, p_avc=maps.max(axis=(1, 2)), class_probs=np.full((len(maps), 2), 0.5, np.float32))


def _child_window(file: str, checkpoints: list[str]):
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from avsol_viewer.controller import ViewerController, wall_clock
    from avsol_viewer.main_window import MainWindow
    from avsol_viewer.settings import ViewerSettings

    fake = checkpoints == ["fake"]
    checkpoints = [] if checkpoints == ["none"] else checkpoints
    import functools

    from model_core.inference.backends import DEFAULT_BACKEND, DEFAULT_PRECISION
    from model_core.inference.engine import default_localizer

    # the models as avsol-viewer loads them (its --backend / --precision defaults), unless
    # AVSOL_BENCH_BACKEND / AVSOL_BENCH_PRECISION name others (A/B runs)
    real = functools.partial(default_localizer, backend=os.environ.get("AVSOL_BENCH_BACKEND", DEFAULT_BACKEND),
                             precision=os.environ.get("AVSOL_BENCH_PRECISION", DEFAULT_PRECISION))
    factory = (lambda p: _FakeHead(Path(p).stem)) if fake else real
    # where avsol-viewer's window computes the maps: the map worker's thread, or with
    # AVSOL_MAP_PROCESS=1 a child process (the fake heads cannot be sent to one: the thread)
    from avsol_viewer.maps.map_worker import PROCESS_REQUESTED

    c = ViewerController(localizer_factory=factory, clock_factory=wall_clock, map_process=PROCESS_REQUESTED)
    settings = ViewerSettings(Path(tempfile.mkdtemp()) / "settings.ini")
    win = MainWindow(settings, c)
    win.report_error = lambda title, text: print(f"error: {title}: {text}", file=sys.stderr)
    win.resize(1600, 960)
    win.show()
    from dataclasses import replace

    win.set_options(replace(win.display.options, layout="side_by_side", contour=True, peak=True))
    assert win.open_path(file), f"cannot open {file}"
    heads = [f"/fake/{h}.pt" for h in HEADS] if fake else checkpoints
    for ckpt in heads:
        win.load_checkpoint(ckpt)
    return app, win, c, len(heads)


def _time_paints() -> dict:
    """Record how long each pyqtgraph view's paint takes, per view class (the GUI thread's
    main cost while playing): {class name: [seconds, ...]}."""
    import pyqtgraph as pg

    paints: dict[str, list[float]] = {}
    original = pg.GraphicsView.paintEvent

    def timed(self, ev):
        t = time.perf_counter()
        try:
            return original(self, ev)
        finally:
            paints.setdefault(type(self).__name__, []).append(time.perf_counter() - t)

    pg.GraphicsView.paintEvent = timed
    return paints


def _paint_figures(paints: dict) -> dict:
    out = {}
    for name, xs in paints.items():
        xs = sorted(xs)
        out[name] = {"count": len(xs), "median_ms": round(1000 * xs[len(xs) // 2], 2),
                     "p90_ms": round(1000 * xs[int(len(xs) * 0.9)], 2), "total_s": round(sum(xs), 2)}
    return out


def _proc_cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used so far (0 when it is gone)."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _proc_memory_mb(pid: int | None) -> dict | None:
    """Another process's memory in MB: ``vm_hwm`` (peak resident, counting the shared library
    pages the viewer maps too: torch's ~0.5 GB), and now ``pss`` (shared pages split between
    the processes mapping them) and ``private`` (its own pages: what it adds to the machine's
    use). None when it is gone."""
    if pid is None:
        return None
    out = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    out["vm_hwm"] = round(int(line.split()[1]) / 1024, 1)
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            fields = {ln.split(":")[0]: int(ln.split()[1]) for ln in fh if ln.split()[-1:] == ["kB"]}
        out["pss"] = round(fields.get("Pss", 0) / 1024, 1)
        out["private"] = round((fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return out or None


def _wait(pred, seconds: float) -> bool:
    from avsol_viewer.headless import wait_until

    return wait_until(pred, seconds)


def _pump(seconds: float) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def child_playback(file: str, checkpoints: list[str], seconds: float, start: float = 5.0) -> dict:
    paints = _time_paints()
    app, win, c, n_heads = _child_window(file, checkpoints)
    ready = _wait(lambda: c.track is not None and len(c.maps.models) == n_heads, 300)
    c.player.seek(start)
    maps_ready = _wait(lambda: c.maps.ready_at(c.player.index) and c.shown_index == c.player.index, 120)
    worker = c.maps.worker
    if worker.use_process and c.maps.models:  # the child process has the models: steady state
        _wait(lambda: worker.process is None or worker.process_ready or bool(c.maps.want(c.player.index)), 120)
    _pump(0.5)
    shown: list[int] = []
    ages: list[int] = []  # per frame shown: the oldest of the heads' drawn maps, in frames (-1: none)
    strides: list[int] = []  # per frame shown: the playing stride of the request before it

    def on_shown(i, img):
        shown.append(i)
        strides.append(min(c.maps.stride_policy.k, c.maps.longest_playing_stride()))
        got = [c.maps.entry(m.key, i, playing=True) for m in c.maps.models]
        ages.append(max((-1 if e is None else age) for e, age in got) if got else 0)
    c.frame_shown.connect(on_shown)
    counts0 = {m.key: c.maps.count(m.key) for m in c.maps.models}
    i0, dropped0 = c.player.index, c.dropped
    for xs in paints.values():
        xs.clear()
    child = worker.process.pid if worker.process is not None else None
    steps0 = (worker.process_steps, worker.thread_steps)
    child_cpu0 = _proc_cpu_s(child)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    c.player.play()
    _pump(seconds)
    c.player.pause()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    child_cpu = _proc_cpu_s(child) - child_cpu0
    child_memory = _proc_memory_mb(child)
    i1 = c.player.index
    due = i1 - i0
    displayed = len({i for i in shown if i0 < i <= i1})
    fps = c.session.timeline.fps
    maps = {m.name: c.maps.count(m.key) - counts0[m.key] for m in c.maps.models}
    in_time = [0 <= a < k for a, k in zip(ages, strides) if k > 0]
    locs = c.maps.worker.loaded_localizers()
    backends = {m.name: f"{locs[m.key].backend_used} {locs[m.key].precision}" for m in c.maps.models
                if m.key in locs}
    pace = c.maps.worker.pace.seconds_per_map
    read_pace = c.maps.worker.pace.read_seconds_per_frame
    win.close()
    return {"source_fps": round(fps, 3), "played_s": round(wall, 2), "frames_due": due,
            "frames_displayed": displayed, "displayed_fraction": round(displayed / max(due, 1), 4),
            "dropped_counted_by_viewer": c.dropped - dropped0,
            "displayed_fps": round(displayed / wall, 2),
            "maps_computed_per_s": {k: round(v / wall, 2) for k, v in maps.items()},
            "process_cpu_per_wall_s": round(cpu / wall, 2), "paints": _paint_figures(paints),
            "ready_before_play": bool(ready and maps_ready), "vm_hwm_mb": round(_rss("VmHWM") / 2**20, 1),
            # maps per displayed frame (the goal: 1, a map for every frame shown), per head:
            # maps added to the cache while playing / distinct frames displayed
            "maps_per_frame": {k: round(v / max(displayed, 1), 3) for k, v in maps.items()},
            "backend": backends, "seconds_per_map_end": None if pace is None else round(pace, 4),
            "read_seconds_per_frame_end": round(read_pace, 4),
            # while playing, maps are asked for every `stride`-th frame (1 while the engine
            # keeps up, MapService's PlayingStride; 0: no maps while playing, the engine too
            # slow even at the longest stride); a frame is "in time" when each head's drawn
            # map is its own grid map (age < the stride then), i.e. that map was ready before
            # the playhead reached the frame (frames shown at stride 0 are not counted)
            "map_stride_frames": {str(k): strides.count(k) for k in sorted(set(strides))},
            "maps_in_time_fraction": round(sum(in_time) / len(in_time), 4) if c.maps.models and in_time else None,
            # frames shown with every head's map of that very frame (age 0): a map for every
            # frame, whether computed while playing or before (the 4 s filled while paused)
            "own_map_fraction": round(sum(a == 0 for a in ages) / len(ages), 4) if c.maps.models and ages else None,
            "map_age_frames_max": max(ages, default=0) if c.maps.models else None,
            # where the maps were computed while playing: the child process (its CPU seconds
            # per second and peak resident come on top of the viewer's) or the worker's thread
            "map_process": {"pid": child, "steps_in_process": worker.process_steps - steps0[0],
                            "steps_in_thread": worker.thread_steps - steps0[1],
                            "cpu_per_wall_s": round(child_cpu / wall, 2) if child else None,
                            "memory_mb": child_memory, "failure": worker.process_failure}}


def seek_at_random(c, seeks: int = 12) -> float:
    """``seeks`` seeks to random times (seeded: every run the same), each until its frame
    is shown plus 0.3 s of events; returns the video's duration. The memory figures'
    common first load after opening."""
    import random

    duration = c.session.timeline.duration
    rng = random.Random(0)
    for t in [rng.uniform(0, duration) for _ in range(seeks)]:
        c.player.seek(t)
        _wait(lambda: c.shown_index == c.player.index, 30)
        _pump(0.3)
    return duration


def child_memory(file: str, checkpoints: list[str]) -> dict:
    stages = {}
    app, win, c, _ = _child_window(file, checkpoints)
    stages["opened"] = _rss("VmHWM")
    track = _wait(lambda: c.track is not None and not c.maps.loading, 600)
    stages["track_and_models_loaded"] = _rss("VmHWM")
    duration = seek_at_random(c)
    stages["after_12_seeks"] = _rss("VmHWM")
    for t in (duration * 0.1, duration * 0.5, duration * 0.9):
        c.player.seek(t)
        _wait(lambda: c.shown_index == c.player.index, 30)
        c.player.play()
        _pump(2.0)
        c.player.pause()
    stages["after_playback"] = _rss("VmHWM")
    rss_now = _rss("VmRSS")
    # the maps' child process (as avsol-viewer's window): its memory comes on top of the
    # viewer's VmHWM above, which counts the viewer process alone
    proc = c.maps.worker.process
    child = _proc_memory_mb(proc.pid) if proc is not None else None
    win.close()
    return {"duration_s": round(duration, 1), "track_loaded": bool(track), "map_process_memory_mb": child,
            "vm_hwm_mb": {k: round(v / 2**20, 1) for k, v in stages.items()},
            "peak_rss_mb": round(stages["after_playback"] / 2**20, 1), "rss_at_end_mb": round(rss_now / 2**20, 1)}


# -- the parent: run children, collect figures ---------------------------------------------
def _env() -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    env["AVSOL_VIEWER_SETTINGS"] = str(Path(tempfile.mkdtemp()) / "settings.ini")
    return env


def _child(*args: str, timeout: float = 900) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.bench_viewer", *args]
    r = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(args[:1])} child failed ({r.returncode}): {r.stderr[-2000:]}")
    return json.loads(lines[-1])


def startup(file: Path, runs: int = 5) -> dict:
    """Start-up to first paint, with Python's bytecode cached as after any first start.

    The children write their bytecode to a fresh folder of their own
    (``PYTHONPYCACHEPREFIX``, ``PYTHONDONTWRITEBYTECODE`` dropped): one first run compiles
    every module it imports (reported as ``first_run_s``, a start right after an install
    without bytecode), the ``runs`` timed runs then load it. Without this the figure
    depended on the shell and the tree's history: with ``PYTHONDONTWRITEBYTECODE=1`` (set
    in the sessions here) every module edited since its ``__pycache__`` was written was
    compiled again on every start, 0.45 s of CPU late in a day of edits (benchmarks/README.md,
    start-up after issue 29).
    """
    exe = Path(sys.executable).with_name("avsol-viewer")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "avsol_viewer.app"]
    pycache = tempfile.mkdtemp(prefix="avsol-bench-pycache-")
    times, torch_flags, heavy = [], [], set()
    for _ in range(runs + 1):
        probe = Path(tempfile.mkdtemp()) / "probe.txt"
        env = _env()
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(AVSOL_VIEWER_STARTUP_PROBE=str(probe), PYTHONPYCACHEPREFIX=pycache)
        t0 = time.time()
        subprocess.run([*cmd, str(file)], cwd=ROOT, env=env, capture_output=True, timeout=120)
        first, *rest = probe.read_text().splitlines()
        stamp, torch_loaded = first.split()
        times.append(float(stamp) - t0)
        torch_flags.append(torch_loaded == "1")
        heavy.update(m for m in (rest[0].split() if rest else []) if m != "-")
    shutil.rmtree(pycache, ignore_errors=True)
    first_run, times = times[0], times[1:]
    return {"command": " ".join([Path(cmd[0]).name, *cmd[1:], file.name]), "runs_s": [round(x, 3) for x in times],
            "median_s": round(statistics.median(times), 3), "target_s": 1.5,
            "bytecode": "cached (PYTHONPYCACHEPREFIX, after one first run)", "first_run_s": round(first_run, 3),
            "torch_imported_by_first_paint": any(torch_flags),
            "imported_by_first_paint": sorted(heavy)}


def run() -> dict:
    from benchmarks.bench_decode import make_test_video

    seconds = float(os.environ.get("AVSOL_BENCH_VIEWER_SECONDS", "20"))
    OUT.mkdir(parents=True, exist_ok=True)
    file = make_test_video()
    heads, ckpts = _heads()
    fig: dict = {"file_720p": str(file.relative_to(ROOT)), "heads": heads}
    la = load()
    fig["playback_no_heads"] = _child("playback", str(file), str(seconds), "none")
    fig["playback_no_heads"].update(heads="none (the plain frame and the spectrogram: the display's ceiling)",
                                    load_before=la, load_after=load())
    la = load()
    fig["playback"] = _child("playback", str(file), str(seconds), *ckpts)
    fig["playback"].update(heads=heads, target_fraction=0.98, load_before=la, load_after=load())
    if all(p.is_file() for p in FULL_MODELS) and ckpts == ["fake"]:
        la = load()
        fig["playback_full_untrained_models"] = _child("playback", str(file), str(seconds), *map(str, FULL_MODELS))
        fig["playback_full_untrained_models"].update(heads="bench_eval's untrained full-size checkpoints (7 x 7 map)",
                                                      load_before=la, load_after=load())
    la = load()
    fig["startup"] = startup(file)
    fig["startup"].update(load_before=la, load_after=load())
    hour, made_s = make_hour_file()
    la = load()
    fig["memory"] = _child("memory", str(hour), *ckpts)
    fig["memory"].update(file=str(hour.relative_to(ROOT)), generated_s=made_s, heads=heads, target_mb=1536,
                         load_before=la, load_after=load())
    return fig


def main(argv: list[str]) -> int:
    if argv and argv[0] == "playback":
        print(json.dumps(child_playback(argv[1], argv[3:], float(argv[2]))), flush=True)
    elif argv and argv[0] == "startup":  # startup FILE [RUNS]: only the start-up figure
        print(json.dumps(startup(Path(argv[1]), int(argv[2]) if len(argv) > 2 else 5)), flush=True)
    elif argv and argv[0] == "mapcost":  # mapcost FILE [FRAMES [BATCH ...]]
        from benchmarks.viewer_costs import map_cost

        batches = tuple(int(b) for b in argv[3:]) or (4, 8)
        print(json.dumps(map_cost(argv[1], int(argv[2]) if len(argv) > 2 else 120, batches)), flush=True)
    elif argv and argv[0] == "paintcost":  # paintcost FILE CKPTS...
        from benchmarks.viewer_costs import child_paintcost

        print(json.dumps(child_paintcost(argv[1], argv[2:])), flush=True)
    elif argv and argv[0] == "memory":
        print(json.dumps(child_memory(argv[1], argv[2:])), flush=True)
    else:
        print(json.dumps(run(), indent=1))
    os._exit(0)  # skip interpreter teardown of Qt objects (the figures are out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
