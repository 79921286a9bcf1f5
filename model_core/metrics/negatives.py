"""Audio dependence with negative audio (SPEC 5): does a head's map follow the sound?

Juanola et al. (ICASSP 2025) found that many sounding-object localizers draw nearly the
same map whatever they hear: they find salient objects, not sounding ones. ``avsol eval
--negatives`` therefore reads every event item again with three negative audios in place of
its own (``silence``, ``noise``, ``offscreen``; the off-screen kind may be drawn K times,
named ``offscreen``, ``offscreen#2``, ...). Per item and negative (:func:`item_negatives`):

- ``p_avc``: the head's correspondence score when it hears the negative;
- ``pia``: share of the 224 x 224 raw sigmoid map above 0.5 (the map should go quiet);
- ``map_iou``: IoU of the own-audio and negative maps, both binarised by the item's
  threshold rule (high: the map ignores the sound; two empty predictions count as equal, 1);
- ``map_change``: mean absolute difference of the raw (not min-max normalised) sigmoid
  maps at 224 x 224: normalisation would hide a map that correctly goes quiet.

Per head and kind (:func:`negatives_summary`, the report's ``"negatives"``): ``roc_auc`` of
p_avc separating the own audio (positives) from that kind (negatives; 0.5: the head ignores
the sound), ``false_alarm`` (share of negatives with p_avc > 0.5), the means of ``pia``,
``map_iou`` and ``map_change``, and ``n_items`` (event items with that kind; ``n_draws``
counts the negatives, K per item for ``offscreen``). The ``cls`` head never trains the bias
b of Z = w S + b (softmax ignores it), so its p_avc is uncalibrated: compare it by ROC-AUC.
Qt-free and torch-free.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from model_core.metrics.masks import minmax_normalise, resize_maps
from model_core.metrics.taxonomy import FALSE_ALARM_P

#: The negative kinds, in report order.
KINDS = ("silence", "noise", "offscreen")
#: Per-item figures of one negative (row ``negatives[NAME]``), and the summary keys.
ITEM_KEYS = ("p_avc", "pia", "map_iou", "map_change")
SUMMARY_KEYS = ("roc_auc", "false_alarm", "pia", "map_iou", "map_change", "n_items")
#: "Above 0.5" on the raw sigmoid map (pIA) and on p_avc (false alarm).
PIA_LEVEL = 0.5


def kind_of(name: str) -> str:
    """The kind of a negative's name (``offscreen#2`` -> ``offscreen``)."""
    return name.split("#", 1)[0]


def item_negatives(own_maps: np.ndarray, neg_maps: dict[str, np.ndarray], neg_p_avc: dict[str, Sequence[float]],
                   threshold: str | float | None = None, gt: np.ndarray | None = None,
                   extra: dict[str, Sequence[dict]] | None = None) -> list[dict[str, dict[str, Any]]]:
    """Per-item figures of every negative (module docstring).

    Parameters
    ----------
    own_maps : (N, h, w) raw sigmoid maps heard with the own audio.
    neg_maps, neg_p_avc : per negative name, the (N, h, w) maps and (N,) p_avc of the same
        frames heard with that negative.
    threshold : the items' threshold rule (``model_core.metrics.threshold``).
    gt : (N, 224, 224) GT maps (needed by the ``top-gt`` rule only).
    extra : per negative name, N dicts merged into the items' entries (the off-screen
        source, for the record).

    Returns
    -------
    N dicts ``{name: {"p_avc", "pia", "map_iou", "map_change", ...}}``.
    """
    from model_core.metrics.threshold import binarize_rule

    own_raw = resize_maps(np.asarray(own_maps, np.float32))
    n = len(own_raw)
    own_bin = binarize_rule(threshold, minmax_normalise(own_raw), own_raw, gt)
    out: list[dict[str, dict[str, Any]]] = [{} for _ in range(n)]
    for name, maps in neg_maps.items():
        raw = resize_maps(np.asarray(maps, np.float32))
        bins = binarize_rule(threshold, minmax_normalise(raw), raw, gt)
        inter = (own_bin & bins).reshape(n, -1).sum(axis=1)
        union = (own_bin | bins).reshape(n, -1).sum(axis=1)
        iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
        pia = (raw > PIA_LEVEL).reshape(n, -1).mean(axis=1)
        change = np.abs(raw - own_raw).reshape(n, -1).mean(axis=1)
        p = np.asarray(neg_p_avc[name], np.float64)
        for j in range(n):
            entry = {"p_avc": _f(p[j]), "pia": _f(pia[j]), "map_iou": _f(iou[j]), "map_change": _f(change[j])}
            if extra and name in extra:
                entry.update(extra[name][j])
            out[j][name] = entry
    return out


