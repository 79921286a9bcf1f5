"""Inference backends (``--backend``, ``--precision``): what each runtime gives on this CPU.

Run alone with ``python -m benchmarks.bench_backends [--quick] [--trunks]`` (``--trunks``:
without the bf16 evaluation) or through
``python -m benchmarks.run backends``. Everything in one process and one run, 2 torch
threads, a fresh cache folder (``benchmarks/out/backends_cache``):

- ``trunk``: ms per frame of a full-size DNM head's visual trunk (ResNet-18, 224 px, 7 x 7
  map, random weights, batch norm folded as the Localizer runs it) for every backend and
  precision this CPU supports, at batch 1 and 8, torch eager (channels_last) in the same
  run, interleaved calls, the median kept; ``speedup_vs_torch`` per backend; torch's
  trunk also as two one-thread streams of 4 frames (``visual_b8_two_streams_torch_ms_per_frame``:
  the other way to fill both cores at throughput); the largest
  difference of the trunk's output from torch fp32 (relative to its largest value) and of
  the maps (sigmoid, absolute); ``first_build_s`` (export + compile, the first start of a
  checkpoint) and ``cached_build_s`` (the second start: read from the cache);
- ``audio``: the same for the audio trunk (one 1 s window per call, batch 1 and 8),
  to decide whether routing it pays;
- ``auto``: what ``--backend auto`` chose here and its measurement, and the Localizer's
  start with ``torch`` and with ``auto`` (median of 3, interleaved: the build starts on the
  first call, in the background, so the start must not change);
- ``bf16``: what bf16 changes on a demo-style test split: the three demo heads
  (``resources/models``) evaluated with ``avsol eval``'s runner in fp32 and in bf16 (torch),
  the largest map difference over every scored frame and the change of cIoU@0.5, AUC and
  pointing per head. On a CPU without bf16 instructions bf16 is refused by the app; the
  benchmark then runs it emulated (oneDNN's bf16 on AVX2: the same rounding, so the same
  values, but no speed), and says so (``emulated``). The split: the test videos of a
  200-video set made like the demo models' training set (``avsol synth --seed 2024
  --classes 8 --size 128 --duration 4``, built once into ``benchmarks/out/``).
"""
from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
CACHE = OUT / "backends_cache"
SYNTH = OUT / "backends_synth_200"
THREADS = 2
ROUNDS = 7


def _median_ms(fns: dict, x, rounds: int) -> dict[str, float]:
    """Median ms per item of each function, calls interleaved (load from elsewhere hits
    every backend alike)."""
    for fn in fns.values():
        fn(x)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn(x)
            times[k].append(time.perf_counter() - t0)
    return {k: round(1000 * statistics.median(v) / x.shape[0], 2) for k, v in times.items()}


def _two_streams_ms(fn, x, rounds: int) -> float:
    """Median ms per item of ``fn`` on ``x`` as two threads of one torch thread each, half
    the batch each (torch's kernels release the GIL): the other way to fill both cores."""
    from concurrent.futures import ThreadPoolExecutor

    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(2) as pool:
            return _median_ms({"two": lambda b: list(pool.map(fn, b.chunk(2)))}, x, rounds)["two"]
    finally:
        torch.set_num_threads(threads)


def _runners(net, method: str, example, precisions: list[str]) -> tuple[dict, dict]:
    """{"backend/precision": callable} for every backend that builds here, and the build
    times of the first (fresh cache) and second (cached) start."""
    from model_core.inference.backends.routed import RoutedStep
    from model_core.inference.backends.runtimes import COMPILED

    runners, builds = {}, {}
    for precision in precisions:
        runners[f"torch/{precision}"] = RoutedStep(net, method, "torch", precision).run_torch
        for backend in COMPILED:
            for start in ("first", "cached"):
                step = RoutedStep(net, method, backend, precision, who="bench")
                t0 = time.perf_counter()
                step(example)          # torch answers; the build starts
                step.wait()
                builds[f"{backend}/{precision}/{start}_build_s"] = round(time.perf_counter() - t0, 2)
            if step._runner is not None:
                runners[f"{backend}/{precision}"] = step._runner
    return runners, builds


