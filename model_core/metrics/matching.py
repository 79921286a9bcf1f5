"""Match the maps of a maps file to annotated segments, and evaluate a maps file.

A map belongs to a segment of the same video (same file name) when its time lies in the
segment's [start, end); when several maps do, the one nearest to the segment's
``frame_time`` is scored (the earliest in the file on ties) and the others are counted as
``unused``. Maps of videos that are not annotated, or at times outside every annotated
segment, are ``unmatched`` and listed by (video, time); annotated segments with no map are
``missing`` items. Nothing is dropped silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model_core.formats.annotations import AvsolE, Segment
from model_core.metrics.items import MISSING, ItemResult, score_items, unscored_items


@dataclass
class Matching:
    """How the maps of a file meet the annotations.

    Attributes
    ----------
    pairs : (video name, category, segment, map index or None) for every annotated segment,
        in annotation order.
    unmatched : (video, time, reason) of maps that fall in no annotated segment.
    unused : indices of maps inside a segment that a nearer map of the same segment won.
    """

    pairs: list[tuple[str, str, Segment, int | None]] = field(default_factory=list)
    unmatched: list[tuple[str, float, str]] = field(default_factory=list)
    unused: list[int] = field(default_factory=list)


def match_maps(videos: np.ndarray, times: np.ndarray, annotations: AvsolE) -> Matching:
    """Assign maps (given by their ``videos`` and ``times``) to annotated segments."""
    videos = np.asarray(videos).astype(str)
    times = np.asarray(times, dtype=np.float64)
    by_video: dict[str, np.ndarray] = {}
    order = np.argsort(videos, kind="stable")
    names, starts = np.unique(videos[order], return_index=True)
    bounds = list(starts) + [len(order)]
    for k, name in enumerate(names):
        by_video[str(name)] = order[bounds[k]:bounds[k + 1]]
    m = Matching()
    used = np.zeros(len(videos), dtype=bool)
    inside = np.zeros(len(videos), dtype=bool)
    for va in annotations.videos:
        idx = by_video.get(va.video, np.zeros(0, dtype=np.int64))
        t = times[idx]
        for seg in va.segments:
            cand = idx[(t >= seg.start) & (t < seg.end)]
            chosen = None
            if cand.size:
                inside[cand] = True
                dist = np.abs(times[cand] - seg.frame_time)
                chosen = int(cand[np.flatnonzero(dist == dist.min()).min()])
                used[chosen] = True
            m.pairs.append((va.video, va.category, seg, chosen))
    for i in np.flatnonzero(~inside):
        reason = ("video not in the annotations" if str(videos[i]) not in annotations
                  else "time outside every annotated segment")
        m.unmatched.append((str(videos[i]), float(times[i]), reason))
    m.unused = [int(i) for i in np.flatnonzero(inside & ~used)]
    return m


def evaluate_maps(maps: np.ndarray, videos: np.ndarray, times: np.ndarray, annotations: AvsolE,
                  head: str, p_avc: np.ndarray | None = None,
                  threshold: float | None = None, map_kind: str = "sigmoid", tau: float | None = None,
                  crop=None) -> tuple[list[ItemResult], Matching]:
    """Score a maps file's maps against AVSOL-E annotations (``map_kind``, ``tau``,
    ``crop``: the file's scale and frame region, as :func:`score_items` takes them).

    Returns every annotated item's result (``missing`` where no map matched) in
    annotation order, and the :class:`Matching` (for the report's ``unmatched`` section).
    """
    m = match_maps(videos, times, annotations)
    results: list[ItemResult | None] = [None] * len(m.pairs)
    have = [k for k, p in enumerate(m.pairs) if p[3] is not None]
    if have:
        sel = np.array([m.pairs[k][3] for k in have])
        scored = score_items(maps[sel], [m.pairs[k][2] for k in have],
                             videos=[m.pairs[k][0] for k in have], head=head,
                             times=times[sel], categories=[m.pairs[k][1] for k in have],
                             p_avc=None if p_avc is None else p_avc[sel], threshold=threshold,
                             map_kind=map_kind, tau=tau, crop=crop)
        for k, r in zip(have, scored):
            results[k] = r
    for k, (video, cat, seg, idx) in enumerate(m.pairs):
        if idx is None:
            results[k] = unscored_items([seg], videos=[video], head=head, status=MISSING,
                                        error="no map for this segment in the maps file",
                                        categories=[cat])[0]
    return [r for r in results if r is not None], m


def unmatched_section(m: Matching, limit: int = 1000) -> dict[str, Any]:
    """The report's ``unmatched`` section: counts and the first ``limit`` maps by name."""
    return {"n_unmatched": len(m.unmatched), "n_unused": len(m.unused),
            "maps": [{"video": v, "time": t, "reason": r} for v, t, r in m.unmatched[:limit]]}