def roc_auc(pos: Sequence[float], neg: Sequence[float]) -> float | None:
    """Probability that a positive scores above a negative, ties counting half (the area
    under the ROC curve, as ``sklearn.metrics.roc_auc_score``); None without both."""
    p = np.asarray([x for x in pos if x is not None and math.isfinite(x)], np.float64)
    q = np.asarray([x for x in neg if x is not None and math.isfinite(x)], np.float64)
    if not p.size or not q.size:
        return None
    q = np.sort(q)
    below = np.searchsorted(q, p, side="left")
    ties = np.searchsorted(q, p, side="right") - below
    return float((below.sum() + 0.5 * ties.sum()) / (p.size * q.size))


def negatives_summary(items: Sequence) -> dict[str, dict[str, Any]]:
    """The report's ``"negatives"`` of one head: ``{KIND: {SUMMARY_KEYS..., "n_draws"}}``
    over its scored event items that carry negatives; {} when none does.

    Items of a video without a sound track are left out: their own audio is silence, so
    comparing it with silence, noise or another sound says nothing of audio dependence
    (the report names those videos)."""
    from model_core.metrics.items import SCORED

    rows = [i for i in items if i.status == SCORED and i.event and i.negatives and not i.silent_audio]
    if not rows:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        pos, entries, n_items = [], [], 0
        for i in rows:
            mine = [e for name, e in i.negatives.items() if kind_of(name) == kind]
            if not mine:
                continue
            n_items += 1
            pos.append(i.p_avc)
            entries += mine
        if not entries:
            continue
        neg = [e.get("p_avc") for e in entries]
        fa = [float(x > FALSE_ALARM_P) for x in neg if x is not None]
        out[kind] = {"roc_auc": roc_auc(pos, neg),
                     "false_alarm": float(np.mean(fa)) if fa else None,
                     **{k: _mean(e.get(k) for e in entries) for k in ("pia", "map_iou", "map_change")},
                     "n_items": n_items, "n_draws": len(entries)}
    return out


def csv_columns(row: dict[str, Any]) -> dict[str, Any]:
    """Flat CSV cells ``neg_<kind>_<figure>`` of one item row (means over draws)."""
    neg = row.get("negatives") or {}
    cells: dict[str, Any] = {}
    for kind in KINDS:
        mine = [e for name, e in neg.items() if kind_of(name) == kind]
        for k in ITEM_KEYS:
            cells[f"neg_{kind}_{k}"] = _mean(e.get(k) for e in mine) if mine else None
    return cells


CSV_KEYS = tuple(f"neg_{kind}_{k}" for kind in KINDS for k in ITEM_KEYS)


def summary_lines(name: str, negatives: dict[str, dict[str, Any]], head: str | None = None,
                  per_class: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Terminal lines of one head's negatives (the CLI summary): one per kind, then one
    per class with the ROC-AUC of each kind (``per_class``: the head's report section)."""
    def f(x):
        return "n/a" if x is None else f"{x:.3f}"

    lines = []
    for kind in KINDS:
        s = negatives.get(kind)
        if s is None:
            continue
        lines.append(f"{name}: negatives {kind:<9} ROC-AUC {f(s['roc_auc'])}  false alarm {f(s['false_alarm'])}  "
                     f"pIA {f(s['pia'])}  map IoU {f(s['map_iou'])}  map change {f(s['map_change'])}  "
                     f"items {s['n_items']}")
    for cls, part in (per_class or {}).items():
        neg = part.get("negatives") or {}
        if neg:
            aucs = "  ".join(f"{k} {f(neg[k]['roc_auc'])}" for k in KINDS if k in neg)
            n = max(x["n_items"] for x in neg.values())
            lines.append(f"{name}:   class {cls}: ROC-AUC {aucs}  items {n}")
    if lines and head == "cls":
        lines.append(f"{name}: note: the cls head never trains b (Z = w S + b): its p_avc is uncalibrated, "
                     "read its false alarms by ROC-AUC")
    return lines


def _f(x) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def _mean(values) -> float | None:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.mean(v)) if v else None


__all__ = ["CSV_KEYS", "ITEM_KEYS", "KINDS", "SUMMARY_KEYS", "csv_columns", "item_negatives", "kind_of",
           "negatives_summary", "roc_auc", "summary_lines"]
