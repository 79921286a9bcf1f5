"""Inter-annotator agreement on an AVSOL-E set (``avsol agreement``, and the viewer's dock).

Two annotators A and B are compared on every segment where both said something (a box or
a "no sounding object visible" mark); segments only one of them annotated are counted as
``not_compared``, never scored as disagreement.

Per segment:

* ``box_iou``: the two annotators' *sounding* boxes are matched one-to-one to maximise the
  total IoU (Hungarian assignment, :func:`match_boxes`); the segment's figure is the sum of
  matched IoUs divided by the larger box count, so a box the other annotator did not draw
  counts as IoU 0. None when neither drew a sounding box.
* ``sounding_agree``: all boxes (sounding and silent) are matched the same way; pairs with
  IoU >= :data:`SAME_OBJECT_IOU` are the same object, and the segment agrees when every such
  pair has the same sounding/silent flag. None when no object is shared.
* ``no_sounding_agree``: both marked "no sounding object visible", or neither did.
* ``label``: each annotator's label of the segment, for Cohen's kappa: the label of their
  largest sounding box (``"(unlabelled)"`` if it has none), or ``"(no sounding object)"``.

Per class (the video's category) and overall: the mean of the segments' ``box_iou``, the
share of segments agreeing on sounding/silent and on "no sounding object", and Cohen's
kappa of the segment labels, ``(p_o - p_e) / (1 - p_e)`` (None when ``p_e`` is 1: one
label only, kappa undefined).

scipy is not a runtime dependency, so the assignment is a small O(n^3) Hungarian here; a
segment has a handful of boxes.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

from model_core.annotate.document import AnnotationDocument, EditBox, EditSegment

#: Two boxes of different annotators with at least this IoU are taken as the same object.
SAME_OBJECT_IOU = 0.5
NO_SOUNDING = "(no sounding object)"
UNLABELLED = "(unlabelled)"


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two [x1, y1, x2, y2] boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def assign(score: list[list[float]]) -> list[tuple[int, int]]:
    """The one-to-one assignment of rows to columns maximising the total score.

    Hungarian method (potentials, O(n^3)) on the square matrix padded with zeros; returns
    (row, column) pairs of real rows and columns only.
    """
    n_rows = len(score)
    n_cols = len(score[0]) if n_rows else 0
    n = max(n_rows, n_cols)
    if n == 0:
        return []
    big = max((v for row in score for v in row), default=0.0)
    cost = [[(big - score[i][j]) if i < n_rows and j < n_cols else big for j in range(n)] for i in range(n)]
    inf = float("inf")
    u, v = [0.0] * (n + 1), [0.0] * (n + 1)
    p, way = [0] * (n + 1), [0] * (n + 1)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = [inf] * (n + 1)
        used = [False] * (n + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = p[j0], inf, 0
            for j in range(1, n + 1):
                if not used[j]:
                    cur = cost[i0 - 1][j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(n + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    return sorted((p[j] - 1, j - 1) for j in range(1, n + 1) if p[j] - 1 < n_rows and j - 1 < n_cols)


def match_boxes(a: Sequence[EditBox], b: Sequence[EditBox]) -> list[tuple[int, int, float]]:
    """Pairs (index in a, index in b, IoU) of the IoU-maximising matching, IoU > 0 only."""
    score = [[iou(x.coords, y.coords) for y in b] for x in a]
    return [(i, j, score[i][j]) for i, j in assign(score) if score[i][j] > 0]


def segment_label(seg: EditSegment, who: str | None) -> str:
    """The annotator's label of the segment, as Cohen's kappa compares them."""
    boxes = seg.boxes_of(who, sounding=True)
    if not boxes:
        return NO_SOUNDING
    largest = max(boxes, key=lambda b: (b.x2 - b.x1) * (b.y2 - b.y1))
    return largest.label or UNLABELLED


def annotated_by(seg: EditSegment, who: str | None) -> bool:
    return who in seg.no_sounding or any(b.annotator == who for b in seg.boxes)


def segment_agreement(seg: EditSegment, a: str | None, b: str | None) -> dict | None:
    """The figures of one segment (see the module docstring); None if not both annotated it."""
    if not (annotated_by(seg, a) and annotated_by(seg, b)):
        return None
    sa, sb = seg.boxes_of(a, sounding=True), seg.boxes_of(b, sounding=True)
    box_iou = None
    if sa or sb:
        box_iou = sum(m[2] for m in match_boxes(sa, sb)) / max(len(sa), len(sb))
    alla, allb = seg.boxes_of(a), seg.boxes_of(b)
    same = [(alla[i], allb[j]) for i, j, v in match_boxes(alla, allb) if v >= SAME_OBJECT_IOU]
    sounding_agree = None if not same else all(x.sounding == y.sounding for x, y in same)
    return {"frame_time": seg.frame_time, "box_iou": box_iou, "sounding_agree": sounding_agree,
            "no_sounding_agree": (a in seg.no_sounding) == (b in seg.no_sounding),
            "labels": [segment_label(seg, a), segment_label(seg, b)]}


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa of paired labels; None when undefined (no pairs, or p_e = 1)."""
    n = len(pairs)
    if n == 0:
        return None
    p_o = sum(x == y for x, y in pairs) / n
    ca, cb = Counter(x for x, _ in pairs), Counter(y for _, y in pairs)
    p_e = sum(ca[k] * cb[k] for k in ca) / (n * n)
    if p_e >= 1.0:
        return None
    return (p_o - p_e) / (1 - p_e)


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def _summary(rows: list[dict]) -> dict:
    snd = [r["sounding_agree"] for r in rows if r["sounding_agree"] is not None]
    return {
        "segments": len(rows),
        "box_iou": _mean([r["box_iou"] for r in rows]),
        "box_iou_segments": sum(r["box_iou"] is not None for r in rows),
        "sounding_agree": (sum(snd) / len(snd)) if snd else None,
        "sounding_segments": len(snd),
        "no_sounding_agree": (sum(r["no_sounding_agree"] for r in rows) / len(rows)) if rows else None,
        "label_agree": (sum(r["labels"][0] == r["labels"][1] for r in rows) / len(rows)) if rows else None,
        "kappa": cohen_kappa([tuple(r["labels"]) for r in rows]),
    }


