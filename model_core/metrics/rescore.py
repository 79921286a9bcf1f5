"""Rescore a saved report under another threshold rule, without the model (SPEC 5).

Every scored item row carries its head's low-resolution map (``ItemResult.map``), so a
report holds what the thresholded metrics need except the GT boxes, which are read again
from the annotations the report names (``meta.annotations``, or ``annotations=``). The
threshold-free numbers (pointing, pixel AP, p_avc, classification) come out unchanged;
cIoU, the success rate, AUC and the failure labels follow the rule. Rows without a map
(reports written before maps rode along, missing / failed items) keep their numbers and
are counted in a note.
"""
from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

import numpy as np

from model_core.errors import InputError
from model_core.metrics.items import SCORED, ItemResult, decode_map, score_items
from model_core.metrics.report import build_report
from model_core.metrics.threshold import canonical


def _segments(report: dict[str, Any], annotations: str | os.PathLike | None) -> dict:
    """(video, start, end) -> (Segment, category) from the report's annotations."""
    from model_core.evaluation.dataset import load_eval_set

    meta = report.get("meta", {})
    ann = annotations or meta.get("annotations")
    if not ann:
        raise InputError(None, "the report names no annotations: pass them to rescore it")
    if not os.path.exists(ann):
        raise InputError(ann, "the report's annotations are not there any more (needed to rescore)")
    data = meta.get("data") if annotations is None and meta.get("data") and os.path.isdir(meta["data"]) else ann
    evalset = load_eval_set(data, ann if os.path.isfile(ann) else None)
    return {(v.name, round(s.start, 6), round(s.end, 6)): (s, v.category)
            for v in evalset.videos for s in v.segments}


def rescore_report(report: dict[str, Any], rule: str | float | None,
                   annotations: str | os.PathLike | None = None) -> dict[str, Any]:
    """A new report: ``report``'s items rescored under ``rule`` (see the module docstring).

    ``meta.threshold`` names the new rule and ``meta.rescored_from`` the old one.
    """
    rule = canonical(rule)
    segs = _segments(report, annotations)
    rows = report.get("items", [])
    out: list[ItemResult | None] = [None] * len(rows)
    groups: dict[tuple, list[int]] = defaultdict(list)
    maps: dict[int, np.ndarray] = {}
    kept = 0
    for i, row in enumerate(rows):
        key = (row.get("video"), round(row.get("start") or 0.0, 6), round(row.get("end") or 0.0, 6))
        if row.get("status") != SCORED or not row.get("map") or key not in segs:
            out[i] = ItemResult.from_row(row)
            kept += row.get("status") == SCORED
            continue
        try:
            maps[i] = decode_map(row["map"])
        except ValueError:
            out[i] = ItemResult.from_row(row)
            kept += 1
            continue
        groups[(row.get("head"), maps[i].shape)].append(i)
    for (head, _), idx in groups.items():
        found = [segs[(rows[i]["video"], round(rows[i]["start"], 6), round(rows[i]["end"], 6))] for i in idx]
        new = score_items(np.stack([maps[i] for i in idx]), [s for s, _ in found],
                          videos=[rows[i]["video"] for i in idx], head=head,
                          times=[rows[i]["time"] for i in idx], categories=[rows[i].get("class") for i in idx],
                          p_avc=[np.nan if rows[i].get("p_avc") is None else rows[i]["p_avc"] for i in idx],
                          threshold=rule)
        for i, item in zip(idx, new):
            old = rows[i]
            item.pred_class, item.class_correct = old.get("pred_class"), old.get("class_correct")
            item.silent_audio = old.get("silent_audio")
            out[i] = item
    meta = dict(report.get("meta", {}))
    meta["rescored_from"] = meta.get("threshold") or "median"
    meta["threshold"] = rule
    notes = [n for n in report.get("notes", []) if not n.startswith("rescored:")]
    if kept:
        notes.append(f"rescored: {kept} scored item(s) had no map or no annotated segment and keep "
                     f"their {meta['rescored_from']} numbers")
    sections = {k: v for k, v in report.items() if k not in ("format", "version", "meta", "notes", "heads", "items")}
    return build_report([o for o in out if o is not None], list(report.get("heads", {})), meta, notes, **sections)


def read_report(path: str | os.PathLike) -> dict[str, Any]:
    """A saved report (``avsol eval`` / ``avsol metrics``), checked enough to be shown or
    rescored; ``InputError`` naming the file otherwise."""
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            report = json.load(fh)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(path, f"is not a JSON report: {exc}") from None
    if not isinstance(report, dict) or report.get("format") != "avsol-report" \
            or not isinstance(report.get("heads"), dict) or not isinstance(report.get("items"), list):
        raise InputError(path, "is not an AVSOL report (no 'format': 'avsol-report' with heads and items)")
    return report


def report_rule(report: dict[str, Any]) -> str:
    """The threshold rule a report was scored with (older reports: None means median)."""
    return canonical(report.get("meta", {}).get("threshold"))


__all__ = ["read_report", "report_rule", "rescore_report"]
