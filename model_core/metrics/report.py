"""Aggregate item results into the report of SPEC 9, and write it (JSON + CSV, atomic).

Report layout::

    {"format": "avsol-report", "version": 2,
     "meta": {...},                      # annotations (+ sha256), checkpoints (+ sha256) / maps file,
                                         # versions, date (validated on read: report_schema)
     "notes": [...],                     # what could not be scored and why (e.g. AVE: no boxes)
     "heads": {NAME: {"ciou@0.5", "auc", "pointing", "pixel_ap", "pixel_roc_auc",
                      "mean_ciou", "n_localized", "n_items", "n_no_gt", "n_background",
                      "n_missing", "n_failed", "n_total",
                      "per_class": {CLASS: {...}}, "per_size": {BUCKET: {...}},
                      "failures": {LABEL: count}, "background": {...}, "silent": {...},
                      "classification": {...}}},
     "items": [row, ...]}                # ItemResult.to_row(), worst first

Definitions of the counts (so two reports can be checked for comparability):
``n_total`` items in the annotations for this head = ``n_items`` (scored) + ``n_missing``
(no map / no video file) + ``n_failed`` (undecodable video, NaN map). ``n_localized``:
scored event items whose GT covers a pixel, the denominator of cIoU@0.5, AUC, mean cIoU
and pointing; ``n_no_gt``: scored event items without boxes; ``n_background``: scored
background segments. Pixel AP / ROC-AUC are means over items where they are defined.
A metric over no item is ``null``.

Item order, worst first: ``failed`` rows, then ``missing`` rows (the viewer shows what is
broken at the top), then scored items by goodness ascending - cIoU for event items,
1 - p_avc for background items - then items with neither; ties by head, video, time.
"""
from __future__ import annotations

import csv
import io
import math
import os
from typing import Any, Iterable, Sequence

import numpy as np

from model_core.atomic import write_json, write_text
from model_core.metrics import localization as L
from model_core.metrics.items import FAILED, MISSING, ROW_KEYS, SCORED, SIZE_BUCKETS, ItemResult
from model_core.metrics.negatives import CSV_KEYS, csv_columns, negatives_summary
from model_core.metrics.taxonomy import FALSE_ALARM_P, LABELS

from model_core.metrics.report_schema import FORMAT, VERSION  # one definition, beside the schema


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _mean(values: Iterable[float | None]) -> float | None:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.mean(v)) if v else None


def localization_summary(items: Sequence[ItemResult]) -> dict[str, Any]:
    """cIoU@0.5, AUC, mean cIoU, pointing, pixel AP / ROC-AUC over the localized items."""
    loc = [i for i in items if i.status == SCORED and i.ciou is not None]
    c = np.array([i.ciou for i in loc], dtype=np.float64)
    return {
        "ciou@0.5": _num(L.success_rate(c)),
        "auc": _num(L.auc(c)),
        "mean_ciou": _num(float(c.mean())) if c.size else None,
        "pointing": _mean(float(i.hit) for i in loc if i.hit is not None),
        "pixel_ap": _mean(i.pixel_ap for i in loc),
        "pixel_roc_auc": _mean(i.pixel_roc_auc for i in loc),
        "n_localized": len(loc),
    }


def _counts(items: Sequence[ItemResult]) -> dict[str, int]:
    scored = [i for i in items if i.status == SCORED]
    return {
        "n_items": len(scored),
        "n_no_gt": sum(1 for i in scored if i.event and i.ciou is None),
        "n_background": sum(1 for i in scored if not i.event),
        "n_missing": sum(1 for i in items if i.status == MISSING),
        "n_failed": sum(1 for i in items if i.status == FAILED),
        "n_total": len(items),
    }


def background_summary(items: Sequence[ItemResult]) -> dict[str, Any]:
    """Background segments: false-alarm rate (p_avc > 0.5) and mean p_avc."""
    bg = [i for i in items if i.status == SCORED and not i.event and i.p_avc is not None]
    p = np.array([i.p_avc for i in bg], dtype=np.float64)
    return {"n_items": len(bg),
            "false_alarm_rate": float(np.mean(p > FALSE_ALARM_P)) if p.size else None,
            "mean_p_avc": float(p.mean()) if p.size else None}


def silent_summary(items: Sequence[ItemResult]) -> dict[str, Any]:
    """Silent-object confusion over localized items that have silent boxes: share whose
    peak is in a silent box (and no sounding box), and the mean normalised map inside the
    silent vs the sounding boxes (paired: the same items)."""
    sil = [i for i in items if i.status == SCORED and i.peak_silent is not None]
    return {"n_items": len(sil),
            "confusion_rate": _mean(1.0 if i.peak_silent else 0.0 for i in sil),
            "mean_map_silent": _mean(i.map_silent for i in sil),
            "mean_map_sounding": _mean(i.map_sounding for i in sil)}