def agreement(doc: AnnotationDocument, annotators: Sequence[str | None] | None = None) -> dict:
    """Agreement of two annotators over the whole set: per segment, per class and overall.

    ``annotators`` defaults to the first two in the set. ValueError (one line) when the set
    has fewer than two, or a named one is absent.
    """
    present = doc.annotators
    if annotators is None:
        if len(present) < 2:
            raise ValueError(f"needs two annotators; the set has {len(present)}"
                             + (f" ({', '.join('(unnamed)' if p is None else p for p in present)})"
                                if present else ""))
        annotators = present[:2]
    if len(annotators) != 2:
        raise ValueError(f"give exactly two annotators, got {len(annotators)}")
    a, b = annotators
    for who in (a, b):
        if who not in present:
            raise ValueError(f"annotator {who!r} is not in the set (it has: "
                             f"{', '.join('(unnamed)' if p is None else repr(p) for p in present) or 'none'})")
    if a == b:
        raise ValueError("give two different annotators")
    segments: list[dict[str, Any]] = []
    by_class: dict[str, list[dict[str, Any]]] = {}
    not_compared = 0
    for v in doc.videos:
        for k, seg in enumerate(v.segments):
            row = segment_agreement(seg, a, b)
            if row is None:
                not_compared += annotated_by(seg, a) or annotated_by(seg, b)
                continue
            row = {"video": v.video, "segment": k, "category": v.category, **row}
            segments.append(row)
            by_class.setdefault(v.category, []).append(row)
    overall = _summary(segments)
    overall["not_compared"] = not_compared
    return {"annotators": [a, b], "same_object_iou": SAME_OBJECT_IOU, "overall": overall,
            "classes": {c: _summary(rows) for c, rows in sorted(by_class.items())},
            "segments": segments}


#: The annotator recorded on a consensus box (it is nobody's drawing).
CONSENSUS = "(consensus)"


def consensus(seg: EditSegment, annotators: Sequence[str | None] | None = None) -> list[EditBox]:
    """The boxes a majority of the annotators drew on ``seg``, coordinates averaged.

    Voters are the ``annotators`` (default: everyone on the segment) who annotated this
    segment (a box or a "no sounding object" mark): someone who has not reached it yet
    neither votes for nor against its boxes. Their boxes (sounding and silent alike) are
    grouped object by object: the first voter's boxes start the groups, and each next
    voter's boxes are matched one-to-one to the groups' mean boxes with the same Hungarian
    assignment as :func:`match_boxes`; a pair with IoU >= :data:`SAME_OBJECT_IOU` joins the
    group, any other box starts a new one. A group is kept when more than half of the
    voters drew it (two voters: both). A kept box has the mean of its group's coordinates,
    the most common label (ties: the first drawn; None only if nobody labelled it), and is
    sounding when at least half of its boxes are (a set of sounding objects: a tie keeps
    the object as sounding rather than dropping it from the metrics). Its annotator is
    :data:`CONSENSUS`. The result is new boxes; ``seg`` is not changed.
    """
    voters = [w for w in (seg.annotators if annotators is None else annotators) if annotated_by(seg, w)]
    voters = list(dict.fromkeys(voters))
    groups: list[list[EditBox]] = []
    for who in voters:
        theirs = seg.boxes_of(who)
        means = [_mean_coords(g) for g in groups]
        score = [[iou(m, b.coords) for b in theirs] for m in means]
        joined: set[int] = set()
        for gi, bi in (assign(score) if means and theirs else []):
            if score[gi][bi] >= SAME_OBJECT_IOU:
                groups[gi].append(theirs[bi])
                joined.add(bi)
        groups += [[b] for k, b in enumerate(theirs) if k not in joined]
    out = []
    for g in groups:
        if 2 * len(g) <= len(voters):
            continue
        labels = Counter(b.label for b in g if b.label)
        label = max(labels, key=lambda x: (labels[x], -[b.label for b in g].index(x))) if labels else None
        x1, y1, x2, y2 = _mean_coords(g)
        out.append(EditBox(x1, y1, x2, y2, label=label, sounding=2 * sum(b.sounding for b in g) >= len(g),
                           annotator=CONSENSUS))
    return out


def _mean_coords(boxes: Sequence[EditBox]) -> tuple[float, float, float, float]:
    n = len(boxes)
    return tuple(sum(b.coords[k] for b in boxes) / n for k in range(4))  # type: ignore[return-value]
