"""Paired comparison of heads scored on the same items (``avsol compare``, SPEC 9).

Why paired: two heads evaluated on the same test items differ per item far less than their
overall rates vary with the draw of items, so the difference of two heads is estimated on
the per-item differences ``d_i = m_A(i) - m_B(i)`` and its uncertainty by resampling
*items* (paired bootstrap): ``R`` resamples of the ``n`` shared items with replacement, the
mean of ``d`` over each, and the 2.5 / 97.5 percentiles of those means as the 95 % interval.
The resamples are drawn once per pair from a recorded seed, so a compare file is
reproducible. They are drawn and used in chunks of about :data:`CHUNK_DRAWS` item indices
(:class:`Resampler`), every metric of a pair from the same chunk, so memory does not grow
with ``--resamples`` beyond the means themselves (8 bytes per resample and metric: 40 MB at
the 1 000 000 allowed, where one index matrix would take 22 GB); the chunks continue one
random stream, so the draws - and the intervals - are exactly those of one big draw.

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
from model_core.metrics.report_schema import COMPARE_FORMAT as FORMAT, COMPARE_VERSION as VERSION

METRICS = ("ciou@0.5", "auc", "pointing", "mean_ciou", "pixel_ap")
DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 0
CONFIDENCE = 0.95


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


#: item indices drawn at once (8 MB of int64): the bootstrap's working memory
CHUNK_DRAWS = 1 << 20


class Resampler:
    """The bootstrap's draws of ``n`` items, ``resamples`` times, from ``seed``, handed out
    in chunks of whole resamples (:meth:`chunks`): each call replays the same stream."""

    def __init__(self, n: int, resamples: int, seed: int, chunk: int = CHUNK_DRAWS):
        self.n, self.resamples, self.seed = int(n), int(resamples), int(seed)
        self.rows = max(1, chunk // max(1, self.n))

    def chunks(self):
        rng = np.random.default_rng([self.seed, self.n])
        for lo in range(0, self.resamples, self.rows):
            yield rng.integers(0, self.n, size=(min(self.rows, self.resamples - lo), self.n))


def resample_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """``resamples x n`` item indices drawn with replacement (the bootstrap's draws) as
    one matrix - for small cases and tests; :class:`Resampler` draws the same in chunks."""
    return np.concatenate(list(Resampler(n, resamples, seed).chunks())) if resamples else \
        np.zeros((0, n), np.int64)


def _as_chunks(index):
    return index.chunks() if isinstance(index, Resampler) else (np.asarray(index),)


def bootstrap_means(diffs: np.ndarray, index) -> np.ndarray:
    """Mean of ``diffs`` over each resample (rows of ``index``, a matrix or a
    :class:`Resampler`), NaN entries left out of each mean; NaN for a resample that drew
    only NaN entries."""
    return bootstrap_means_many(np.asarray(diffs, dtype=np.float64)[None, :], index)[0]


def bootstrap_means_many(diffs: np.ndarray, index) -> np.ndarray:
    """:func:`bootstrap_means` of each row of ``diffs`` (M x n) over the same resamples,
    one chunk of draws at a time: (M x R)."""
    d = np.asarray(diffs, dtype=np.float64)
    ok = ~np.isnan(d)
    filled = np.where(ok, d, 0.0)
    parts = []
    for idx in _as_chunks(index):
        out = np.empty((len(d), len(idx)))
        for m in range(len(d)):
            with np.errstate(invalid="ignore", divide="ignore"):
                out[m] = filled[m][idx].sum(axis=1) / ok[m][idx].sum(axis=1)
        parts.append(out)
    return np.concatenate(parts, axis=1) if parts else np.zeros((len(d), 0))


def _interval(d: np.ndarray, means: np.ndarray, confidence: float) -> dict[str, Any]:
    n = int((~np.isnan(d)).sum())
    if n == 0:
        return {"diff": None, "ci": [None, None], "n": 0}
    means = means[~np.isnan(means)]
    alpha = (1.0 - confidence) / 2
    lo, hi = np.percentile(means, [100 * alpha, 100 * (1 - alpha)])
    return {"diff": float(np.nanmean(d)), "ci": [float(lo), float(hi)], "n": n}


def paired_interval(diffs: np.ndarray, index, confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Mean paired difference and its percentile bootstrap interval (``index``: the draws,
    a matrix or a :class:`Resampler`).

    Returns ``{"diff", "ci": [lo, hi], "n"}``; ``diff`` and ``ci`` None without a defined
    item."""
    d = np.asarray(diffs, dtype=np.float64)
    if not (~np.isnan(d)).any():
        return {"diff": None, "ci": [None, None], "n": 0}
    return _interval(d, bootstrap_means(d, index), confidence)


@dataclass
class Model:
    """One head of one report: ``name`` (unique in the comparison), the report it came
    from, its head name there, its ``kind`` (training head) and checkpoint, and its
    per-item metrics keyed by segment (video, start, end): an item is its annotated
    segment, whatever time within it a map was taken at (0.48 s vs 0.5 s is one item)."""

    name: str
    report: str
    head: str
    kind: str
    checkpoint: str | None
    keys: list[tuple]
    metrics: dict[str, np.ndarray]
    annotations_sha256: str | None = None

    def aligned(self, keys: Sequence[tuple]) -> dict[str, np.ndarray]:
        pos = {k: i for i, k in enumerate(self.keys)}
        idx = np.array([pos[k] for k in keys], dtype=np.int64)
        return {m: v[idx] for m, v in self.metrics.items()}


def _mean(v: np.ndarray) -> float | None:
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else None


def _round(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else round(float(x), 6)


def _interval_entries(a: dict[str, np.ndarray], b: dict[str, np.ndarray], index) -> dict[str, dict[str, Any]]:
    """Every metric's paired interval of ``a`` vs ``b``, all from one pass over the draws."""
    both = {k: ~np.isnan(a[k]) & ~np.isnan(b[k]) for k in METRICS}
    d = np.stack([np.where(both[k], a[k] - b[k], np.nan) for k in METRICS])
    means = bootstrap_means_many(d, index)
    out = {}
    for j, k in enumerate(METRICS):
        iv = _interval(d[j], means[j], CONFIDENCE)
        out[k] = {"a": _round(_mean(np.where(both[k], a[k], np.nan))),
                  "b": _round(_mean(np.where(both[k], b[k], np.nan))),
                  "diff": _round(iv["diff"]), "ci": [_round(x) for x in iv["ci"]], "n": iv["n"],
                  "excludes_zero": (iv["ci"][0] is not None and (iv["ci"][0] > 0 or iv["ci"][1] < 0))}
    return out


def shared_keys(models: Sequence[Model]) -> list[tuple]:
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
                              "checkpoint": m.checkpoint, "annotations_sha256": m.annotations_sha256,
                              "n_items": len(m.keys),
                              **{k: _round(_mean(v)) for k, v in m.metrics.items()}} for m in models}
    pairs = []
    for a, b in itertools.combinations(models, 2):
        keys = shared_keys([a, b])
        index = Resampler(len(keys), resamples, seed)
        ma, mb = a.aligned(keys), b.aligned(keys)
        pairs.append({"a": a.name, "b": b.name, "n_items": len(keys),
                      "n_only_a": len(a.keys) - len(keys), "n_only_b": len(b.keys) - len(keys),
                      "metrics": _interval_entries(ma, mb, index)})
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
        index = Resampler(len(keys), resamples, seed)
        al = {m.name: m.aligned(keys) for m in group}
        avg_a = {k: _seed_average([al[m.name][k] for m in kinds[ka]]) for k in METRICS}
        avg_b = {k: _seed_average([al[m.name][k] for m in kinds[kb]]) for k in METRICS}
        entries = _interval_entries(avg_a, avg_b, index)
        metrics = {}
        for k in METRICS:
            entry = entries[k]
            seed_diffs = _seed_differences(kinds[ka], kinds[kb], al, k)
            entry["seed_diffs"] = [_round(x) for x in seed_diffs]
            entry["seed_diff_mean"] = _round(float(np.mean(seed_diffs))) if seed_diffs else None
            entry["seed_diff_sd"] = _round(float(np.std(seed_diffs, ddof=1))) if len(seed_diffs) > 1 else None
            metrics[k] = entry
        kind_pairs.append({"a": ka, "b": kb, "n_seeds_a": len(kinds[ka]), "n_seeds_b": len(kinds[kb]),
                           "n_items": len(keys), "metrics": metrics})
    out["kind_pairs"] = kind_pairs
    return out


def _seed_average(columns: list[np.ndarray]) -> np.ndarray:
    """Per item, the mean over seeds of a metric, leaving out the seeds where it is
    undefined (NaN only where every seed's is). One seed's null item no longer voids the
    whole metric: the old test ``~np.isnan(x).any()`` negated the *any*, not the mask."""
    stack = np.stack(columns)
    ok = ~np.isnan(stack)
    total = np.where(ok, stack, 0.0).sum(axis=0)
    count = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


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


__all__ = ["CHUNK_DRAWS", "CONFIDENCE", "DEFAULT_RESAMPLES", "DEFAULT_SEED", "METRICS", "Model", "Resampler",
           "bootstrap_means", "bootstrap_means_many",
           "compare_models", "item_auc", "item_metrics", "paired_interval", "resample_indices",
           "shared_keys"]