def classification_summary(items: Sequence[ItemResult]) -> dict[str, Any]:
    """Event classification accuracy (argmax class vs the video's class) of event items."""
    cls = [i for i in items if i.status == SCORED and i.class_correct is not None]
    return {"n_items": len(cls), "accuracy": _mean(1.0 if i.class_correct else 0.0 for i in cls)}


def head_summary(items: Sequence[ItemResult]) -> dict[str, Any]:
    """Everything a report says about one head (see the module docstring)."""
    out: dict[str, Any] = {**localization_summary(items), **_counts(items)}
    per_class: dict[str, Any] = {}
    for name in sorted({i.category for i in items if i.category is not None}):
        sub = [i for i in items if i.category == name]
        bg = background_summary(sub)
        per_class[name] = {**localization_summary(sub), **_counts(sub),
                           "false_alarm_rate": bg["false_alarm_rate"],
                           "accuracy": classification_summary(sub)["accuracy"]}
        neg = negatives_summary(sub)
        if neg:
            per_class[name]["negatives"] = neg
    out["per_class"] = per_class
    out["per_size"] = {name: {**localization_summary([i for i in items if i.size == name]),
                              **_counts([i for i in items if i.size == name])}
                       for name, _ in SIZE_BUCKETS}
    labels = [i.failure for i in items if i.status == SCORED and i.failure is not None]
    out["failures"] = {label: labels.count(label) for label in LABELS}
    out["background"] = background_summary(items)
    out["silent"] = silent_summary(items)
    out["classification"] = classification_summary(items)
    neg = negatives_summary(items)
    if neg:                      # avsol eval --negatives (SPEC 9)
        out["negatives"] = neg
    return out


def _sort_key(item: ItemResult) -> tuple:
    group = {FAILED: 0, MISSING: 1}.get(item.status, 2)
    if item.status != SCORED:
        goodness = -math.inf
    elif item.event and item.ciou is not None:
        goodness = item.ciou
    elif not item.event and item.p_avc is not None:
        goodness = 1.0 - item.p_avc
    else:
        group = 3
        goodness = 0.0
    return (group, goodness, item.head, item.video, item.time)


def sort_worst_first(items: Iterable[ItemResult]) -> list[ItemResult]:
    """Items in the report's order (see the module docstring)."""
    return sorted(items, key=_sort_key)


def build_report(items: Sequence[ItemResult], heads: Sequence[str] | None = None,
                 meta: dict[str, Any] | None = None, notes: Sequence[str] = (),
                 **sections: Any) -> dict[str, Any]:
    """The report dict: per-head summaries and the item rows worst first.

    ``heads`` fixes the heads and their order (a head without items still appears, with
    zero counts); by default the heads found in ``items``. Extra keyword ``sections`` are
    added at the top level (e.g. ``unmatched`` from ``avsol metrics``).
    """
    if heads is None:
        heads = list(dict.fromkeys(i.head for i in items))
    by_head: dict[str, list[ItemResult]] = {h: [] for h in heads}
    for i in items:
        by_head.setdefault(i.head, []).append(i)
    report: dict[str, Any] = {"format": FORMAT, "version": VERSION, "meta": dict(meta or {}),
                              "notes": list(notes)}
    report["heads"] = {h: head_summary(v) for h, v in by_head.items()}
    report.update(sections)
    report["items"] = [i.to_row() for i in sort_worst_first(items)]
    return report


def comparability_problems(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Why two reports' numbers do not compare (different item counts per head); empty if
    they do. Only heads present in both are checked."""
    problems = []
    keys = ("n_total", "n_items", "n_localized", "n_background", "n_missing", "n_failed")
    for head in set(a.get("heads", {})) & set(b.get("heads", {})):
        ha, hb = a["heads"][head], b["heads"][head]
        for k in keys:
            if ha.get(k) != hb.get(k):
                problems.append(f"{head}: {k} {ha.get(k)} vs {hb.get(k)}")
    return problems


def items_csv(rows: Sequence[dict[str, Any]]) -> str:
    """The item rows as CSV text (columns ``ROW_KEYS``, then the ``neg_*`` columns when
    some row has negatives; None as an empty cell)."""
    buf = io.StringIO()
    neg = any(row.get("negatives") for row in rows)
    w = csv.DictWriter(buf, fieldnames=list(ROW_KEYS) + (list(CSV_KEYS) if neg else []),
                       extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in rows:
        cells = {**row, **csv_columns(row)} if neg else row
        w.writerow({k: ("" if v is None else v) for k, v in cells.items()})
    return buf.getvalue()


def write_report(path: str | os.PathLike, report: dict[str, Any],
                 csv_path: str | os.PathLike | None = None) -> None:
    """Write the report JSON (and the item table as CSV) atomically."""
    write_json(path, report)
    if csv_path is not None:
        write_text(csv_path, items_csv(report["items"]))


__all__ = ["FORMAT", "VERSION", "background_summary", "build_report", "classification_summary",
           "comparability_problems", "head_summary", "items_csv", "localization_summary",
           "silent_summary", "sort_worst_first", "write_report"]
