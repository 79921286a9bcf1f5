"""Paired comparison of heads scored on the same items (``avsol compare``, SPEC 9).

Why paired: two heads evaluated on the same test items differ per item far less than their
overall rates vary with the draw of items, so the difference of two heads is estimated on
the per-item differences ``d_i = m_A(i) - m_B(i)`` and its uncertainty by resampling
*items* (paired bootstrap): ``R`` resamples of the ``n`` shared items with replacement, the
mean of ``d`` over each, and the 2.5 / 97.5 percentiles of those means as the 95 % interval.
The resamples are drawn once per pair from a recorded seed, so a compare file is
reproducible.

Per-item metrics (each head's report value is exactly their mean over its localized items):

- ``ciou@0.5``: 1 if the item's cIoU >= 0.5 else 0;
- ``auc``: the item's share of the trapezoid area under the success curve, i.e.
  ``sum_k (1[c >= t_k] + 1[c >= t_k+1]) / 2 * (t_k+1 - t_k)`` over the thresholds
  0, 0.05, ..., 1 (the area is linear in the success indicators, so the mean over items of
  this is the report's AUC);
- ``pointing``: 1 if the map's peak is inside a sounding box;
- ``mean_ciou``: the item's cIoU;
- ``pixel_ap``: the item's pixel AP (items where it is undefined are left out of that
  metric, for both heads alike).

Training seeds: models of the same *kind* (the training head ``avc``/``cls``/``dnm`` named
by the checkpoint in the report's meta, else the head name) are seeds of one head. Per kind
the compare file gives each metric's mean and standard deviation over seeds; per pair of
kinds, the paired difference of the seed-averaged per-item metric (the interval is over
items, for the heads' average over seeds) and the per-seed differences' mean and spread.

This module never imports Qt or torch.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from model_core.metrics.localization import AUC_THRESHOLDS, SUCCESS_CIOU

METRICS = ("ciou@0.5", "auc", "pointing", "mean_ciou", "pixel_ap")
DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 0
CONFIDENCE = 0.95
FORMAT = "avsol-compare"
VERSION = 1


def item_auc(cious: np.ndarray) -> np.ndarray:
    """Each item's contribution to the AUC of SPEC 5 (their mean is ``localization.auc``)."""
    c = np.asarray(cious, dtype=np.float64)
    ok = (c[:, None] >= AUC_THRESHOLDS[None, :]).astype(np.float64)
    out = ((ok[:, 1:] + ok[:, :-1]) / 2 * np.diff(AUC_THRESHOLDS)[None, :]).sum(axis=1)
    out[np.isnan(c)] = np.nan
    return out


