"""Viewer memory against the file's length (issue 26 item 4): 10 s, 10 min and 1 h.

Run with ``python -m benchmarks.run viewer_memory`` or alone with
``python -m benchmarks.bench_viewer_memory [SECONDS ...]`` (default ``10 600 3600``).

The viewer used to hold a whole file's sound: its int16 samples, float32 log-mel and the
uint8 picture of it (the issue measured 0.86 GB for a 10 s file, 3.26 GB for 10 hours).
It now holds a log-mel overview of at most 4096 columns, exact columns of what is looked
at in a bounded tile cache, and streams playback from the file
(``avsol_viewer/playback/audio_loader.py``), so its peak memory should not depend on the
length. Each file is the same 64 s segment (320 x 180 at 10 fps, noise with tone bursts
for sound, AAC) repeated by stream copy (``bench_viewer._repeat``), so only the length
differs; made once in ``benchmarks/out/``. Each is measured in a fresh child process by
``bench_viewer.child_memory`` (the real window, offscreen, no heads: the figure is the
viewer's own): open, wait for the sound track, 12 seeks across the file, 2 s of playback
at three places; the figure is the peak resident set (``VmHWM``) at each stage. The
spectrogram is also zoomed in at the three places (exact columns from the file).

Figures (this machine, 2 cores shared, load 6-9; peak RSS after the whole walk; the 10-min
and 1-h files are 576 s and 3584 s of repeated 64 s segments), the same files and script,
before (the whole track held) and after (three runs; the last with the columns worker):

=======  ==========  =====================  ==========================  =====================
file     before      after: peak RSS        after: RSS at "track        track held after
                                            loaded"                     (before)
=======  ==========  =====================  ==========================  =====================
10 s     716 MB      716 / - / 716 MB       706 / - / 706 MB            0.3 MB (0.6 MB)
10 min   886 MB      766 / 774 / 767 MB     766 / 760 / 767 MB          4.9 MB (35 MB)
1 h      1012 MB     804 / 793 / 803 MB     779 / 759 / 763 MB          4.9 MB (219 MB)
=======  ==========  =====================  ==========================  =====================

Loading the sound of the hour took 36-44 s (72 s before). The sound's own memory no
longer grows (the track holds 4.9 MB at any length past ~41 s); what remains between 10 s
and an hour (30-50 MB, varying by run) is the bounded tile cache (16 MB), the playback
blocks and heap kept by the threads that computed log-mels.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
SEGMENT_S = 64      # 64 s x 16 kHz = 1000 AAC frames of 1024 samples: segments tile exactly
LENGTHS = (10, 600, 3600)


def make_file(seconds: int) -> tuple[Path, float]:
    """A ``seconds``-long file (a 10 s clip, else the 64 s segment repeated): (path, s spent)."""
    import numpy as np

    from model_core.atomic import atomic_path
    from model_core.media.probe import probe
    from model_core.media.writer import write_video

    path = OUT / f"viewer_memory_{seconds}s.mp4"
    if path.exists():
        try:
            if abs(probe(path).duration - seconds) < SEGMENT_S:
                return path, 0.0
        except Exception:  # noqa: BLE001 - a broken cache file is rewritten
            pass
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    w, h, fps, sr = 320, 180, 10, 16000
    length = seconds if seconds < SEGMENT_S else SEGMENT_S

    def frames():
        for i in range(length * fps):
            img = np.full((h, w, 3), 60, np.uint8)
            x = (i * 3) % (w - 40)
            img[70:110, x:x + 40] = (220, 40, 30)
            yield img

    rng = np.random.default_rng(0)
    t = np.arange(length * sr) / sr
    audio = (0.05 * rng.standard_normal(len(t)) + 0.3 * np.sin(2 * np.pi * 700 * t) * (t % 4 < 1)).astype(np.float32)
    segment = OUT / f"viewer_memory_segment_{length}s.mp4"
    write_video(segment, frames(), fps, audio=audio, sample_rate=sr, size=(w, h), crf=35, preset="ultrafast")
    if seconds < SEGMENT_S:
        segment.replace(path)
    else:
        from benchmarks.bench_viewer import _repeat

        with atomic_path(path) as tmp:
            _repeat(segment, tmp, seconds // SEGMENT_S)
        segment.unlink()
    return path, round(time.perf_counter() - t0, 1)


def child(file: str) -> dict:
    """The viewer's memory on ``file`` (runs in the child process): ``bench_viewer``'s
    memory walk, plus the spectrogram zoomed in to 20 s at each playback place."""
    from benchmarks.bench_viewer import _child_window, _pump, _rss, _wait, seek_at_random

    t0 = time.perf_counter()
    stages = {}
    app, win, c, _ = _child_window(file, ["none"])
    stages["opened"] = _rss("VmHWM")
    track = _wait(lambda: c.track is not None, 1800)
    stages["track_loaded"] = _rss("VmHWM")
    load_s = time.perf_counter() - t0
    duration = seek_at_random(c)
    stages["after_12_seeks"] = _rss("VmHWM")
    for t in (duration * 0.1, duration * 0.5, duration * 0.9):
        c.player.seek(t)
        _wait(lambda: c.shown_index == c.player.index, 30)
        win.spectrogram.setXRange(max(0.0, t - 10), t + 10, padding=0.0)
        _pump(0.2)
        c.player.play()
        _pump(2.0)
        c.player.pause()
    stages["after_zoom_and_playback"] = _rss("VmHWM")
    rss_now = _rss("VmRSS")
    track_bytes = c.track.nbytes if c.track is not None else None
    win.close()
    return {"duration_s": round(duration, 1), "track_loaded": bool(track), "track_load_s": round(load_s, 1),
            "vm_hwm_mb": {k: round(v / 2**20, 1) for k, v in stages.items()},
            "peak_rss_mb": round(stages["after_zoom_and_playback"] / 2**20, 1),
            "rss_at_end_mb": round(rss_now / 2**20, 1),
            "track_held_mb": None if track_bytes is None else round(track_bytes / 2**20, 2),
            "wall_s": round(time.perf_counter() - t0, 1)}


def run(lengths=LENGTHS) -> dict:
    import subprocess

    from benchmarks.bench_viewer import _env, load

    fig: dict = {"lengths_s": list(lengths)}
    for seconds in lengths:
        path, made = make_file(seconds)
        la = load()
        r = subprocess.run([sys.executable, "-m", "benchmarks.bench_viewer_memory", "child", str(path)],
                           cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=3600)
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
        if r.returncode != 0 or not lines:
            raise RuntimeError(f"child on {path.name} failed ({r.returncode}): {r.stderr[-2000:]}")
        one = json.loads(lines[-1])
        one.update(file=str(path.relative_to(ROOT)), generated_s=made, load_before=la, load_after=load())
        fig[f"{seconds}s"] = one
    peaks = [fig[f"{s}s"]["peak_rss_mb"] for s in lengths]
    fig["longest_over_shortest_peak"] = round(peaks[-1] / peaks[0], 3)
    return fig


def main(argv: list[str]) -> int:
    if argv and argv[0] == "child":
        print(json.dumps(child(argv[1])), flush=True)
        os._exit(0)  # skip interpreter teardown of Qt objects (the figures are out)
    lengths = tuple(int(a) for a in argv) or LENGTHS
    print(json.dumps(run(lengths), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
