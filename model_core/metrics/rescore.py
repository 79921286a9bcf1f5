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

from model_core.data_layout import AVE_ANNOTATIONS
from model_core.errors import InputError
from model_core.metrics.items import SCORED, ItemResult, decode_map, score_items
from model_core.metrics.report import build_report
from model_core.metrics.threshold import canonical


def annotations_source(ann: str | os.PathLike) -> str:
    """What :func:`~model_core.formats.eval_set.load_eval_set` takes for the annotations a report
    names: an AVE ``Annotations.txt`` is read through its folder (the AVE loader), an
    AVSOL-E file as itself - so an AVE report is never parsed as JSON."""
    ann = os.fspath(ann)
    if os.path.isfile(ann) and os.path.basename(ann) == AVE_ANNOTATIONS:
        return os.path.dirname(ann) or "."
    return ann


def report_eval_set(report: dict[str, Any], annotations: str | os.PathLike | None = None):
    """The evaluation set behind a report (its ``meta.annotations`` and ``meta.data``, or
    ``annotations``), read with the evaluation's own loader (AVSOL-E and AVE alike)."""
    from model_core.formats.eval_set import load_eval_set

    meta = report.get("meta") or {}
    ann = annotations or meta.get("annotations")
    if not ann:
        raise InputError(None, "the report names no annotations: pass them to rescore it")
    if not os.path.exists(ann):
        raise InputError(ann, "the report's annotations are not there any more (needed to rescore)")
    source = annotations_source(ann)
    data = meta["data"] if annotations is None and meta.get("data") and os.path.isdir(meta["data"]) \
        else source
    return load_eval_set(data, source if os.path.exists(source) else None)


def _segments(evalset) -> dict:
    """(video, start, end) -> (Segment, category): items are matched by their segment."""
    return {(v.name, round(s.start, 6), round(s.end, 6)): (s, v.category)
            for v in evalset.videos for s in v.segments}


def check_annotations(report: dict[str, Any], evalset, allow_changed: bool = False) -> dict[str, Any]:
    """Compare the annotations' sha256 now with the one the report recorded.

    Returns the meta fields to record (``annotations_sha256`` now; with ``allow_changed``
    and a change, ``annotations_changed``: {"was", "now"}). A change without
    ``allow_changed`` is an ``InputError``: rescoring old maps against new boxes would mix
    two data sets under one name, and the figures would change with no word."""
    from model_core.metrics.meta import file_sha256

    meta = report.get("meta") or {}
    was = meta.get("annotations_sha256")
    now = file_sha256(evalset.annotations)
    out: dict[str, Any] = {"annotations_sha256": now}
    if was and now and was != now:
        if not allow_changed:
            raise InputError(evalset.annotations, f"changed since the report was scored (sha256 {was[:12]}… "
                                                  f"then, {now[:12]}… now): rescore with "
                                                  f"--allow-changed-annotations to use the new boxes")
        out["annotations_changed"] = {"was": was, "now": now}
    return out


def _stamp(text: Any) -> str | None:
    """A time stamp cut to ``YYYY-MM-DDTHH:MM:SS`` (UTC), so a report's ``meta.date``
    (``+00:00``) and a history entry's ``when`` (``Z``) compare as strings."""
    return text[:19] if isinstance(text, str) and len(text) >= 19 else None


def changed_segments(report: dict[str, Any], evalset) -> tuple[set[tuple] | None, str]:
    """The segments ``(video, start, end)`` whose ground truth differs from the one the
    report was scored on, and how that was found; ``(None, why)`` when it cannot be told.

    The old file, when it is still there under the report's ``meta.annotations`` with the
    sha256 the report recorded (a corrected copy saved elsewhere): every segment is
    compared (boxes, annotators, silent boxes, event flag). Else the new set's ``history``
    of corrections (``model_core.annotate``, docs/annotate-format.md): the segments of the
    entries made after the report's ``meta.date`` (a set corrected in place).
    """
    from model_core.formats._common import read_json
    from model_core.metrics.meta import file_sha256

    meta = report.get("meta") or {}
    new = _segments(evalset)
    old_path = meta.get("annotations")
    if old_path and os.path.isfile(old_path) and meta.get("annotations_sha256") \
            and os.path.realpath(old_path) != os.path.realpath(evalset.annotations) \
            and file_sha256(old_path) == meta["annotations_sha256"]:
        old = _segments(report_eval_set(report))
        keys = {k for k in set(old) | set(new) if (old.get(k) or (None,))[0] != (new.get(k) or (None,))[0]}
        return keys, f"compared with {old_path}"
    since = _stamp(meta.get("date"))
    try:
        raw = read_json(evalset.annotations) if str(evalset.annotations).lower().endswith(".json") else None
    except InputError:
        raw = None
    history = raw.get("history") if isinstance(raw, dict) else None
    if since is None or not isinstance(history, list):
        return None, "the old annotations are gone and the new set has no history of corrections"
    by_frame = {(k[0], round(seg.frame_time, 6)): k for k, (seg, _) in new.items()}
    keys = set()
    for entry in history:
        if not isinstance(entry, dict) or not isinstance(entry.get("frame_time"), (int, float)):
            continue
        when = _stamp(entry.get("when"))
        key = by_frame.get((entry.get("video"), round(float(entry["frame_time"]), 6)))
        if key is not None and (when is None or when >= since):
            keys.add(key)
    return keys, f"from the history of {evalset.annotations} since {since}"


