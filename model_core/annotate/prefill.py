"""Boxes proposed from a model's map, for the annotator to accept or fix (``--prefill HEAD``).

A map (any head's, on its absolute [0, 1] scale) is thresholded and split into connected
regions (8-connectivity, OpenCV's ``connectedComponentsWithStats``); each region's bounding
box, in fractions of the frame, is a proposal. The rule picks which regions to offer:

* ``"largest"``: the one largest region (the common case: one sounding object);
* ``"area:A"``: every region covering at least a share ``A`` of the map (0 < A <= 1),
  largest first, so specks of noise are not offered.

The proposals are plain coordinates; :func:`prefill_commands` turns them into undoable
:class:`~model_core.annotate.commands.AddBox` commands, so accepting a prefill is one
edit the annotator can undo like any other.
"""
from __future__ import annotations

import numpy as np

from model_core.annotate.commands import AddBox
from model_core.annotate.document import AnnotationDocument

DEFAULT_RULE = "largest"
DEFAULT_THRESHOLD = 0.5


def parse_prefill_rule(rule: str) -> tuple[str, float]:
    """``"largest"`` -> ("largest", 0); ``"area:0.02"`` -> ("area", 0.02); ValueError (one
    line naming the rule) otherwise."""
    text = str(rule).strip().lower()
    if text == "largest":
        return "largest", 0.0
    if text.startswith("area:"):
        try:
            share = float(text[5:])
        except ValueError:
            share = float("nan")
        if 0 < share <= 1:
            return "area", share
    raise ValueError(f"prefill rule {rule!r}: expected 'largest' or 'area:A' with 0 < A <= 1")


def prefill_boxes(m: np.ndarray, rule: str = DEFAULT_RULE,
                  threshold: float = DEFAULT_THRESHOLD) -> list[tuple[float, float, float, float]]:
    """Boxes (x1, y1, x2, y2 in [0, 1]) around the regions of ``m > threshold``, per ``rule``.

    ``m`` is an (h, w) map with values in [0, 1]. Largest region first. ValueError for a
    map that is not 2-D, is empty, or holds NaN / infinity, and for a bad rule.
    """
    import cv2

    kind, share = parse_prefill_rule(rule)
    m = np.asarray(m, dtype=np.float32)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"expected a 2-D map, got shape {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError("the map holds NaN or infinite values")
    h, w = m.shape
    mask = (m > threshold).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    regions = []
    for k in range(1, n):                                   # 0 is the background
        x, y, bw, bh, area = (int(v) for v in stats[k])
        regions.append((area / (h * w), (x / w, y / h, (x + bw) / w, (y + bh) / h)))
    regions.sort(key=lambda r: -r[0])
    if kind == "largest":
        return [box for _, box in regions[:1]]
    return [box for a, box in regions if a >= share]


def prefill_commands(doc: AnnotationDocument, video: str, index: int, boxes, label: str | None = None,
                     who: str | None = None) -> list[AddBox]:
    """One (not yet done) :class:`AddBox` per proposal, sounding, owned by ``who``."""
    return [AddBox(doc, video, index, box, label=label, sounding=True, who=who) for box in boxes]