def trunk_figures(quick: bool) -> dict:
    import torch

    from model_core.inference.backends.capability import cpu_bf16
    from model_core.inference.backends.routed import relative_difference
    from model_core.inference.preprocess import windows_to_log_mel
    from model_core.model.config import ModelConfig
    from model_core.model.dnm import DNM
    from model_core.model.trunks import fold_batch_norm

    torch.manual_seed(0)
    net = fold_batch_norm(DNM(ModelConfig(num_classes=8)).eval())
    net.visual_trunk.to(memory_format=torch.channels_last)
    precisions = ["fp32", "bf16"] if cpu_bf16() else ["fp32"]
    out: dict = {"bf16_supported": cpu_bf16()}
    rounds = 3 if quick else ROUNDS
    with torch.inference_mode():
        frames = torch.randint(0, 256, (8, 224, 224, 3), dtype=torch.uint8).permute(0, 3, 1, 2)
        runners, builds = _runners(net, "visual", frames[:1], precisions)
        out["builds"] = builds
        for batch in (1, 8):
            x = frames[:batch]
            ms = _median_ms(runners, x, rounds)
            ref = net.visual(x)
            a = torch.nn.functional.normalize(torch.randn(batch, ref.shape[1]), dim=1)
            ref_map = net.read(ref, a).localization
            diffs = {k: float(f"{relative_difference(fn(x), ref):.3g}") for k, fn in runners.items()}
            map_diffs = {k: float(f"{float((net.read(fn(x).float(), a).localization - ref_map).abs().max()):.3g}")
                         for k, fn in runners.items()}
            out[f"visual_b{batch}"] = {
                "ms_per_frame": ms,
                "speedup_vs_torch_fp32": {k: round(ms["torch/fp32"] / v, 2) for k, v in ms.items()},
                "relative_difference": diffs, "max_map_difference": map_diffs}
        # torch at throughput another way: two one-thread streams of 4 frames each
        out["visual_b8_two_streams_torch_ms_per_frame"] = _two_streams_ms(net.visual, frames[:8], rounds)
        # the audio trunk, one 1 s window per item
        windows = torch.randn(8, 16000) * 0.1
        mel = windows_to_log_mel(windows)
        audio_runners, audio_builds = _runners(net, "audio", mel[:1], ["fp32"])
        out["audio_builds"] = audio_builds
        for batch in (1, 8):
            ms = _median_ms(audio_runners, mel[:batch], rounds)
            out[f"audio_b{batch}"] = {"ms_per_window": ms,
                                      "speedup_vs_torch_fp32": {k: round(ms["torch/fp32"] / v, 2)
                                                                for k, v in ms.items()}}
    return out


def auto_figures() -> dict:
    import numpy as np

    from model_core.inference.localizer import Localizer
    from model_core.model.checkpoint import save_checkpoint
    from model_core.model.config import ModelConfig
    from model_core.model.dnm import DNM

    path = OUT / "backends_full_7x7.pt"
    cfg = ModelConfig(num_classes=8)
    save_checkpoint(path, DNM(cfg).eval(), cfg, [str(i) for i in range(8)], "dnm")
    starts: dict[str, list[float]] = {"torch": [], "auto": []}
    for _ in range(3):   # interleaved: what --backend auto adds to a model's start (nothing is built yet)
        for backend in starts:
            t0 = time.perf_counter()
            loc = Localizer(path, device="cpu", batch_size=8, backend=backend)
            starts[backend].append(time.perf_counter() - t0)
    frames = np.random.default_rng(0).integers(0, 256, (8, 224, 224, 3), dtype=np.uint8)
    emb = loc.embed_audio(np.zeros((1, 16000), np.float32))
    loc.predict(frames, emb, np.zeros(8, np.int64))
    loc._visual.wait()
    return {"localizer_start_s": {k: round(statistics.median(v), 3) for k, v in starts.items()},
            "chosen": loc._visual.active,
            "decision": loc._visual.decision}


def _test_split(quick: bool, folder: Path) -> Path:
    """The synthetic set (built once) and an AVSOL-E file in ``folder`` holding only its
    test split (AVE's ``testSet.txt`` of the set; the first 8 videos with ``quick``)."""
    import json

    from model_core.atomic import write_json
    from model_core.cli import main as avsol

    if not (SYNTH / "avsol-e.json").is_file():
        code = avsol(["synth", str(SYNTH), "--videos", "200", "--seed", "2024", "--classes", "8",
                      "--size", "128", "--duration", "4"])
        if code:
            raise RuntimeError(f"avsol synth failed ({code})")
    rows = (SYNTH / "testSet.txt").read_text().splitlines()[1:]   # Category&VideoID&...
    test = sorted({r.split("&")[1] for r in rows if r.count("&") >= 2})
    test = test[:8] if quick else test
    doc = json.loads((SYNTH / "avsol-e.json").read_text())
    doc["videos"] = [v for v in doc["videos"] if Path(v["video"]).stem in set(test)]
    write_json(folder / "avsol-e.json", doc)
    return folder / "avsol-e.json"