def _crops(rows) -> np.ndarray | None:
    """Each row's ``crop`` (a centre-cropping model's part of the frame), so the map is put
    back where scoring put it; None when every map covers the whole frame."""
    if not any(r.get("crop") for r in rows):
        return None
    return np.array([r.get("crop") or (0.0, 0.0, 1.0, 1.0) for r in rows], dtype=np.float64)


def rescore_report(report: dict[str, Any], rule: str | float | None,
                   annotations: str | os.PathLike | None = None,
                   allow_changed_annotations: bool = False) -> dict[str, Any]:
    """A new report: ``report``'s items rescored under ``rule`` (see the module docstring).

    ``meta.threshold`` names the new rule and ``meta.rescored_from`` the old one. Every
    section is kept: the rows' ``negatives`` ride along (their ``map_iou`` stays under the
    old rule: the negative maps are not stored, and ``meta.negatives.map_iou_rule`` says
    so). Annotations that changed since the report was scored stop it
    (:func:`check_annotations`) unless ``allow_changed_annotations``; then the rows whose
    ground truth changed carry ``gt_changed: true`` (:func:`changed_segments`),
    ``meta.annotations_changed`` records the old and new sha256 and ``meta.gt_changed`` the
    old file, how many items changed (null when it cannot be told) and how it was found.
    """
    rule = canonical(rule)
    evalset = report_eval_set(report, annotations)
    provenance = check_annotations(report, evalset, allow_changed_annotations)
    segs = _segments(evalset)
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
                          threshold=rule, crop=_crops([rows[i] for i in idx]))
        for i, item in zip(idx, new):
            old = rows[i]
            item.pred_class, item.class_correct = old.get("pred_class"), old.get("class_correct")
            item.silent_audio = old.get("silent_audio")
            item.negatives = old.get("negatives")
            out[i] = item
    meta = dict(report.get("meta", {}))
    meta["rescored_from"] = canonical(meta.get("threshold"))
    meta["threshold"] = rule
    meta.update(provenance)
    changed: set[tuple] | None = None
    if "annotations_changed" in provenance:
        changed, how = changed_segments(report, evalset)
        meta["gt_changed"] = {"was_file": (report.get("meta") or {}).get("annotations"), "items": None, "how": how}
        meta["annotations"] = str(evalset.annotations)
    notes = [n for n in report.get("notes", []) if not n.startswith(("rescored:", "annotations changed:"))]
    if "annotations_changed" in provenance:
        notes.append(f"annotations changed: rescored against {evalset.annotations} as it is now "
                     f"(sha256 {provenance['annotations_changed']['was'][:12]}… when scored)")
    if any(r.get("negatives") for r in rows if isinstance(r, dict)):
        neg = dict(meta.get("negatives") or {})
        neg.setdefault("map_iou_rule", meta["rescored_from"])
        meta["negatives"] = neg
        notes = [n for n in notes if not n.startswith("negatives carried:")]
        notes.append(f"negatives carried: p_avc, pIA and map change do not depend on the rule; map IoU "
                     f"stays under {neg['map_iou_rule']} (the negative maps are not in the report)")
    if kept:
        notes.append(f"rescored: {kept} scored item(s) had no map or no annotated segment and keep "
                     f"their {meta['rescored_from']} numbers")
    sections = {k: v for k, v in report.items() if k not in ("format", "version", "meta", "notes", "heads", "items")}
    new_report = build_report([o for o in out if o is not None], list(report.get("heads", {})), meta, notes,
                              **sections)
    if changed is not None:
        n = 0
        for row in new_report["items"]:
            if (row.get("video"), round(row.get("start") or 0.0, 6), round(row.get("end") or 0.0, 6)) in changed:
                row["gt_changed"] = True
                n += 1
        info = new_report["meta"]["gt_changed"] = dict(meta["gt_changed"], items=n)
        new_report["notes"].append(f"ground truth changed: {n} item row(s) marked gt_changed ({info['how']})")
    elif "gt_changed" in meta:
        # a report rescored after a correction, rescored again (another rule): the rows keep
        # their marks (ItemResult drops unknown keys, so they are carried here by segment)
        marked = {(r.get("video"), round(r.get("start") or 0.0, 6), round(r.get("end") or 0.0, 6))
                  for r in rows if isinstance(r, dict) and r.get("gt_changed") is True}
        n = 0
        for row in new_report["items"]:
            if (row.get("video"), round(row.get("start") or 0.0, 6), round(row.get("end") or 0.0, 6)) in marked:
                row["gt_changed"] = True
                n += 1
        if marked:
            new_report["notes"].append(f"ground truth changed: {n} item row(s) marked gt_changed "
                                       f"({meta['gt_changed']['how']})")
        else:
            new_report["notes"].append(f"ground truth changed: which items is unknown ({meta['gt_changed']['how']})")
    return new_report


def read_report(path: str | os.PathLike, strict: bool = False) -> dict[str, Any]:
    """A saved report (``avsol eval`` / ``avsol metrics``) with a valid header
    (:mod:`~model_core.metrics.report_schema`); ``InputError`` naming the file and the
    first bad field otherwise. ``strict`` (the CLI) refuses bad item rows too; otherwise
    they are left for the reader to mark (the viewer's ``show_report`` does)."""
    from model_core.metrics.report_schema import read_report as read_checked

    return read_checked(path, strict=strict)[0]


def report_rule(report: dict[str, Any]) -> str:
    """The threshold rule a report was scored with (older reports: None means median)."""
    return canonical(report.get("meta", {}).get("threshold"))


__all__ = ["read_report", "report_rule", "rescore_report"]
