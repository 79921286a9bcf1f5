"""Inference figures (SPEC 8): frames/s per batch, offline analysis against the trunk ceiling.

Run alone with ``python -m benchmarks.bench_inference [--quick]`` or through
``python -m benchmarks.run inference``. The machine is shared and noisy, so every figure is
the best of ``REPS`` runs, and variants are measured interleaved (round-robin), so a burst
of load from elsewhere hits them alike. For each model config (SPEC 3 full ResNet-18 at
7 x 7 and 14 x 14, and the demo preset):

- ``ceiling_fps[B]``: the bare visual trunk (``torch.inference_mode``, channels_last,
  2 threads, random float input), a sustained run of ``N`` frames in batches of ``B``;
- ``predict_fps[B]``: :meth:`Localizer.predict` on uint8 frames already at the model's
  size with a precomputed audio embedding (what a caller with decoded frames gets);
- ``analysis``: :meth:`Localizer.localize_video` over every frame of a 25 fps video
  (decode + resize + audio windows + log-mel + both trunks + map), at the best batch, with
  its ceiling at that batch and the ratio; ``decode_fps`` (``VideoReader.iter_frames`` at
  the model's size plus the audio windows, no model) and the ratio to it; for the full
  7 x 7 model also ``serial_fps`` (the same work without the decode thread),
  ``decoder_nice10_fps`` (the decode thread demoted to nice +10) and, on
  the 720p clip, ``per_frame_audio_fps`` (one audio window per frame, not one per second);
- ``ablation``: channels_last on/off and ``inference_mode`` vs ``no_grad`` (predict at
  the best batch), and the first call against a warm one.

``load_average`` (1, 5, 15 min, before and after) says how busy the machine was: with
other work running, torch's two OpenMP threads lose their cores at every barrier and all
figures (ceiling included) drop, small models most.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))   # run as a file too
from model_core.train.options import PRESETS  # noqa: E402 - after the path
OUT = ROOT / "benchmarks" / "out"
THREADS = 2
FPS = 25
SECONDS = 10
REPS = 3
BATCHES = (1, 4, 8, 16)

# the training presets (model_core.train.options imports no trainer and no torch)
CONFIGS = {"full_7x7": PRESETS["full"], "full_14x14": PRESETS["full14"], "demo": PRESETS["demo"]}


def _videos() -> dict[str, Path]:
    """A 720p and a 224 x 224 (synthetic-set size) 25 fps H.264 + AAC clip, written once."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.bench_decode import make_test_video

    OUT.mkdir(parents=True, exist_ok=True)
    return {
        "720p25": make_test_video(OUT / f"infer_720p25_{SECONDS}s.mp4", seconds=SECONDS, fps=FPS,
                                  size=(1280, 720)),
        "224p25": make_test_video(OUT / f"infer_224p25_{SECONDS}s.mp4", seconds=SECONDS, fps=FPS,
                                  size=(224, 224)),
    }


def _checkpoint(name: str, settings: dict) -> Path:
    import torch

    from model_core.model import ModelConfig, build_model
    from model_core.model.checkpoint import save_checkpoint

    path = OUT / f"bench_{name}.pt"
    config = ModelConfig(num_classes=28, **settings)
    torch.manual_seed(0)
    save_checkpoint(path, build_model(config), config, [f"c{i}" for i in range(28)], "dnm")
    return path


def _best(fn, reps: int = REPS) -> float:
    """Shortest wall time of ``reps`` calls of ``fn``."""
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _round_robin(variants: dict, reps: int = REPS) -> dict[str, float]:
    """Best time of each variant, measured interleaved."""
    best = {k: float("inf") for k in variants}
    for _ in range(reps):
        for k, fn in variants.items():
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t0)
    return best


