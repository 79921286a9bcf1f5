"""The evaluation's words for people: what each failure label means, and an item's line.

The report's vocabulary (``miss``, ``diffuse``, ``wrong_object``, ``false_alarm``; ``hit``
True/False; fields that may be null) is exact but terse; a user sees it in the items table,
the filter and the inspection line without the spec at hand. The explanations follow the
rules of :mod:`model_core.metrics.taxonomy`, in the order it applies them. No Qt here.
"""
from __future__ import annotations

import math
from typing import Any

#: label -> what it means, in words (model_core.metrics.taxonomy's rules).
FAILURE_HELP = {
    "ok": "localized: cIoU at least 0.5 against the sounding boxes",
    "diffuse": "the map's peak is on the sounding object, but the map spreads too wide (cIoU below 0.5)",
    "wrong_object": "the map's peak is on a silent object (a silent box), not on the one that sounds",
    "miss": "the map's peak is outside every box, or the map is flat (no peak at all)",
    "false_alarm": "a segment with no audio-visual event, yet the head says one is there (p(av) above 0.5)",
    "failed": "the item could not be scored (its error is in the tooltip)",
    "missing": "the item's video was not found, so it was not scored",
    "-": "no label: nothing to localise against (no boxes, e.g. AVE annotations) or p(av) unknown",
}


def failure_help(label: str | None) -> str:
    """The explanation of ``label`` ("" for one this version does not know)."""
    return FAILURE_HELP.get(str(label) if label is not None else "-", "")


def failure_legend() -> str:
    """Every label and its meaning, one per line (the failure column's header tooltip)."""
    return "\n".join(f"{k}: {v}" for k, v in FAILURE_HELP.items())


def _num(x, spec: str = ".3f") -> str | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return None if x is None else str(x)
    return format(x, spec)


def describe(row: dict[str, Any]) -> str:
    """One human line of an item: which head, where, and its numbers; unknown (null)
    fields are left out, ``hit`` says "hit" / "miss", a failure label comes with what it
    means. Any value of the wrong type shows as its text: this runs in Qt slots, where
    nothing may raise."""
    from avsol_viewer.maps.head_style import head_label

    head = row.get("head")
    where = head_label(str(head)) if head is not None else "?"
    if row.get("video") is not None:
        where += f" · {row.get('video')}"
    t = _num(row.get("time"), ".2f")
    if t is not None:
        where += f" at {t} s"
    if row.get("status", "scored") != "scored":
        return f"{where}: {row.get('status')}" + (f": {row.get('error')}" if row.get("error") else "")
    what = [str(v) for v in (row.get("class"), row.get("kind")) if v is not None]
    if row.get("size") is not None:
        what.append(f"{row.get('size')} object")
    parts = []
    c = _num(row.get("ciou"))
    if c is not None:
        parts.append(f"cIoU {c}")
    if isinstance(row.get("hit"), bool):
        parts.append("hit" if row["hit"] else "miss")
    for key, name in (("p_avc", "p(av)"), ("pixel_ap", "pixel AP")):
        v = _num(row.get(key))
        if v is not None:
            parts.append(f"{name} {v}")
    failure = row.get("failure")
    if failure is not None and failure != "ok":
        parts.append(f"{failure}: {failure_help(failure) or 'label unknown to this version'}")
    negatives = row.get("negatives")
    tail = "".join(f"; {k} p(av) {_num(e.get('p_avc') if isinstance(e, dict) else e) or 'n/a'}"
                   for k, e in (negatives.items() if isinstance(negatives, dict) else ()))
    return f"{where}" + (f" ({', '.join(what)})" if what else "") + ": " + ", ".join(parts) + tail
