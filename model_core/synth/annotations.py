"""Ground truth of a synthetic set in the two formats of SPEC 4 (AVSOL-E v1 and AVE).

Boxes are the true extent of each object at the segment's frame time (the segment's
middle), computed from the same trajectory the frames are drawn from, as fractions
[x1, y1, x2, y2] of the frame. The AVE rows are the contiguous runs of event segments.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from model_core.synth.plan import VideoPlan
from model_core.synth.scene import ObjectPlan

AVE_HEADER = "Category&VideoID&Quality&StartTime&EndTime"
SPLITS = ("train", "val", "test")
_DECIMALS = 5


def box_at(obj: ObjectPlan, extent: tuple[int, int, int, int], t: float,
           width: int, height: int) -> list[float]:
    """Box [x1, y1, x2, y2] (fractions, clipped to [0, 1]) of ``obj`` at time ``t``;
    ``extent`` is its sprite's opaque bounds (see :class:`~model_core.synth.scene.Sprite`)."""
    left, top = obj.top_left(t)
    x0, y0, x1, y1 = extent
    raw = ((left + x0) / width, (top + y0) / height, (left + x1) / width, (top + y1) / height)
    return [round(min(1.0, max(0.0, v)), _DECIMALS) for v in raw]


def video_entry(plan: VideoPlan, extents: Sequence[tuple[int, int, int, int]],
                class_names: Sequence[str], width: int, height: int) -> dict:
    """The AVSOL-E v1 ``videos[]`` entry of one planned video.

    In an event segment the sounding object is in ``sounding`` and the other objects in
    ``silent``; in a background segment nothing sounds on screen, so ``sounding`` is empty
    and every visible object, the category's too, is listed as ``silent``.
    """
    segments = []
    for s, kind in enumerate(plan.kinds):
        t = s + 0.5
        event = kind == "event"
        sounding: list[dict] = []
        silent: list[dict] = []
        for j, (obj, ext) in enumerate(zip(plan.objects, extents)):
            item = {"box": box_at(obj, ext, t, width, height),
                    "label": class_names[obj.class_index]}
            (sounding if event and j == plan.sounding else silent).append(item)
        segments.append({"start": float(s), "end": float(s + 1), "frame_time": t,
                         "event": event, "sounding": sounding, "silent": silent})
    return {"video": plan.name, "category": class_names[plan.category], "segments": segments}


def avsol_e_document(class_names: Sequence[str], entries: Sequence[dict]) -> dict:
    """The whole AVSOL-E v1 document."""
    return {"format": "avsol-e", "version": 1, "classes": list(class_names),
            "videos": list(entries)}


def event_runs(entry: dict) -> list[tuple[int, int]]:
    """Contiguous runs [start, end) of event segments of a video entry, in whole seconds."""
    runs: list[tuple[int, int]] = []
    for seg in entry["segments"]:
        if not seg["event"]:
            continue
        start, end = int(seg["start"]), int(seg["end"])
        if runs and runs[-1][1] == start:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    return runs


def ave_lines(entries: Sequence[dict]) -> list[str]:
    """AVE rows ``Category&VideoID&good&Start&End`` (one per event run) of ``entries``."""
    lines = []
    for entry in entries:
        video_id = entry["video"].rsplit(".", 1)[0]
        for start, end in event_runs(entry):
            lines.append(f"{entry['category']}&{video_id}&good&{start}&{end}")
    return lines


def ave_text(lines: Sequence[str]) -> str:
    return "\n".join([AVE_HEADER, *lines]) + "\n"


def split_indices(categories: Sequence[str], seed: int) -> dict[str, list[int]]:
    """Deterministic ~70/15/15 split of videos (by index), stratified by category.

    Videos are grouped by category (each group shuffled with ``seed``) and the val/test
    picks are evenly spaced along that sequence, so every split gets each category in
    proportion. With 3 or more videos, val and test get at least one each.
    """
    n = len(categories)
    rng = np.random.default_rng([seed, 2**31 - 2])
    sequence: list[int] = []
    for cat in sorted(set(categories)):
        members = [i for i, c in enumerate(categories) if c == cat]
        sequence += [members[j] for j in rng.permutation(len(members))]
    n_hold = max(1, round(0.15 * n)) if n >= 3 else 0
    test_pos = {int((i + 0.5) * n / n_hold) for i in range(n_hold)}
    val_pos = {p + 1 for p in test_pos}
    out: dict[str, list[int]] = {name: [] for name in SPLITS}
    for pos, index in enumerate(sequence):
        name = "test" if pos in test_pos else "val" if pos in val_pos else "train"
        out[name].append(index)
    return {name: sorted(v) for name, v in out.items()}
