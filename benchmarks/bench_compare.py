"""Memory of ``avsol compare`` against ``--resamples`` (issue 26 item 4).

Two reports of one head each over ``N_ITEMS`` shared items (the 1 350 of the issue's
probe), compared with 2 000 (the default) and 100 000 resamples. Per count: the peak of
Python-traced allocations inside :func:`compare_models` (``tracemalloc``: numpy reports
its buffers to it) and the peak resident memory (``VmHWM``) of a fresh ``avsol compare``
child. Before the chunked bootstrap one pair needed two ``resamples x n`` matrices (int64
indices and float64 values: 16 bytes a draw, 2.2 GB at 100 000 x 1 350, 22 GB at 10^6);
now the draws go in chunks of ``CHUNK_DRAWS`` and only the means grow with ``--resamples``
(8 bytes per resample and metric). Target: peak at 100 000 resamples within a few MB of
the peak at 2 000. Run with ``python -m benchmarks.run compare``.
"""
from __future__ import annotations

import json
import os
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
N_ITEMS = 1350
RESAMPLES = (2000, 100_000)

def _reports() -> list[Path]:
    """Two reports (heads ``a`` and ``b``) of ``N_ITEMS`` items with random cIoU / hits / AP."""
    import numpy as np

    from model_core.metrics.items import ItemResult
    from model_core.metrics.report import build_report, write_report

    rng = np.random.default_rng(0)
    paths = []
    for head, shift in (("a", 0.05), ("b", 0.0)):
        c = np.clip(rng.random(N_ITEMS) * 0.9 + shift, 0, 1)
        items = [ItemResult(video=f"v{i // 10:04d}.mp4", time=(i % 10) + 0.5, head=head, start=float(i % 10),
                            end=float(i % 10 + 1), ciou=float(c[i]), hit=bool(c[i] > 0.4),
                            pixel_ap=float(rng.random()), category="bell") for i in range(N_ITEMS)]
        path = OUT / f"compare_{head}.json"
        write_report(path, build_report(items, [head], {"command": "bench"}))
        paths.append(path)
    return paths


def _traced(paths: list[Path], resamples: int) -> dict:
    from model_core.cli.compare_cmd import load_models
    from model_core.metrics.compare import compare_models

    models = load_models([str(p) for p in paths])
    tracemalloc.start()
    t = time.perf_counter()
    compare_models(models, resamples=resamples, seed=0)
    wall = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"traced_peak_mb": round(peak / 2**20, 1), "wall_s": round(wall, 1)}


def _child(paths: list[Path], resamples: int) -> dict:
    out = OUT / f"compare_{resamples}.json"
    from benchmarks.bench_memory import cli_peak

    fig = cli_peak(["compare", *map(str, paths), "--out", str(out), "--resamples", str(resamples)])
    return {"peak_rss_mb": fig["peak_rss_mb"], "cli_wall_s": fig["wall_s"]}


def run() -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    paths = _reports()
    fig: dict = {"n_items": N_ITEMS, "pairs": 1,
                 "command": "avsol compare A.json B.json --out C.json --resamples R (peak VmHWM of the process); "
                            "traced: tracemalloc peak inside compare_models"}
    for r in RESAMPLES:
        fig[f"resamples_{r}"] = {**_traced(paths, r), **_child(paths, r),
                                 "before_chunking_draw_matrices_mb": round(2 * 8 * r * N_ITEMS / 2**20, 1),
                                 "load_after": [round(x, 2) for x in os.getloadavg()]}
    lo, hi = (fig[f"resamples_{r}"] for r in RESAMPLES)
    fig["rss_growth_mb"] = round(hi["peak_rss_mb"] - lo["peak_rss_mb"], 1)
    fig["target"] = "peak RSS at 100000 resamples within a few MB of the peak at 2000"
    return fig


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