def _trunk_run(trunk, batch: int, frames: int, size: int, channels_last: bool = True,
               grad_mode: str = "inference"):
    import torch

    x = torch.rand(batch, 3, size, size)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    ctx = torch.inference_mode if grad_mode == "inference" else torch.no_grad
    steps = max(1, frames // batch)

    def go():
        with ctx():
            for _ in range(steps):
                trunk(x)
    return go, steps * batch


def _ceiling(model, batch: int, frames: int) -> tuple:
    """(callable, frames) for the SPEC 8 ceiling: bare visual trunk, channels_last."""
    import torch

    trunk = model.visual_trunk.to(memory_format=torch.channels_last)
    return _trunk_run(trunk, batch, frames, model.config.image_size)


def _predict_run(loc, batch: int, frames: int, grad_mode: str = "inference"):
    import torch

    s = loc.image_size
    x = np.random.default_rng(0).integers(0, 256, (batch, s, s, 3), dtype=np.uint8)
    emb = loc.embed_audio(np.zeros((1, 16000), np.float32))
    idx = np.zeros(batch, np.int64)
    steps = max(1, frames // batch)
    ctx = torch.inference_mode if grad_mode == "inference" else torch.no_grad

    def go():
        with ctx():
            for _ in range(steps):
                loc.predict(x, emb, idx)
    return go, steps * batch


def _decode_only(path: Path, size: int):
    """Frames at the model's size + one audio window per second: the pipeline minus models."""
    from model_core.media.audio import AudioReader
    from model_core.media.frames import VideoReader

    def go():
        with VideoReader(path) as r, AudioReader(path) as a:
            n = 0
            for i, _ in r.iter_frames(size=(size, size)):
                if i % FPS == 0:
                    a.window(i / FPS + 0.5)
                n += 1
        return n
    return go


def _serial(loc, path: Path):
    """The analysis without the decode thread: decode a batch, then run the model on it."""
    from model_core.media.audio import AudioReader
    from model_core.media.frames import VideoReader

    s, b = loc.image_size, loc.batch_size

    def go():
        import torch

        with VideoReader(path) as r, AudioReader(path) as a, torch.inference_mode():
            emb, frames = {}, []
            for i, img in r.iter_frames(size=(s, s)):
                frames.append(img)
                if len(frames) == b:
                    key = (i // FPS)
                    if key not in emb:
                        emb[key] = loc.embed_audio(a.window(key + 0.5)[None])
                    loc.predict(np.stack(frames), emb[key], np.zeros(len(frames), np.int64))
                    frames = []
    return go


def _with_nice(nice: int, fn):
    """``fn`` run with the decode thread at another nice increment (0: no demotion)."""
    from model_core.inference import pipeline

    def go():
        saved, pipeline.DECODER_PRIORITY = pipeline.DECODER_PRIORITY, nice
        try:
            fn()
        finally:
            pipeline.DECODER_PRIORITY = saved
    return go


def _rate(frames: int, seconds: float) -> float:
    return round(frames / seconds, 1)


def bench_config(name: str, settings: dict, videos: dict, frames: int, full_extras: bool) -> dict:
    import torch

    from model_core.inference import Localizer, localize_many

    ckpt = _checkpoint(name, settings)
    loc = Localizer(ckpt, device="cpu", batch_size=8)
    # the ceiling's trunk folded like the Localizer's (batch norm into the convolutions), so
    # the ratios compare like with like
    from model_core.model.trunks import fold_batch_norm

    model = fold_batch_norm(loc.checkpoint.build("cpu"))
    fig: dict = {"config": loc.checkpoint.config.to_dict(), "threads": torch.get_num_threads()}
    fig["config"].pop("extra", None)

    # warm-up effect: the first predict call against a warm one (batch 8)
    s = loc.image_size
    x8 = np.zeros((8, s, s, 3), np.uint8)
    emb = loc.embed_audio(np.zeros((1, 16000), np.float32))
    t0 = time.perf_counter()
    loc.predict(x8, emb, np.zeros(8, np.int64))
    first = time.perf_counter() - t0
    warm = _best(lambda: loc.predict(x8, emb, np.zeros(8, np.int64)))
    fig["first_call_ms_b8"], fig["warm_call_ms_b8"] = round(1000 * first, 1), round(1000 * warm, 1)

    # per batch: ceiling and predict, interleaved
    fig["ceiling_fps"], fig["predict_fps"] = {}, {}
    for b in BATCHES:
        c_fn, c_n = _ceiling(model, b, frames)
        p_fn, p_n = _predict_run(loc, b, frames)
        c_fn(), p_fn()  # warm-up at this batch shape
        t = _round_robin({"ceiling": c_fn, "predict": p_fn})
        fig["ceiling_fps"][b] = _rate(c_n, t["ceiling"])
        fig["predict_fps"][b] = _rate(p_n, t["predict"])
    best_b = max(fig["predict_fps"], key=fig["predict_fps"].get)
    fig["best_batch"] = best_b
    fig["predict_ratio_to_ceiling"] = {b: round(fig["predict_fps"][b] / fig["ceiling_fps"][b], 3)
                                       for b in BATCHES}

    # ablations at the best batch: channels_last, inference_mode (predict, the real path)
    loc_nchw = Localizer(ckpt, device="cpu", batch_size=best_b, channels_last=False)
    loc.batch_size = best_b
    variants = {
        "channels_last+inference_mode": _predict_run(loc, best_b, frames)[0],
        "contiguous+inference_mode": _predict_run(loc_nchw, best_b, frames)[0],
        "channels_last+no_grad": _predict_run(loc, best_b, frames, "no_grad")[0],
    }
    n = max(1, frames // best_b) * best_b
    for fn in variants.values():
        fn()
    t = _round_robin(variants)
    fig["ablation_predict_fps"] = {k: _rate(n, v) for k, v in t.items()}
    trunk_nchw = _trunk_run(model.visual_trunk.to(memory_format=torch.contiguous_format), best_b,
                            frames, s, channels_last=False)
    trunk_cl = _ceiling(model, best_b, frames)
    trunk_nchw[0](), trunk_cl[0]()
    t = _round_robin({"channels_last": trunk_cl[0], "contiguous": trunk_nchw[0]})
    fig["ablation_trunk_fps"] = {k: _rate(trunk_cl[1], v) for k, v in t.items()}

    # offline analysis of every frame of each video, at the best batch
    fig["analysis"] = {}
    for vname, path in videos.items():
        n_frames = SECONDS * FPS
        c_fn, c_n = _ceiling(model, best_b, n_frames)
        variants = {
            "analysis": lambda: localize_many([loc], path),
            "ceiling": c_fn,
            "decode": _decode_only(path, s),
        }
        if full_extras:
            variants["serial"] = _serial(loc, path)
            variants["decoder_nice10"] = _with_nice(10, lambda: localize_many([loc], path))
            if vname == "720p25":
                variants["per_frame_audio"] = lambda: localize_many([loc], path, audio_hop=None)
        variants["analysis"]()  # warm caches (file pages, kernels)
        t = _round_robin(variants)
        a = {"fps": _rate(n_frames, t["analysis"]), "ceiling_fps": _rate(c_n, t["ceiling"]),
             "decode_fps": _rate(n_frames, t["decode"])}
        a["ratio_to_ceiling"] = round(a["fps"] / a["ceiling_fps"], 3)
        a["ratio_to_decode"] = round(a["fps"] / a["decode_fps"], 3)
        for k in ("serial", "decoder_nice10", "per_frame_audio"):
            if k in t:
                a[f"{k}_fps"] = _rate(n_frames, t[k])
        fig["analysis"][vname] = a
    return fig


def _published_checkpoint(family: str = "ezvsl") -> Path:
    """A checkpoint in ``family``'s repository layout with seeded random weights (the keys
    and shapes of the family's own layout table; batch-norm variances positive)."""
    import torch

    from model_core.models.loading import registry

    fam = registry().families[family]
    gen = torch.Generator().manual_seed(0)
    state = {}
    for k, shape in fam.layout.items():
        if k.endswith("num_batches_tracked"):
            state[k] = torch.tensor(0)
        elif k.endswith("running_var"):
            state[k] = torch.rand(shape, generator=gen) + 0.5
        else:
            state[k] = torch.randn(shape, generator=gen) * 0.05
    path = OUT / f"bench_published_{family}.pth"
    torch.save({"model": state}, path)
    return path


def _eval_ratios(ours, theirs, our_trunk, tv, n_videos: int, batch: int) -> dict:
    """``avsol eval`` (run_eval, one head at a time) over ``n_videos`` synthetic videos of
    ``benchmarks/bench_eval.py``'s set, items/s against the bare visual trunk on the same
    number of frames (one frame per item), best of 2, interleaved."""
    import io

    import torch

    from benchmarks.bench_eval import synth_set
    from model_core.evaluation.runner import EvalOptions, run_eval
    from model_core.formats.eval_set import load_eval_set

    root, _limit, _ = synth_set(n_videos)
    evalset = load_eval_set(root)
    videos = list(evalset.videos[:n_videos])
    n_items = sum(len(v.segments) for v in videos)

    def ev(loc):
        def go():
            run_eval(root, [], OUT / "published_eval.json", EvalOptions(device="cpu", batch_size=batch,
                                                                          limit=n_videos),
                     localizers=[loc], err=io.StringIO(), stdout=io.StringIO())
        return go

    def trunk(t):
        def go():
            with torch.inference_mode():
                for v in videos:
                    t(torch.randn(len(v.segments), 3, 224, 224).contiguous(memory_format=torch.channels_last))
        return go

    def model(loc, t):
        # the model alone, per item: its audio step on one window of its own length (front
        # end + audio trunk; eval hears one window per item) and the bare visual trunk
        n_samples = int(round(loc.audio_window_s * loc.sample_rate))

        def go():
            with torch.inference_mode():
                for v in videos:
                    k = len(v.segments)
                    loc.embed_audio(np.zeros((k, n_samples), np.float32))
                    t(torch.randn(k, 3, 224, 224).contiguous(memory_format=torch.channels_last))
        return go

    t = _round_robin({"ours_eval": ev(ours), "ours_ceiling": trunk(our_trunk),
                      "ours_model_ceiling": model(ours, our_trunk),
                      "published_eval": ev(theirs), "published_ceiling": trunk(tv),
                      "published_model_ceiling": model(theirs, tv)}, reps=2)
    out = {k: _rate(n_items, v) for k, v in t.items()}
    out["ours_ratio_to_ceiling"] = round(out["ours_eval"] / out["ours_ceiling"], 3)
    out["published_ratio_to_ceiling"] = round(out["published_eval"] / out["published_ceiling"], 3)
    # against the model ceiling (visual trunk + the model's own audio step per item): what the
    # pipeline costs beyond the model, comparable across families whose audio steps differ
    out["ours_ratio_to_model_ceiling"] = round(out["ours_eval"] / out["ours_model_ceiling"], 3)
    out["published_ratio_to_model_ceiling"] = round(out["published_eval"] / out["published_model_ceiling"], 3)
    out["items"] = n_items
    return out


def bench_published(threads: int = THREADS, seconds: int = 2, batch: int = 8, eval_videos: int = 4) -> dict:
    """A published ResNet-18 family (EZ-VSL: torchvision's resnet18 at 224,
    squashed frames, 3 s audio windows) against its trunk ceiling (torchvision's resnet18
    without avgpool/fc, batch norm folded, channels_last, inference_mode), beside our full
    7 x 7 head against its own, in the same run and interleaved: the offline analysis
    (``localize_many`` over every frame of a 224 x 224 25 fps clip) and the ratios."""
    import torch
    import torchvision

    from model_core.inference import Localizer
    from model_core.inference.pipeline import localize_many
    from model_core.model.trunks import fold_batch_norm
    from model_core.models.loading import load_model

    sys.path.insert(0, str(ROOT))
    from benchmarks.bench_decode import make_test_video

    torch.set_num_threads(threads)
    OUT.mkdir(parents=True, exist_ok=True)
    clip = make_test_video(OUT / f"published_224p25_{seconds}s.mp4", seconds=seconds, fps=FPS, size=(224, 224))
    n = seconds * FPS
    ours = Localizer(_checkpoint("full_7x7", CONFIGS["full_7x7"]), device="cpu", batch_size=batch)
    theirs = load_model(_published_checkpoint("ezvsl"), device="cpu", batch_size=batch)
    tv = torchvision.models.resnet18(weights=None)
    tv.avgpool, tv.fc = torch.nn.Identity(), torch.nn.Identity()
    tv = fold_batch_norm(tv.eval()).to(memory_format=torch.channels_last)
    our_trunk = ours.model.visual_trunk.to(memory_format=torch.channels_last)
    variants = {
        "ours_analysis": lambda: localize_many([ours], clip),
        "ours_ceiling": _trunk_run(our_trunk, batch, n, ours.image_size)[0],
        "published_analysis": lambda: localize_many([theirs], clip),
        "published_ceiling": _trunk_run(tv, batch, n, 224)[0],
    }
    for fn in variants.values():   # warm kernels and file pages
        fn()
    load_before = os.getloadavg()
    t = _round_robin(variants, reps=2)
    m = max(1, n // batch) * batch
    fig = {k: _rate(n if k.endswith("analysis") else m, v) for k, v in t.items()}
    fig["ours_ratio_to_ceiling"] = round(fig["ours_analysis"] / fig["ours_ceiling"], 3)
    fig["published_ratio_to_ceiling"] = round(fig["published_analysis"] / fig["published_ceiling"], 3)
    if eval_videos:
        fig["eval"] = _eval_ratios(ours, theirs, our_trunk, tv, eval_videos, batch)
    fig.update(threads=torch.get_num_threads(), frames=n, batch=batch, family="ezvsl",
               load_average=[round(x, 2) for x in load_before] + [round(x, 2) for x in os.getloadavg()])
    return fig


def run(quick: bool = False, configs: list[str] | None = None, threads: int = THREADS) -> dict:
    """All figures, as a dict (the benchmarks harness prints it as JSON).

    ``quick``: the demo model only, shorter runs (checks the benchmark itself);
    ``configs``: names of :data:`CONFIGS` to run (default all); ``threads``: torch CPU
    threads for everything, ceiling included (SPEC 8 says 2).
    """
    import cv2
    import torch

    torch.set_num_threads(threads)
    videos = _videos()
    frames = 32 if quick else 48
    names = configs or (["demo"] if quick else list(CONFIGS))
    configs = {n: CONFIGS[n] for n in names}
    load_before = os.getloadavg()
    out = {"threads": torch.get_num_threads(), "cv2_threads": cv2.getNumThreads(),
           "interop_threads": torch.get_num_interop_threads(), "reps": REPS,
           "videos": {k: str(v.relative_to(ROOT)) for k, v in videos.items()}, "configs": {}}
    for name, settings in configs.items():
        out["configs"][name] = bench_config(name, settings, videos, frames, quick or name == "full_7x7")
    out["load_average"] = [round(x, 2) for x in load_before] + [round(x, 2) for x in os.getloadavg()]
    return out


if __name__ == "__main__":
    import json

    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_inference")
    parser.add_argument("--quick", action="store_true", help="demo model only, short runs")
    parser.add_argument("--configs", default=None, help=f"comma-separated, of {', '.join(CONFIGS)}")
    parser.add_argument("--threads", type=int, default=THREADS, help=f"torch threads (default {THREADS})")
    parser.add_argument("--published", action="store_true",
                        help="only a published ResNet-18 family vs its trunk ceiling, beside our head")
    args = parser.parse_args()
    if args.published:
        print(json.dumps(bench_published(args.threads), indent=1))
    else:
        print(json.dumps(run(args.quick, args.configs.split(",") if args.configs else None, args.threads),
                         indent=1))