def item_metrics(rows: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Per-item metric vectors (``METRICS``, NaN where undefined) of report rows, which must
    be the localized items of one head (scored, with a cIoU)."""
    def col(key):
        return np.array([np.nan if r.get(key) is None else float(r[key]) for r in rows], np.float64)

    c = col("ciou")
    success = np.where(np.isnan(c), np.nan, (c >= SUCCESS_CIOU).astype(np.float64))
    return {"ciou@0.5": success, "auc": item_auc(c), "pointing": col("hit"), "mean_ciou": c,
            "pixel_ap": col("pixel_ap")}


def resample_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """``resamples x n`` item indices drawn with replacement (the bootstrap's draws)."""
    return np.random.default_rng([seed, n]).integers(0, n, size=(resamples, n))


def bootstrap_means(diffs: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Mean of ``diffs`` over each resample (rows of ``index``), NaN entries left out of
    each mean; NaN for a resample that drew only NaN entries."""
    d = np.asarray(diffs, dtype=np.float64)
    ok = ~np.isnan(d)
    vals = np.where(ok, d, 0.0)[index]
    cnt = ok[index].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return vals.sum(axis=1) / cnt


def paired_interval(diffs: np.ndarray, index: np.ndarray, confidence: float = CONFIDENCE
                    ) -> dict[str, Any]:
    """Mean paired difference and its percentile bootstrap interval.

    Returns ``{"diff", "ci": [lo, hi], "n"}``; ``diff`` and ``ci`` None without a defined
    item."""
    d = np.asarray(diffs, dtype=np.float64)
    n = int((~np.isnan(d)).sum())
    if n == 0:
        return {"diff": None, "ci": [None, None], "n": 0}
    means = bootstrap_means(d, index)
    means = means[~np.isnan(means)]
    alpha = (1.0 - confidence) / 2
    lo, hi = np.percentile(means, [100 * alpha, 100 * (1 - alpha)])
    return {"diff": float(np.nanmean(d)), "ci": [float(lo), float(hi)], "n": n}


@dataclass
class Model:
    """One head of one report: ``name`` (unique in the comparison), the report it came
    from, its head name there, its ``kind`` (training head) and checkpoint, and its
    per-item metrics keyed by (video, time in ms)."""

    name: str
    report: str
    head: str
    kind: str
    checkpoint: str | None
    keys: list[tuple[str, int]]
    metrics: dict[str, np.ndarray]

    def aligned(self, keys: Sequence[tuple[str, int]]) -> dict[str, np.ndarray]:
        pos = {k: i for i, k in enumerate(self.keys)}
        idx = np.array([pos[k] for k in keys], dtype=np.int64)
        return {m: v[idx] for m, v in self.metrics.items()}


def _mean(v: np.ndarray) -> float | None:
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else None


def _round(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else round(float(x), 6)


def _interval_entry(a: np.ndarray, b: np.ndarray, index: np.ndarray) -> dict[str, Any]:
    both = ~np.isnan(a) & ~np.isnan(b)
    d = np.where(both, a - b, np.nan)
    out = paired_interval(d, index)
    return {"a": _round(_mean(np.where(both, a, np.nan))), "b": _round(_mean(np.where(both, b, np.nan))),
            "diff": _round(out["diff"]), "ci": [_round(x) for x in out["ci"]], "n": out["n"],
            "excludes_zero": (out["ci"][0] is not None and (out["ci"][0] > 0 or out["ci"][1] < 0))}


def shared_keys(models: Sequence[Model]) -> list[tuple[str, int]]:
    """Item keys every model of ``models`` scored, in the first model's order."""
    common = set(models[0].keys)
    for m in models[1:]:
        common &= set(m.keys)
    return [k for k in models[0].keys if k in common]


def compare_models(models: Sequence[Model], resamples: int = DEFAULT_RESAMPLES,
                   seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The compare document for ``models`` (see the module docstring).

    Pairs of models are compared on the items both scored; the seed-averaged kind pairs on
    the items every model of both kinds scored. The caller checks that pairs share items.
    """
    out: dict[str, Any] = {"format": FORMAT, "version": VERSION,
                           "bootstrap": {"resamples": resamples, "seed": seed, "confidence": CONFIDENCE,
                                         "kind": "paired percentile bootstrap over items"},
                           "metrics": list(METRICS)}
    out["models"] = {m.name: {"report": m.report, "head": m.head, "kind": m.kind,
                              "checkpoint": m.checkpoint, "n_items": len(m.keys),
                              **{k: _round(_mean(v)) for k, v in m.metrics.items()}} for m in models}
    pairs = []
    for a, b in itertools.combinations(models, 2):
        keys = shared_keys([a, b])
        index = resample_indices(len(keys), resamples, seed)
        ma, mb = a.aligned(keys), b.aligned(keys)
        pairs.append({"a": a.name, "b": b.name, "n_items": len(keys),
                      "n_only_a": len(a.keys) - len(keys), "n_only_b": len(b.keys) - len(keys),
                      "metrics": {k: _interval_entry(ma[k], mb[k], index) for k in METRICS}})
    out["pairs"] = pairs

    kinds: dict[str, list[Model]] = {}
    for m in models:
        kinds.setdefault(m.kind, []).append(m)
    out["kinds"] = {}
    for kind, ms in kinds.items():
        entry: dict[str, Any] = {"models": [m.name for m in ms], "n_seeds": len(ms), "metrics": {}}
        for k in METRICS:
            vals = np.array([np.nan if (x := _mean(m.metrics[k])) is None else x for m in ms])
            vals = vals[~np.isnan(vals)]
            entry["metrics"][k] = {
                "mean": _round(vals.mean()) if vals.size else None,
                "sd": _round(vals.std(ddof=1)) if vals.size > 1 else None,
                "min": _round(vals.min()) if vals.size else None,
                "max": _round(vals.max()) if vals.size else None,
                "values": [_round(v) for v in vals]}
        out["kinds"][kind] = entry

    kind_pairs = []
    for ka, kb in itertools.combinations(list(kinds), 2):
        group = kinds[ka] + kinds[kb]
        keys = shared_keys(group)
        if not keys:
            continue
        index = resample_indices(len(keys), resamples, seed)
        al = {m.name: m.aligned(keys) for m in group}
        metrics = {}
        for k in METRICS:
            avg_a = np.nanmean(np.stack([al[m.name][k] for m in kinds[ka]]), axis=0) \
                if any(~np.isnan(al[m.name][k]).any() for m in kinds[ka]) else np.full(len(keys), np.nan)
            avg_b = np.nanmean(np.stack([al[m.name][k] for m in kinds[kb]]), axis=0) \
                if any(~np.isnan(al[m.name][k]).any() for m in kinds[kb]) else np.full(len(keys), np.nan)
            entry = _interval_entry(avg_a, avg_b, index)
            seed_diffs = _seed_differences(kinds[ka], kinds[kb], al, k)
            entry["seed_diffs"] = [_round(x) for x in seed_diffs]
            entry["seed_diff_mean"] = _round(float(np.mean(seed_diffs))) if seed_diffs else None
            entry["seed_diff_sd"] = _round(float(np.std(seed_diffs, ddof=1))) if len(seed_diffs) > 1 else None
            metrics[k] = entry
        kind_pairs.append({"a": ka, "b": kb, "n_seeds_a": len(kinds[ka]), "n_seeds_b": len(kinds[kb]),
                           "n_items": len(keys), "metrics": metrics})
    out["kind_pairs"] = kind_pairs
    return out


def _seed_differences(ma: Sequence[Model], mb: Sequence[Model], aligned: dict, metric: str) -> list[float]:
    """Per-seed differences of the metric on the shared items: seed i of ``ma`` minus seed i
    of ``mb`` (seeds paired by their order; the shorter list sets the count)."""
    out = []
    for a, b in zip(ma, mb):
        x, y = aligned[a.name][metric], aligned[b.name][metric]
        both = ~np.isnan(x) & ~np.isnan(y)
        if both.any():
            out.append(float(x[both].mean() - y[both].mean()))
    return out


__all__ = ["CONFIDENCE", "DEFAULT_RESAMPLES", "DEFAULT_SEED", "METRICS", "Model", "bootstrap_means",
           "compare_models", "item_auc", "item_metrics", "paired_interval", "resample_indices",
           "shared_keys"]
