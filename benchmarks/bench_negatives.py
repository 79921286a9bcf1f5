"""``avsol eval --negatives`` against a plain ``avsol eval`` (SPEC 5, 8; target < 1.5x).

Run alone with ``python -m benchmarks.bench_negatives [--videos N] [--model M]`` or through
``python -m benchmarks.run negatives``; ``AVSOL_BENCH_NEG_VIDEOS=N`` sets the size there
(default 10 videos x 10 segments of ``avsol synth``, 224 x 224, the set ``bench_eval``
generates and reuses). Three untrained heads of the preset (default ``full_7x7``: ResNet-18
trunks, 7 x 7 map), 2 torch threads, one process. Per video, interleaved (a burst of load
from elsewhere hits both alike): the per-video work of ``run_eval`` (``evaluate_video`` for
the three heads), plain and with ``--negatives`` (silence, noise at the window's RMS, one
off-screen draw; the run-wide embedding cache of ``run_eval``).

Figures: ``plain_s``, ``negatives_s`` (wall seconds), ``ratio`` = negatives / plain (target
< 1.5: the visual trunk runs once per frame for the four audios, and a negative costs the
audio trunk and the map read only), the same in process CPU seconds (``cpu_ratio``), and
``visual_calls_per_frame`` (1.0: the visual features are shared).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEOS = 10


def run(n_videos: int | None = None, model: str | None = None) -> dict:
    import torch

    from benchmarks.bench_eval import BATCH, THREADS, checkpoints, synth_set
    from model_core.evaluation import evaluate_video, load_eval_set
    from model_core.evaluation.negatives import NegativeOptions, OffscreenPicker
    from model_core.evaluation.runner import RUN_EMBEDDINGS
    from model_core.inference import Localizer
    from model_core.inference.engine import EmbeddingCache

    t_all = time.perf_counter()
    n_videos = n_videos or int(os.environ.get("AVSOL_BENCH_NEG_VIDEOS", DEFAULT_VIDEOS))
    model = model or os.environ.get("AVSOL_BENCH_EVAL_MODEL", "full_7x7")
    torch.set_num_threads(THREADS)
    root, limit, synth_s = synth_set(n_videos)
    evalset = load_eval_set(root)
    videos = list(evalset.videos[:limit] if limit else evalset.videos)[:n_videos]
    locs = [Localizer(p, device="cpu", batch_size=BATCH) for p in checkpoints(model, list(evalset.classes))]
    visual_frames = [0]
    for loc in locs:
        loc.warmup()
        real = loc.model.visual
        loc.model.visual = (lambda real: lambda x: (visual_frames.__setitem__(0, visual_frames[0] + len(x)),
                                                    real(x))[1])(real)
    picker = OffscreenPicker(evalset.videos, 0, evalset.annotations)
    picker.check(videos)
    neg = (NegativeOptions(), picker, EmbeddingCache(RUN_EMBEDDINGS))
    wall = {"plain": 0.0, "negatives": 0.0}
    cpu = {"plain": 0.0, "negatives": 0.0}
    frames = {"plain": 0, "negatives": 0}
    for v in videos:
        for key, arg in (("plain", None), ("negatives", neg)):
            visual_frames[0] = 0
            w, c = time.perf_counter(), time.process_time()
            rows = evaluate_video(locs, v, None, None, None, arg)
            wall[key] += time.perf_counter() - w
            cpu[key] += time.process_time() - c
            frames[key] += visual_frames[0]
            assert rows and all(r.status == "scored" for r in rows), "a video failed"
    n_items = sum(len(v.segments) for v in videos)
    fig = {"videos": len(videos), "items": n_items, "heads": len(locs), "model": model, "threads": THREADS,
           "batch": BATCH, "set": str(root.relative_to(ROOT)), "synth_s": round(synth_s, 1),
           "plain_s": round(wall["plain"], 2), "negatives_s": round(wall["negatives"], 2),
           "ratio": round(wall["negatives"] / wall["plain"], 3),
           "cpu_ratio": round(cpu["negatives"] / cpu["plain"], 3),
           "visual_calls_per_frame": round(frames["negatives"] / max(1, frames["plain"]), 3),
           "wall_s": round(time.perf_counter() - t_all, 1)}
    return fig


if __name__ == "__main__":
    import argparse

    sys.path.insert(0, str(ROOT))
    ap = argparse.ArgumentParser(description="avsol eval --negatives vs plain (SPEC 5, 8)")
    ap.add_argument("--videos", type=int, default=None, help=f"number of videos (default {DEFAULT_VIDEOS})")
    ap.add_argument("--model", default=None, help="model preset of bench_eval (default full_7x7)")
    a = ap.parse_args()
    print(json.dumps(run(a.videos, a.model), indent=1))
