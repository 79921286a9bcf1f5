"""Training figures: samples/s of a training step on the CPU, demo and full configs.

Run alone with ``python -m benchmarks.bench_train [--quick]`` or through
``python -m benchmarks.run train``. Two threads (the development machine's cores). For
each config (``demo``: width 16, blocks 1-1-1-1, 112 px, 7 x 7 map, D 64; ``full``:
ResNet-18 trunks, 224 px, 7 x 7 map, D 128), head ``dnm`` (both losses: the costliest):

- ``random_samples_per_s``: forward of both trunks + the positive and negative reads +
  backward + AdamW step, on random uint8 frames and log-mels already in memory; the best
  of ``REPS`` timed runs of ``STEPS`` steps after ``WARMUP`` warm-up steps;
- ``cache_samples_per_s``: the same steps driven by :class:`~model_core.train.loop.Trainer`
  from the feature cache (batch gather from memory-mapped ``.npy`` files, flips, negatives,
  schedule): the median samples/s of its ``_train_step`` calls after the first ``WARMUP``
  (validation and checkpoints at epoch ends excluded);
- ``cache_build_videos_per_s``: building the cache of a small synthetic set (10 s videos,
  224 px, 25 fps: 10 frames + 10 log-mels each) in one process, and ``cache_hit_s``: the
  second run's check of the same set (hash memo, no decoding);
- ``trunk_ceiling_fps``: the bare visual trunk at the same batch (``inference_mode``,
  channels_last, random input), SPEC 8's ceiling, for scale: a training step costs about
  three trunk passes (forward + backward) of both trunks, so ~1/4 of it is expected.

``load_average`` before and after: on a busy machine every figure drops.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "train"
THREADS = 2
WARMUP = 2
STEPS = 4
REPS = 2
CONFIGS = {"demo": 32, "full": 16}  # config -> batch size


def _model(preset: str):
    from model_core.model import ModelConfig, build_model
    from model_core.train.options import model_settings

    return build_model(ModelConfig(num_classes=8, **model_settings(preset)))


def random_steps(preset: str, batch: int, steps: int = STEPS, reps: int = REPS) -> float:
    """Best samples/s of ``steps`` training steps on random in-memory tensors."""
    import torch

    from model_core.model import head_loss, pick_negatives

    torch.manual_seed(0)
    model = _model(preset).train()
    size = model.config.image_size
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    frames = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8)
    mels = torch.randn(batch, 1, 64, 101) * 20 - 30
    labels = torch.arange(batch) % 8

    def step():
        V, a = model.visual(frames), model.audio(mels)
        loss = head_loss(model, V, a, labels, "dnm", negatives=pick_negatives(labels, batch))["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(WARMUP):
        step()
    best = 0.0
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(steps):
            step()
        best = max(best, steps * batch / (time.perf_counter() - t))
    return best


def trunk_ceiling(preset: str, batch: int) -> float:
    import torch

    model = _model(preset).eval().to(memory_format=torch.channels_last)
    size = model.config.image_size
    x = torch.rand(batch, 3, size, size).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        for _ in range(2):
            model.visual_trunk(x)
        best = 0.0
        for _ in range(REPS):
            t = time.perf_counter()
            for _ in range(3):
                model.visual_trunk(x)
            best = max(best, 3 * batch / (time.perf_counter() - t))
    return best


def synth_set(videos: int = 12) -> Path:
    """A small synthetic set in benchmarks/out (made once)."""
    data = OUT / f"synth{videos}"
    if not (data / "avsol-e.json").exists():
        from model_core.cli import main

        if main(["synth", str(data), "--videos", str(videos), "--seed", "7", "--classes", "4"]) != 0:
            raise RuntimeError("avsol synth failed")
    return data


def cache_figures(data: Path, preset: str) -> dict:
    """Cache build rate (fresh folder) and the cost of a second, all-hit pass."""
    import shutil

    from model_core.train.dataset import load_training_data
    from model_core.train.feature_cache import FeatureCache, build_entries
    from model_core.train.options import model_settings

    paths = [v.path for v in load_training_data(data).videos]
    folder = OUT / f"cache_build_{preset}"
    shutil.rmtree(folder, ignore_errors=True)
    size = model_settings(preset)["image_size"]
    t = time.perf_counter()
    build_entries(FeatureCache(folder, size), paths)
    build = time.perf_counter() - t
    t = time.perf_counter()
    build_entries(FeatureCache(folder, size), paths)
    return {"cache_build_videos_per_s": round(len(paths) / build, 2),
            "cache_hit_s": round(time.perf_counter() - t, 4), "videos": len(paths)}


def cache_steps(data: Path, preset: str, batch: int, steps: int) -> float:
    """Median samples/s of the Trainer's step events, from the feature cache."""
    from model_core.train.loop import Trainer
    from model_core.train.options import TrainOptions, model_settings

    rates: list[float] = []

    class Timed(Trainer):
        # time the step alone (batch gather + forward/backward/update): with a small set
        # every step also ends an epoch, whose validation and checkpoint are not the step
        def _train_step(self, idx):
            t = time.perf_counter()
            out = super()._train_step(idx)
            if self.step >= WARMUP:
                rates.append(len(idx) / (time.perf_counter() - t))
            return out

    opts = TrainOptions(data=str(data), head="dnm", epochs=100, out=str(OUT / f"bench_{preset}.pt"),
                        device="cpu", batch_size=batch, model=model_settings(preset), log_every=1,
                        save_every=10**6, cache=str(OUT / f"cache_{preset}"), threads=THREADS)
    opts.stop_after_steps = WARMUP + steps
    Timed(opts).run()
    return statistics.median(rates) if rates else float("nan")


def run(quick: bool = False) -> dict:
    import torch

    torch.set_num_threads(THREADS)
    OUT.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    figures: dict = {"threads": THREADS, "head": "dnm"}
    data = synth_set()
    for preset, batch in CONFIGS.items():
        steps = 2 if quick else STEPS
        f = {"batch": batch,
             "random_samples_per_s": round(random_steps(preset, batch, steps, 1 if quick else REPS), 2),
             "cache_samples_per_s": round(cache_steps(data, preset, batch, steps), 2),
             "trunk_ceiling_fps": round(trunk_ceiling(preset, batch), 2)}
        f["ratio_to_ceiling"] = round(f["random_samples_per_s"] / f["trunk_ceiling_fps"], 3)
        f["cache_vs_random"] = round(f["cache_samples_per_s"] / f["random_samples_per_s"], 3)
        f.update(cache_figures(data, preset))
        figures[preset] = f
    figures["load_average"] = {"before": [round(x, 2) for x in load_before],
                               "after": [round(x, 2) for x in os.getloadavg()]}
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick="--quick" in sys.argv), indent=1))
