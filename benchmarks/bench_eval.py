"""Evaluation figures (SPEC 8): ``avsol eval`` against the field's per-item loop.

Run alone with ``python -m benchmarks.bench_eval [--quick] [--videos N]`` or through
``python -m benchmarks.run eval``; ``AVSOL_BENCH_EVAL_VIDEOS=N`` (or ``AVSOL_BENCH_QUICK=1``)
sets the size there, ``AVSOL_BENCH_EVAL_SIZE=WxH`` the frames (640x360: the setting of the
eval targets), ``AVSOL_BENCH_BACKEND=openvino|onnxruntime|auto`` (``--backend``) the compiled
backend compared with torch (default: every one installed, the figure being the fastest
whose maps equal torch's), ``AVSOL_BENCH_EVAL_ONLY=backends`` (``--only-backends``) only the
field loop and the evaluation with torch and with each backend.
Default: an AVSOL-E-sized set, 402 videos x 10 segments (4020 items) of 224 x 224, 25 fps,
10 s videos, generated once by ``avsol synth`` into ``benchmarks/out/eval_synth_<N>/``
(the first N videos of the 402 set when it exists), and three untrained full-size models
(ResNet-18 trunks, 7 x 7 map, SPEC 3) as the three heads.
Everything runs in one process, in one run, with 2 torch threads:

- ``batched_1head_s`` / ``batched_3heads_s``: :func:`model_core.evaluation.run_eval`
  end to end (decode each video once for every head, batches of 16, metrics, items log,
  report), with one head and with three;
- ``naive_1head_s`` / ``naive_3heads_s``: the same work the way the field's scripts do it:
  one model per pass, and per item: open the video, seek and decode the frame, read the
  1 s of audio, log-mel, audio trunk and visual trunk at batch 1, score; the three-head
  figure is three such passes, the one-head figure the first of them;
- ``speedup_1head`` / ``speedup_3heads`` = naive / batched (target >= 3), and
  ``three_vs_one`` = batched 3 heads / batched 1 head (target < 2);
- ``ceiling_1head_s``: the bare visual trunk (inference_mode, channels_last, random input)
  on as many frames as there are items, in the batches the evaluation runs (one per
  video); ``ceiling_share_1head`` = ceiling / batched (1 = nothing but the visual trunk;
  the audio trunk alone costs ~40 % of it, as each annotated frame has its own window).
- ``cpu_s``: the same totals in process CPU seconds (less sensitive to load from
  elsewhere, blind to the overlap of decoding and inference);
- ``thread_scaling_model_ceiling``: the model ceiling with one torch thread over the one
  with ``THREADS`` (2: near 2 means the trunks keep every core busy, so any other work
  lengthens the evaluation), and ``cpu_bound_vs_model_ceiling`` = the model ceiling's CPU
  seconds over the one-head evaluation's: with every core busy in both, the most that
  ``items_per_s_vs_model_ceiling`` can reach for the CPU this evaluation spends;
- ``field_1head_s``: the field's test-script loop (:func:`field_items`: the video opened
  once, a seek and one frame per item, the item's audio decoded alone, one forward pass of
  the whole model at batch 1), and ``speedup_vs_field_1head`` = field / batched (target >= 3);
  the loop runs the localizer's network (batch norm folded, as the evaluation does), the
  stricter comparison; ``field_bn_live_1head_s`` / ``speedup_vs_field_bn_live_1head``: the
  same loop on the checkpoint's network as the field's scripts run it (batch norm live);
- ``model_ceiling_1head_s``: both trunks alone (visual on the items' frames, audio on as
  many windows, random inputs, the evaluation's batches), ``items_per_s_vs_model_ceiling``
  = model ceiling / batched (target >= 0.85) and ``three_heads_vs_three_trunk_passes`` =
  batched 3 heads / 3 model ceilings (target <= 1.1);
- ``batched_1head_decode_ahead_s``: ``run_eval`` with ``decode_ahead="models"`` (the next
  video decoded while the models run, the default on an accelerator) and
  ``decode_ahead_vs_default_1head`` its time over the default's (the CPU's: decoded
  beside the scoring; above 1: slower); ``batched_1head_serial_s`` /
  ``serial_vs_default_1head``: never decoded ahead;
- ``max_ciou_diff_batched_vs_naive``: the two ways score the same maps;
- ``backends`` (:func:`_backend_figures`): ``run_eval`` with each compiled backend, its
  runtime built and warmed up before timing (``build_s`` apart, with the cache's counts:
  a second run reads what the first compiled), its ``speedup_vs_field_1head`` against the
  same field loop (torch eager at batch 1: what the field's scripts run) and its largest
  map and report difference from torch's report; ``backend`` / ``speedup_vs_field_best``:
  the fastest of them whose maps equal torch's to 1e-5 (torch if none);
  ``speedup_vs_field_1head`` stays torch eager's evaluation. Per backend (and
  ``torch_trunks`` for torch) ``trunks_s`` / ``trunks_cpu_s``: both trunks alone through
  that backend on the evaluation's batches (random inputs), and ``cpu_bound_vs_field`` =
  the field loop's CPU seconds (``field_cpu_s``) over theirs: the most the evaluation's
  CPU-second speedup could reach if it spent nothing but the trunks.
Also the size actually run, the set's generation time (0 when reused) and the wall time.
The variants run in blocks around ``run_eval`` (see :func:`run`).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
FULL_VIDEOS = 402
QUICK_VIDEOS = 20
THREADS = 2
BATCH = 16
SEED = 0
MODELS = {
    "full_7x7": {},
    "demo": {"width": 16, "audio_width": 16, "layers": (1, 1, 1, 1), "image_size": 112,
             "map_size": 7, "embed_dim": 64},
}


def _set_is_complete(root: Path, n: int) -> bool:
    try:
        doc = json.loads((root / "avsol-e.json").read_text())
    except (OSError, ValueError):
        return False
    names = [v["video"] for v in doc.get("videos", [])]
    return len(names) == n and all((root / "videos" / v).is_file() for v in names)


def synth_set(n_videos: int, size: str | None = None) -> tuple[Path, int | None, float]:
    """(set folder, limit to pass to eval or None, seconds spent generating); ``size``
    ("WxH", e.g. the issue's 640x360) for frames other than synth's default 224 x 224."""
    tag = f"_{size}" if size else ""
    full = OUT / f"eval_synth_{FULL_VIDEOS}{tag}"
    if n_videos <= FULL_VIDEOS and _set_is_complete(full, FULL_VIDEOS):
        return full, (n_videos if n_videos < FULL_VIDEOS else None), 0.0
    root = OUT / f"eval_synth_{n_videos}{tag}"
    if _set_is_complete(root, n_videos):
        return root, None, 0.0
    from model_core.cli import main

    shutil.rmtree(root, ignore_errors=True)
    t0 = time.perf_counter()
    rc = main(["synth", str(root), "--videos", str(n_videos), "--seed", str(SEED),
               "--workers", str(max(1, os.cpu_count() or 1)), *(["--size", size] if size else [])])
    if rc != 0:
        raise RuntimeError(f"avsol synth failed with status {rc}")
    return root, None, time.perf_counter() - t0


def checkpoints(model: str, classes: list[str]) -> list[Path]:
    """Three untrained checkpoints of the preset (one per head), written once."""
    import torch

    from model_core.model.checkpoint import save_checkpoint
    from model_core.model.config import ModelConfig
    from model_core.model.dnm import build_model

    cfg = ModelConfig(num_classes=len(classes), **MODELS[model])
    paths = []
    for seed, head in enumerate(("avc", "cls", "dnm")):
        p = OUT / f"eval_{model}_{head}.pt"
        ok = False
        if p.exists():
            from model_core.model.checkpoint import load_checkpoint

            try:
                ck = load_checkpoint(p)
                ok = ck.config == cfg and ck.classes == classes
            except Exception:  # noqa: BLE001 - rewritten below
                ok = False
        if not ok:
            torch.manual_seed(seed)
            save_checkpoint(p, build_model(cfg), cfg, classes, head)
        paths.append(p)
    return paths


def naive_items(loc, video) -> list:
    """One model over the items of one video, the per-item way (module docstring)."""
    from model_core.media.audio import read_audio
    from model_core.media.frames import VideoReader
    from model_core.metrics.items import score_items

    rows = []
    for seg in video.segments:
        t = seg.frame_time
        with VideoReader(video.path) as reader:
            frame = reader.read_at_time(t)
        wave = read_audio(video.path, t - 0.5, t + 0.5)
        emb = loc.embed_audio(wave[None])
        pred = loc.predict(frame[None], emb)
        rows += score_items(pred.maps, [seg], videos=[video.name], head=loc.name, times=[t],
                            categories=[video.category], p_avc=pred.p_avc,
                            class_probs=pred.class_probs, classes=loc.classes)
    return rows


def field_items(loc, video, model=None) -> list:
    """One model over the items of one video the way the field's test scripts do it: the
    video opened once, per item a seek and one frame (OpenCV), the item's 1 s of audio
    decoded on its own, one forward pass of the whole model at batch 1, then the score.
    ``model``: the network to run (default the localizer's, batch norm folded into the
    convolutions; the field's scripts run the checkpoint's, batch norm live)."""
    import cv2
    import torch

    from model_core.features import log_mel
    from model_core.media.audio import read_audio
    from model_core.metrics.items import score_items

    rows = []
    cap = cv2.VideoCapture(str(video.path))
    s = loc.image_size
    try:
        for seg in video.segments:
            t = seg.frame_time
            cap.set(cv2.CAP_PROP_POS_MSEC, t * 1000.0)
            ok, bgr = cap.read()
            if not ok:
                continue
            rgb = cv2.cvtColor(cv2.resize(bgr, (s, s), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
            frame = torch.from_numpy(rgb).permute(2, 0, 1)[None].contiguous(memory_format=torch.channels_last)
            mel = log_mel(read_audio(video.path, t - 0.5, t + 0.5))[None]
            with torch.inference_mode():
                out = (model or loc.model)(frame, mel)
            maps = out.localization.float().numpy()
            rows += score_items(maps, [seg], videos=[video.name], head=loc.name, times=[t],
                                categories=[video.category], p_avc=out.p_avc.float().numpy(),
                                class_probs=out.class_logits.float().softmax(dim=1).numpy(),
                                classes=loc.classes)
    finally:
        cap.release()
    return rows


class _Clock:
    """Wall and CPU seconds accumulated per named phase."""

    def __init__(self):
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def time(self, name: str, fn, *args):
        w, c = time.perf_counter(), time.process_time()
        out = fn(*args)
        self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - w
        self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - c
        return out


def compiled_backends(requested: str | None = None) -> list[str]:
    """The backends the benchmark runs ``avsol eval`` with beside torch: ``requested``
    (``AVSOL_BENCH_BACKEND``: openvino, onnxruntime or auto) or every compiled runtime
    installed here (the figure is then the fastest whose maps equal torch's)."""
    from model_core.inference.backends import runtimes

    requested = requested or os.environ.get("AVSOL_BENCH_BACKEND") or None
    if requested:
        return [requested]
    out = []
    for name in runtimes.COMPILED:
        try:
            runtimes.runtime_version(name)
        except runtimes.BackendUnavailable:
            continue
        out.append(name)
    return out


def built_localizers(ckpts, backend: str) -> tuple[list, float, dict]:
    """Localizers of ``ckpts`` running ``backend``, with the runtime built (compiled, or read
    from the cache) and warmed up before anything is timed: the build is a one-off per
    weights, not part of an evaluation. Returns (localizers, build seconds, the runtimes'
    export/compile/load counts of the build)."""
    from model_core.inference import Localizer
    from model_core.inference.backends import runtimes

    before = dict(runtimes.COUNTS)
    t0 = time.perf_counter()
    locs = [Localizer(p, device="cpu", batch_size=BATCH, backend=backend) for p in ckpts]
    for loc in locs:
        loc.warmup()                      # the first call starts the build in the background
        loc._visual.wait()
        loc._audio.wait()
    build_s = time.perf_counter() - t0
    for loc in locs:
        loc.warmup()
        loc.warmup(1)
        loc.warmup(10)
    counts = {k: v - before.get(k, 0) for k, v in runtimes.COUNTS.items() if v - before.get(k, 0)}
    return locs, build_s, counts


def report_difference(items: list, ref: list) -> tuple[float, float]:
    """(max |map - ref map|, max |figure - ref figure| over the items' other numbers) of two
    reports' items on the same items (rows matched by video, head and time)."""
    import math

    from model_core.metrics.items import decode_map

    def key(r):
        return (r["video"], r.get("head"), round(r["time"], 6))

    theirs = {key(r): r for r in ref}
    assert len(theirs) == len(items), "the two evaluations scored different items"
    dmap = dfig = 0.0
    for r in items:
        o = theirs[key(r)]
        for k, v in r.items():
            w = o.get(k)
            if k == "map" and isinstance(v, str) and isinstance(w, str):
                dmap = max(dmap, float(abs(decode_map(v) - decode_map(w)).max()))
            elif isinstance(v, float) and isinstance(w, float) and math.isfinite(v) and math.isfinite(w):
                dfig = max(dfig, abs(v - w))
            elif isinstance(v, list) and isinstance(w, list) and len(v) == len(w):
                dfig = max([dfig] + [abs(a - b) for a, b in zip(v, w)
                                     if isinstance(a, float) and isinstance(b, float)])
    return dmap, dfig


def run(quick: bool = False, n_videos: int | None = None, model: str | None = None,
        size: str | None = None, backend: str | None = None, only_backends: bool | None = None) -> dict:
    """All figures, as a dict (the benchmarks harness prints it as JSON).

    The batched figures are :func:`~model_core.evaluation.runner.run_eval` itself, end to
    end over all the videos, with its defaults (on the CPU the next video is decoded beside
    the scoring of this one, on an accelerator while the models run, see
    ``runner._DecodeAhead``: no per-video slice could measure either). The other
    variants run in blocks around them; the model ceiling is measured before and after the
    batched runs and the faster of the two is used (the stricter ratio), so a burst of load
    from elsewhere cannot flatter the evaluation.
    """
    import io

    import numpy as np
    import torch

    from model_core.evaluation import load_eval_set
    from model_core.evaluation.runner import EvalOptions, run_eval
    from model_core.inference import Localizer
    from model_core.metrics.report import build_report

    t_all = time.perf_counter()
    if n_videos is None:
        env = os.environ.get("AVSOL_BENCH_EVAL_VIDEOS")
        quick = quick or os.environ.get("AVSOL_BENCH_QUICK", "") not in ("", "0")
        n_videos = int(env) if env else (QUICK_VIDEOS if quick else FULL_VIDEOS)
    model = model or os.environ.get("AVSOL_BENCH_EVAL_MODEL", "full_7x7")
    if only_backends is None:
        only_backends = os.environ.get("AVSOL_BENCH_EVAL_ONLY", "") == "backends"
    size = size or os.environ.get("AVSOL_BENCH_EVAL_SIZE") or None
    torch.set_num_threads(THREADS)
    OUT.mkdir(parents=True, exist_ok=True)
    root, limit, synth_s = synth_set(n_videos, size)
    clock = _Clock()
    evalset = clock.time("load", load_eval_set, root)
    videos = list(evalset.videos[:limit] if limit else evalset.videos)
    n_items = sum(len(v.segments) for v in videos)
    ckpts = checkpoints(model, list(evalset.classes))
    locs = [Localizer(p, device="cpu", batch_size=BATCH) for p in ckpts]
    for loc in locs:
        loc.warmup()
        loc.warmup(1)
        loc.warmup(10)
    trunk = locs[0].model.visual_trunk
    s = locs[0].image_size
    reports = OUT / "eval_reports"
    rows: dict[str, list] = {"n0": [], "n1": [], "n2": [], "f0": [], "fl": []}
    bn_live = locs[0].checkpoint.build("cpu")   # the network as trained: batch norm live
    reported: dict[str, list] = {}

    def batched(k, ahead=None, with_locs=None, tag=""):  # ahead: run_eval's decode_ahead
        res = run_eval(root, ckpts[:k], reports / f"bench_b{k}{tag}.json",
                       EvalOptions(device="cpu", batch_size=BATCH, limit=limit),
                       localizers=(with_locs or locs)[:k], err=io.StringIO(), stdout=io.StringIO(),
                       decode_ahead=ahead)
        reported[f"b{k}{tag}"] = res.report["items"]

    # each compiled backend's localizer for the first head, built before anything is timed
    built = {name: built_localizers(ckpts[:1], name) for name in compiled_backends(backend)}

    def ceiling(n):
        x = torch.randn(n, 3, s, s).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            trunk(x)

    def model_ceiling(n):
        """Both trunks (visual on n frames, audio on n windows), nothing else."""
        x = torch.randn(n, 3, s, s).contiguous(memory_format=torch.channels_last)
        a = torch.randn(n, 1, 64, 101)
        with torch.inference_mode():
            trunk(x)
            locs[0].model.audio(a)

    for v in videos:
        clock.time("model_ceiling_a", model_ceiling, len(v.segments))
    clock.time("b1", batched, 1)
    for name, (blocs, _, _) in built.items():     # the same run with each compiled backend
        clock.time(f"b1_{name}", batched, 1, None, blocs, f"_{name}")
    if built:   # torch again after them: the faster of its two runs is what they are held to
        clock.time("b1_torch_after", batched, 1, None, None, "_torch_after")

    def trunks(loc, n):
        """Both trunks as the evaluation runs them through ``loc``'s backend (n frames
        and n windows, random inputs), nothing else: what bounds that backend's speedup."""
        x = torch.randint(0, 256, (n, 3, s, s), dtype=torch.uint8).contiguous(memory_format=torch.channels_last)
        a = torch.randn(n, 1, 64, 101)
        with torch.inference_mode():
            loc._visual(x)
            loc._audio(a)

    for name, bl in [("torch", locs[0])] + [(k, b[0][0]) for k, b in built.items()]:
        for v in videos:
            clock.time(f"trunks_{name}", trunks, bl, len(v.segments))
    if only_backends:
        return _backend_figures(clock, videos, locs, built, reported, n_items, model, size, root, synth_s, t_all)
    clock.time("b1_ahead", batched, 1, "models")   # the next video decoded while the models run
    clock.time("b1_serial", batched, 1, False)     # never decoded ahead
    clock.time("b3", batched, 3)
    for v in videos:
        clock.time("model_ceiling_b", model_ceiling, len(v.segments))
        clock.time("ceiling", ceiling, len(v.segments))
    torch.set_num_threads(1)
    for v in videos:
        clock.time("model_ceiling_1thread", model_ceiling, len(v.segments))
    torch.set_num_threads(THREADS)
    for v in videos:
        rows["f0"] += clock.time("f0", field_items, locs[0], v)
        rows["fl"] += clock.time("fl", field_items, locs[0], v, bn_live)
    for v in videos:
        for i, loc in enumerate(locs):
            rows[f"n{i}"] += clock.time(f"n{i}", naive_items, loc, v)
    for i in range(3):
        clock.time(f"n{i}_report", lambda: build_report(rows[f"n{i}"], [locs[i].name]))
    ok = sum(r["status"] == "scored" for r in reported["b1"])
    naive = {(r.video, round(r.time, 6)): r.ciou for r in rows["n0"]}   # the report is worst first
    diff = max((abs((a.get("ciou") or 0) - (naive.get((a["video"], round(a["time"], 6))) or 0))
                for a in reported["b1"]), default=0.0)
    assert len(naive) == len(reported["b1"]), "the per-item loop and run_eval scored different items"
    for table in (clock.wall, clock.cpu):
        table["model_ceiling"] = min(table["model_ceiling_a"], table["model_ceiling_b"])

    def total(keys, table):
        return sum(table.get(k, 0.0) for k in keys)

    b1, b3 = ["b1"], ["b3"]  # run_eval reads the annotations and writes its report itself
    n1 = ["load", "n0", "n0_report"]
    n3 = ["load", "n0", "n1", "n2", "n0_report", "n1_report", "n2_report"]
    fig: dict = {"videos": len(videos), "items": n_items, "items_scored": ok, "model": model,
                 "frame_size": size or "224x224",
                 "threads": torch.get_num_threads(), "batch": BATCH,
                 "set": str(root.relative_to(ROOT)), "synth_s": round(synth_s, 1),
                 "batched_1head_s": total(b1, clock.wall), "batched_3heads_s": total(b3, clock.wall),
                 "naive_1head_s": total(n1, clock.wall), "naive_3heads_s": total(n3, clock.wall),
                 "ceiling_1head_s": clock.wall["ceiling"],
                 "field_1head_s": total(["load", "f0"], clock.wall),
                 "field_bn_live_1head_s": total(["load", "fl"], clock.wall),
                 "model_ceiling_1head_s": clock.wall["model_ceiling"],
                 "model_ceiling_before_after_s": [round(clock.wall[k], 3) for k in ("model_ceiling_a", "model_ceiling_b")]}
    fig["batched_1head_decode_ahead_s"] = clock.wall["b1_ahead"]
    fig["decode_ahead_vs_default_1head"] = clock.wall["b1_ahead"] / clock.wall["b1"]
    fig["batched_1head_serial_s"] = clock.wall["b1_serial"]
    fig["serial_vs_default_1head"] = clock.wall["b1_serial"] / clock.wall["b1"]
    fig["speedup_vs_field_1head"] = fig["field_1head_s"] / fig["batched_1head_s"]
    fig.update(_backend_figures(clock, videos, locs, built, reported, n_items, model, size, root, synth_s,
                                t_all, field_done=True))
    fig["speedup_vs_field_bn_live_1head"] = fig["field_bn_live_1head_s"] / fig["batched_1head_s"]
    fig["items_per_s_vs_model_ceiling"] = fig["model_ceiling_1head_s"] / fig["batched_1head_s"]
    fig["three_heads_vs_three_trunk_passes"] = fig["batched_3heads_s"] / (3 * fig["model_ceiling_1head_s"])
    fig["speedup_1head"] = fig["naive_1head_s"] / fig["batched_1head_s"]
    fig["speedup_3heads"] = fig["naive_3heads_s"] / fig["batched_3heads_s"]
    fig["three_vs_one"] = fig["batched_3heads_s"] / fig["batched_1head_s"]
    fig["ceiling_share_1head"] = fig["ceiling_1head_s"] / fig["batched_1head_s"]
    fig["cpu_s"] = {"batched_1head": total(b1, clock.cpu), "batched_3heads": total(b3, clock.cpu),
                    "naive_1head": total(n1, clock.cpu), "naive_3heads": total(n3, clock.cpu),
                    "ceiling_1head": clock.cpu["ceiling"], "model_ceiling_1head": clock.cpu["model_ceiling"]}
    fig["thread_scaling_model_ceiling"] = clock.wall["model_ceiling_1thread"] / clock.wall["model_ceiling"]
    fig["cpu_bound_vs_model_ceiling"] = clock.cpu["model_ceiling"] / total(b1, clock.cpu)
    fig["max_ciou_diff_batched_vs_naive"] = float(np.float32(diff))
    fig = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in fig.items()}
    fig["cpu_s"] = {k: round(v, 2) for k, v in fig["cpu_s"].items()}
    fig["wall_s"] = round(time.perf_counter() - t_all, 1)
    return fig


def _backend_figures(clock, videos, locs, built, reported, n_items, model, size, root, synth_s, t_all,
                     field_done=False) -> dict:
    """``avsol eval`` with each compiled backend against the field's loop (torch eager,
    batch 1: what the field's scripts run) and against torch's own report.

    ``speedup_vs_field_1head_torch``: torch eager's evaluation; ``backends``: per backend,
    its one-off build (``build_s``, with the runtimes' export/compile/cache-load counts),
    ``batched_1head_s``, ``speedup_vs_field_1head``, ``max_map_diff_vs_torch`` and
    ``max_report_diff_vs_torch`` (every other number of the items), and the same speedups
    in process CPU seconds (``cpu_...``: less sensitive to load from elsewhere); torch's
    evaluation runs before and after the backends' and the faster is kept (the stricter
    ratio for the backends); ``backend``: the
    fastest whose maps equal torch's to 1e-5 (torch if none), whose speedup is
    ``speedup_vs_field_best``. With ``field_done`` False (``AVSOL_BENCH_EVAL_ONLY=backends``)
    the field loop runs here and the other variants are skipped."""
    import math

    import torch

    if not field_done:
        for v in videos:
            clock.time("f0", field_items, locs[0], v)
    field = clock.wall.get("load", 0.0) + clock.wall["f0"]
    fig: dict = {}
    if not field_done:
        fig = {"videos": len(videos), "items": n_items, "model": model, "frame_size": size or "224x224",
               "threads": torch.get_num_threads(), "batch": BATCH, "set": str(root.relative_to(ROOT)),
               "synth_s": round(synth_s, 1), "field_1head_s": round(field, 3),
               "batched_1head_s": round(clock.wall["b1"], 3)}
    torch_s = min(clock.wall["b1"], clock.wall.get("b1_torch_after", math.inf))
    torch_cpu = min(clock.cpu["b1"], clock.cpu.get("b1_torch_after", math.inf))
    field_cpu = clock.cpu.get("load", 0.0) + clock.cpu["f0"]
    fig["torch_1head_s_before_after"] = [round(clock.wall[k], 3) for k in ("b1", "b1_torch_after") if k in clock.wall]
    fig["speedup_vs_field_1head_torch"] = round(field / torch_s, 3)
    fig["cpu_speedup_vs_field_1head_torch"] = round(field_cpu / torch_cpu, 3)
    fig["field_cpu_s"] = round(field_cpu, 2)

    def bound(name):
        """The trunks alone through backend ``name``: seconds, CPU seconds, and the field's
        CPU seconds over theirs (the most an evaluation spending nothing else could reach)."""
        k = f"trunks_{name}"
        if k not in clock.cpu:
            return {}
        return {"trunks_s": round(clock.wall[k], 3), "trunks_cpu_s": round(clock.cpu[k], 2),
                "cpu_bound_vs_field": round(field_cpu / clock.cpu[k], 3)}

    fig["torch_trunks"] = bound("torch")
    per: dict = {}
    best, best_s = "torch", torch_s
    for name, (blocs, build_s, counts) in built.items():
        dmap, dfig = report_difference(reported[f"b1_{name}"], reported["b1"])
        t = clock.wall[f"b1_{name}"]
        per[name] = {"served_by": blocs[0].backend_used, "build_s": round(build_s, 2), "build_counts": counts,
                     "batched_1head_s": round(t, 3), "speedup_vs_field_1head": round(field / t, 3),
                     "vs_torch_eval": round(torch_s / t, 3),
                     "cpu_speedup_vs_field_1head": round(field_cpu / clock.cpu[f"b1_{name}"], 3),
                     "max_map_diff_vs_torch": float(f"{dmap:.3g}"), "max_report_diff_vs_torch": float(f"{dfig:.3g}"),
                     "eval_cpu_s": round(clock.cpu[f"b1_{name}"], 2), **bound(name)}
        if dmap <= 1e-5 and t < best_s:
            best, best_s = name, t
    fig["backends"] = per
    fig["backend"] = best
    fig["speedup_vs_field_best"] = round(field / best_s, 3)
    fig["load_avg_1min"] = round(os.getloadavg()[0], 2)
    if not field_done:
        fig["wall_s"] = round(time.perf_counter() - t_all, 1)
    return fig


if __name__ == "__main__":
    import argparse

    sys.path.insert(0, str(ROOT))
    ap = argparse.ArgumentParser(description="avsol eval vs a per-item loop (SPEC 8)")
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_VIDEOS} videos instead of {FULL_VIDEOS}")
    ap.add_argument("--videos", type=int, default=None, help="number of videos")
    ap.add_argument("--model", choices=sorted(MODELS), default=None, help="model preset (default full_7x7)")
    ap.add_argument("--size", default=None, help="frame size WxH of the set (default 224x224)")
    ap.add_argument("--backend", choices=("openvino", "onnxruntime", "auto"), default=None,
                    help="the compiled backend to compare with torch (default: every one installed)")
    ap.add_argument("--only-backends", action="store_true",
                    help="only the field loop and the evaluation with torch and each backend")
    a = ap.parse_args()
    print(json.dumps(run(quick=a.quick, n_videos=a.videos or (QUICK_VIDEOS if a.quick else None),
                         model=a.model, size=a.size, backend=a.backend,
                         only_backends=a.only_backends or None), indent=1))
