"""Score evaluation items: maps + annotated segments -> one :class:`ItemResult` each.

An item is one annotated frame with its 1 s of audio (SPEC 5). Scoring is vectorised over
the items of a call (resize, normalisation, thresholds, cIoU, peaks) and chunked so that a
maps file of thousands of items stays within a few hundred MB.

Item status:

- ``scored``: a finite map was scored (a background segment is scored too: p_avc, false
  alarm; an event whose GT covers no pixel is scored for p_avc / classification only);
- ``missing``: the item has no map (no map in the maps file, or its video file is absent);
- ``failed``: a map exists but cannot be scored (NaN/inf values) or the video could not be
  decoded; ``error`` says why.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, fields
from typing import Any, Sequence

import numpy as np

from model_core.formats.annotations import Segment
from model_core.metrics import localization as L
from model_core.metrics.masks import (SIZE, absolute_maps, gt_map, minmax_normalise, place_maps, silent_mask,
                                      sounding_mask)
from model_core.metrics.taxonomy import failure_label
from model_core.metrics.threshold import binarize_rule

SCORED, MISSING, FAILED = "scored", "missing", "failed"
#: Size buckets by sounding area (share of the 224 x 224 frame covered by the union of the
#: sounding boxes): (name, upper bound, exclusive).
SIZE_BUCKETS = (("small", 0.05), ("medium", 0.20), ("large", 0.50), ("huge", math.inf))
CHUNK = 64


def size_bucket(area: float | None) -> str | None:
    """``small`` (< 5 %), ``medium`` (< 20 %), ``large`` (< 50 %) or ``huge`` (>= 50 %)."""
    if area is None or area != area or area <= 0:
        return None
    for name, upper in SIZE_BUCKETS:
        if area < upper:
            return name
    return SIZE_BUCKETS[-1][0]


@dataclass
class ItemResult:
    """The result of one item under one head; ``to_row()`` is its JSON / CSV row.

    Attributes
    ----------
    video, time : the video file name and the time (s) of the scored frame (the map's time;
        the annotation's ``frame_time`` when there is no map), so a viewer can jump there.
    head : name of the head / model that made the map (a checkpoint's name in ``eval``).
    start, end : the annotated segment.
    status : ``scored``, ``missing`` or ``failed``; ``error`` says why when not scored.
    event : False for a background segment (row key ``kind``: ``event`` / ``background``).
    category : the video's class (row key ``class``).
    area, size : sounding area (share of the frame) and its bucket.
    ciou : cIoU (None when not computed: background, no GT, not scored).
    hit : pointing game, the map's peak inside a sounding box.
    failure : taxonomy label (``taxonomy.LABELS``) or None.
    p_avc : the head's audio-visual correspondence score, if known.
    pixel_ap, pixel_roc_auc : threshold-free scores of the raw map vs the sounding mask.
    peak_silent : the peak lies in a silent box (and no sounding box); None without silent boxes.
    map_silent, map_sounding : mean normalised map over the silent / sounding boxes.
    pred_class, class_correct : the head's event classification (event items).
    silent_audio : the video had no audio track (maps computed on silence).
    map : the head's low-resolution map (:func:`encode_map`), so that a report can be
        rescored under another threshold rule without the model (``rescore``); not a CSV
        column.
    crop : the part of the frame ``map`` covers, ``[x0, y0, x1, y1]`` fractions, for a
        centre-cropping model (LVS, SSL-TIE); None: the whole frame. Kept so that rescoring
        places the map where scoring did; not a CSV column.
    negatives : ``avsol eval --negatives``: the item heard with each negative audio,
        ``{NAME: {"p_avc", "pia", "map_iou", "map_change", ...}}``
        (:mod:`model_core.metrics.negatives`); flattened to ``neg_*`` CSV columns.
    """

    video: str
    time: float
    head: str
    start: float
    end: float
    status: str = SCORED
    error: str | None = None
    event: bool = True
    category: str | None = None
    area: float | None = None
    size: str | None = None
    ciou: float | None = None
    hit: bool | None = None
    failure: str | None = None
    p_avc: float | None = None
    pixel_ap: float | None = None
    pixel_roc_auc: float | None = None
    peak_silent: bool | None = None
    map_silent: float | None = None
    map_sounding: float | None = None
    pred_class: str | None = None
    class_correct: bool | None = None
    silent_audio: bool | None = None
    map: str | None = None
    crop: list | None = None
    negatives: dict | None = None

    def to_row(self) -> dict[str, Any]:
        """Plain JSON data, NaN as None; ``category`` under the key ``class`` and ``event``
        as ``"kind": "event" | "background"`` (``"event"`` names the JSON-line event type
        when rows are streamed as ``{"event": "item", ...row}``)."""
        row = {}
        for k in _FIELDS:
            v = getattr(self, k)
            if isinstance(v, (dict, list)):     # as dataclasses.asdict: the row owns its copy
                v = copy.deepcopy(v)
            elif isinstance(v, (float, np.floating)):
                v = None if not math.isfinite(v) else float(v)
            elif isinstance(v, np.bool_):
                v = bool(v)
            if k == "event":
                k, v = "kind", "event" if v else "background"
            row[_ROW_NAME.get(k, k)] = v
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "ItemResult":
        """Inverse of :meth:`to_row` (unknown keys ignored, for rows of newer versions)."""
        names = {f.name for f in fields(cls)}
        kw = {_FIELD_NAME.get(k, k): v for k, v in row.items()}
        if "kind" in row:
            kw["event"] = row["kind"] != "background"
        return cls(**{k: v for k, v in kw.items() if k in names})


#: Field names in order; ``to_row`` reads them directly: ``dataclasses.asdict`` deep-copies
#: every value through its generic recursion, which cost about a millisecond a row, the
#: price of an item's whole scoring again when an evaluation's rows are logged and reported.
_FIELDS = tuple(f.name for f in fields(ItemResult))
_ROW_NAME = {"category": "class"}
_FIELD_NAME = {"class": "category"}
#: Row keys in the order of the CSV columns.
ROW_KEYS = tuple({"category": "class", "event": "kind"}.get(f.name, f.name) for f in fields(ItemResult)
                 if f.name not in ("map", "crop", "negatives"))


def encode_map(m: np.ndarray) -> str:
    """A low-resolution float32 map as ``"HxW:" + base64`` (exact, ~270 characters for
    7 x 7): small enough to ride along in every item row."""
    import base64

    a = np.ascontiguousarray(m, dtype="<f4")
    return f"{a.shape[0]}x{a.shape[1]}:" + base64.b64encode(a.tobytes()).decode("ascii")


def decode_map(text: str) -> np.ndarray:
    """Inverse of :func:`encode_map`; ``ValueError`` on anything else."""
    import base64
    import binascii

    try:
        shape, data = text.split(":", 1)
        h, w = (int(x) for x in shape.split("x"))
        a = np.frombuffer(base64.b64decode(data, validate=True), dtype="<f4")
        return a.reshape(h, w).astype(np.float32)
    except (ValueError, TypeError, AttributeError, binascii.Error) as exc:
        raise ValueError(f"not an encoded map: {exc}") from None


def _opt(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def unscored_items(segments: Sequence[Segment], *, videos: Sequence[str], head: str,
                   status: str, error: str, categories: Sequence[str | None] | None = None,
                   times: Sequence[float] | None = None) -> list[ItemResult]:
    """Rows for items without a usable map (``missing`` or ``failed``), with their GT facts
    (event, class, size) so that per-class and per-size counts stay complete."""
    out = []
    for i, seg in enumerate(segments):
        area = float(sounding_mask(seg).mean()) if seg.event else None
        out.append(ItemResult(
            video=videos[i], time=float(times[i]) if times is not None else seg.frame_time,
            head=head, start=seg.start, end=seg.end, status=status, error=error,
            event=seg.event, category=categories[i] if categories is not None else None,
            area=area, size=size_bucket(area)))
    return out


def score_items(maps: np.ndarray, segments: Sequence[Segment], *, videos: Sequence[str], head: str,
                times: Sequence[float] | None = None, categories: Sequence[str | None] | None = None,
                p_avc: Sequence[float] | None = None, class_probs: np.ndarray | None = None,
                classes: Sequence[str] | None = None, threshold: str | float | None = None,
                silent_audio: Sequence[bool] | None = None, map_kind: str = "sigmoid",
                tau: float | None = None, crop=None) -> list[ItemResult]:
    """Score ``N`` maps against their segments (SPEC 5).

    Parameters
    ----------
    maps : (N, h, w) maps at any resolution (e.g. 7 x 7 sigmoid(Z)); resized to 224 x 224
        bilinear, min-max normalised for the thresholded metrics.
    segments : the N annotated segments (GT boxes, event flag).
    videos, times : per item, the video name and the time of the map (default: the
        segment's ``frame_time``).
    head : the name the rows carry.
    categories : per item, the video's class.
    p_avc : per item, the head's correspondence score (background false alarms).
    class_probs, classes : (N, C) class probabilities and their names, for event
        classification against ``categories``.
    threshold : the threshold rule (``model_core.metrics.threshold``: ``median`` when
        None, ``fixed:T``, ``top-gt``; a bare number is a threshold of the normalised map).
    silent_audio : per item, whether the maps were computed on silence (no audio track).
    map_kind, tau : the maps' native scale (``model_core.map_scale.MAP_KINDS``); the
        maps are put on their absolute [0, 1] scale first
        (:func:`~model_core.metrics.masks.absolute_maps`), so ``fixed:T`` and ``slavc``
        mean the same for every family. The row's ``map`` keeps that absolute low-resolution
        map (rescoring reads it as a [0, 1] map).
    crop : the part of the frame the maps cover (``(x0, y0, x1, y1)`` fractions, one or
        per item; None: the whole frame): see :func:`~model_core.metrics.masks.place_maps`.

    Returns
    -------
    list of ItemResult, in input order. Maps with NaN / inf values give ``failed`` items.
    """
    maps = np.asarray(maps)
    n = len(segments)
    if maps.ndim != 3 or maps.shape[0] != n:
        raise ValueError(f"expected {n} maps of shape (h, w), got {maps.shape}")
    results: list[ItemResult] = []
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        chunk = absolute_maps(maps[lo:hi], map_kind, tau) if maps.shape[0] else maps[lo:hi]
        box = None if crop is None else np.broadcast_to(np.asarray(crop, np.float64).reshape(-1, 4), (n, 4))[lo:hi]
        results.extend(_score_chunk(chunk, segments[lo:hi], lo, videos=videos, head=head,
                                    times=times, categories=categories, p_avc=p_avc,
                                    class_probs=class_probs, classes=classes, threshold=threshold,
                                    silent_audio=silent_audio, crop=box))
    return results


def _score_chunk(maps, segments, offset, *, videos, head, times, categories, p_avc, class_probs,
                 classes, threshold, silent_audio, crop=None) -> list[ItemResult]:
    finite = np.isfinite(maps).all(axis=(1, 2))
    big = place_maps(np.where(finite[:, None, None], maps, 0).astype(np.float32), crop)
    norm = minmax_normalise(big)
    gt = np.stack([gt_map(s) for s in segments]) if segments else np.zeros((0, SIZE, SIZE), np.float32)
    snd = np.stack([sounding_mask(s) for s in segments]) if segments else gt.astype(bool)
    sil = np.stack([silent_mask(s) for s in segments]) if segments else gt.astype(bool)
    cious = L.ciou(binarize_rule(threshold, norm, big, gt), gt)
    peak = L.peaks(big)
    in_snd = L.peak_inside(peak, snd)
    in_sil = L.peak_inside(peak, sil)
    m_sil = L.mean_inside(norm, sil)
    m_snd = L.mean_inside(norm, snd)
    areas = snd.reshape(len(snd), -1).mean(axis=1)
    out = []
    for j, seg in enumerate(segments):
        i = offset + j
        cat = categories[i] if categories is not None else None
        pa = _opt(p_avc[i]) if p_avc is not None else None
        item = ItemResult(video=videos[i], time=float(times[i]) if times is not None else seg.frame_time,
                          head=head, start=seg.start, end=seg.end, event=seg.event, category=cat,
                          p_avc=pa, silent_audio=None if silent_audio is None else bool(silent_audio[i]))
        if not finite[j]:
            item.status, item.error = FAILED, "map holds NaN or infinite values"
            area = float(areas[j]) if seg.event else None
            item.area, item.size = area, size_bucket(area)
            out.append(item)
            continue
        item.map = encode_map(maps[j])
        if crop is not None and tuple(float(c) for c in crop[j]) != (0.0, 0.0, 1.0, 1.0):
            item.crop = [round(float(c), 6) for c in crop[j]]
        if class_probs is not None and classes and seg.event:   # a family without classes: none
            k = int(np.argmax(class_probs[i]))
            item.pred_class = classes[k]
            item.class_correct = bool(cat is not None and classes[k] == cat) if cat in classes else None
        if seg.event and areas[j] > 0:
            item.area = float(areas[j])
            item.size = size_bucket(item.area)
            item.ciou = _opt(cious[j])
            item.hit = bool(in_snd[j])
            ap, roc = L.pixel_ap_roc_auc_one(big[j], snd[j])
            item.pixel_ap, item.pixel_roc_auc = _opt(ap), _opt(roc)
            item.map_sounding = _opt(m_snd[j])
            if sil[j].any():
                item.peak_silent = bool(in_sil[j] and not in_snd[j])
                item.map_silent = _opt(m_sil[j])
        elif seg.event:
            item.area = 0.0
        item.failure = failure_label(seg.event, item.ciou, item.hit, item.peak_silent, item.p_avc)
        out.append(item)
    return out