def bf16_figures(quick: bool) -> dict:
    """fp32 against bf16 (torch) for the demo heads on the test split."""
    import json

    import numpy as np

    from model_core.evaluation.runner import EvalOptions, run_eval
    from model_core.formats import load_avsol_e
    from model_core.inference.backends import capability
    from model_core.inference.localizer import Localizer

    models = [ROOT / "resources" / "models" / f"{h}.pt" for h in ("avc", "cls", "dnm")]
    if not all(p.is_file() for p in models):
        return {"skipped": "resources/models/{avc,cls,dnm}.pt not found"}
    keep = OUT / "backends_bf16"
    shutil.rmtree(keep, ignore_errors=True)
    keep.mkdir(parents=True)
    annotations = _test_split(quick, keep)
    emulated = not capability.cpu_bf16()
    real_probe = capability.cpu_bf16
    if emulated:
        capability.cpu_bf16 = lambda: True   # the app refuses bf16 here; the values are the same
    try:
        # the maps themselves, frame by frame
        videos = load_avsol_e(annotations).videos
        max_diff = {}
        for p in models:
            a = Localizer(p, device="cpu", batch_size=16)
            b = Localizer(p, device="cpu", batch_size=16, precision="bf16")
            worst = 0.0
            for v in videos:
                path = SYNTH / "videos" / v.video
                times = [seg.frame_time for seg in v.segments]       # the annotated frames
                ma, mb = a.localize_video(path, times).maps, b.localize_video(path, times).maps
                worst = max(worst, float(np.abs(np.asarray(ma) - np.asarray(mb)).max()))
            max_diff[p.stem] = float(f"{worst:.3g}")
        # the metrics, through the evaluation
        summaries = {}
        for precision in ("fp32", "bf16"):
            out = keep / f"report_{precision}.json"
            opts = EvalOptions(device="cpu", batch_size=16, threads=THREADS, precision=precision,
                               annotations=str(annotations), videos_dir=str(SYNTH / "videos"))
            with open(os.devnull, "w") as sink:
                run_eval(keep, [str(p) for p in models], out, opts, err=sink)
            summaries[precision] = json.loads(out.read_text())["heads"]
        change = {}
        for head in summaries["fp32"]:
            change[head] = {k: round(summaries["bf16"][head][k] - summaries["fp32"][head][k], 4)
                            for k in ("ciou@0.5", "auc", "pointing")}
            change[head]["fp32"] = {k: round(summaries["fp32"][head][k], 4) for k in ("ciou@0.5", "auc", "pointing")}
        n_items = summaries["fp32"][next(iter(summaries["fp32"]))]["n_items"]
    finally:
        capability.cpu_bf16 = real_probe
    return {"emulated": emulated, "videos": len(videos), "items_per_head": n_items,
            "max_map_difference": max_diff, "bf16_minus_fp32": change}


def run(quick: bool | None = None, trunks_only: bool = False) -> dict:
    import torch

    if quick is None:
        quick = os.environ.get("AVSOL_BENCH_QUICK") == "1"
    torch.set_num_threads(THREADS)
    shutil.rmtree(CACHE, ignore_errors=True)
    previous = os.environ.get("AVSOL_CACHE")
    os.environ["AVSOL_CACHE"] = str(CACHE)
    try:
        t0 = time.perf_counter()
        figures = {"threads": THREADS, "trunk": trunk_figures(quick), "auto": auto_figures()}
        if not trunks_only:
            figures["bf16"] = bf16_figures(quick)
        figures["wall_s"] = round(time.perf_counter() - t0, 1)
        figures["load_avg_1min"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
        return figures
    finally:
        if previous is None:
            os.environ.pop("AVSOL_CACHE", None)
        else:
            os.environ["AVSOL_CACHE"] = previous


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick="--quick" in sys.argv[1:], trunks_only="--trunks" in sys.argv[1:]), indent=1))
