"""Ground truth as 224 x 224 masks and maps resized for the thresholded metrics (SPEC 5).

Conventions, chosen so that our numbers compare with the field's public evaluation code:

- A box ``[x1, y1, x2, y2]`` (fractions of the frame, clipped to [0, 1]) covers the pixel
  slice ``rows int(224*y1):int(224*y2), columns int(224*x1):int(224*x2)`` (LVS's code;
  ``int`` truncates). A box thinner than a pixel may therefore cover nothing.
- The frame is resized to 224 x 224 *without* cropping (EZ-VSL), so box fractions map
  straight onto the mask whatever the frame's aspect ratio.
- With several annotators the GT map is the consensus ``G = min(1, sum_j b_j / 2)``, where
  ``b_j`` is the union mask of annotator j's boxes (Senocak et al. 2018).
- A model's map (e.g. 7 x 7 ``sigmoid(Z)``) is resized with ``cv2.resize(...,
  INTER_LINEAR)``. For float input this is the half-pixel-centred bilinear interpolation of
  ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`` without
  antialiasing (tested in ``tests/test_metrics_masks.py``), i.e. SPEC 3's upsampling.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from model_core.formats.annotations import Box, Segment

#: Side of the square masks and resized maps every metric works on.
SIZE = 224


def box_slices(box: Box | Sequence[float], size: int = SIZE) -> tuple[slice, slice]:
    """The (rows, columns) slices a box covers on a ``size`` x ``size`` mask.

    ``box`` is a :class:`Box` or ``(x1, y1, x2, y2)`` in fractions of the frame;
    coordinates are clipped to [0, 1] and scaled with truncation (LVS's convention).
    """
    x1, y1, x2, y2 = box.coords if isinstance(box, Box) else tuple(box)
    c = [min(1.0, max(0.0, float(v))) for v in (x1, y1, x2, y2)]
    return (slice(int(size * c[1]), int(size * c[3])), slice(int(size * c[0]), int(size * c[2])))


def union_mask(boxes: Iterable[Box | Sequence[float]], size: int = SIZE) -> np.ndarray:
    """Boolean ``size`` x ``size`` mask of the union of ``boxes`` (all False if none)."""
    mask = np.zeros((size, size), dtype=bool)
    for box in boxes:
        rows, cols = box_slices(box, size)
        mask[rows, cols] = True
    return mask


def consensus_map(annotators: Iterable[Iterable[Box | Sequence[float]]], size: int = SIZE) -> np.ndarray:
    """Consensus GT map ``min(1, sum_j b_j / 2)`` of several annotators (float32 in {0, .5, 1}).

    ``b_j`` is the union mask of annotator j's boxes: an annotator who drew two overlapping
    boxes still votes once per pixel.
    """
    votes = np.zeros((size, size), dtype=np.float32)
    for boxes in annotators:
        votes += union_mask(boxes, size)
    return np.minimum(1.0, votes / 2.0).astype(np.float32)


def gt_map(segment: Segment, size: int = SIZE) -> np.ndarray:
    """The GT map G of cIoU for one segment, float32 in [0, 1].

    The union of the sounding boxes, or the annotators' consensus (SPEC 5). All zero for a
    background segment or an event without (pixel-covering) boxes.
    """
    kind, boxes = segment.gt_boxes_for_metrics()
    if kind == "annotators":
        return consensus_map(boxes, size)
    return union_mask(boxes, size).astype(np.float32)


def sounding_mask(segment: Segment, size: int = SIZE) -> np.ndarray:
    """Union of every sounding box (all annotators' boxes when given that way), boolean.

    The mask of the pointing game, of pixel AP / ROC-AUC and of the size breakdown.
    """
    return union_mask(segment.sounding_boxes, size)


def silent_mask(segment: Segment, size: int = SIZE) -> np.ndarray:
    """Union of the silent boxes, boolean (all False if the segment lists none)."""
    return union_mask(segment.silent, size)


def resize_maps(maps: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Resize ``(h, w)`` or ``(N, h, w)`` maps to ``size`` x ``size``, bilinear, float32.

    Uses OpenCV's INTER_LINEAR, which for float32 input equals torch's bilinear
    ``align_corners=False`` interpolation; maps already at ``size`` are returned as float32.
    Non-finite values propagate (the caller decides what a NaN map means).
    """
    import cv2

    arr = np.asarray(maps, dtype=np.float32)
    single = arr.ndim == 2
    if single:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"maps must be (h, w) or (N, h, w), got shape {arr.shape}")
    if arr.shape[1:] == (size, size):
        out = np.ascontiguousarray(arr)
    else:
        out = np.empty((arr.shape[0], size, size), dtype=np.float32)
        for i, m in enumerate(arr):
            out[i] = cv2.resize(np.ascontiguousarray(m), (size, size), interpolation=cv2.INTER_LINEAR)
    return out[0] if single else out


def minmax_normalise(maps: np.ndarray) -> np.ndarray:
    """Min-max normalise each map of ``(h, w)`` or ``(N, h, w)`` to [0, 1], float32.

    A constant map has no contrast: it becomes all zeros (as LVS's ``normalize_img`` does,
    where EZ-VSL's would divide by zero). NaNs propagate.
    """
    arr = np.asarray(maps, dtype=np.float32)
    single = arr.ndim == 2
    if single:
        arr = arr[None]
    lo = arr.min(axis=(1, 2), keepdims=True)
    span = arr.max(axis=(1, 2), keepdims=True) - lo
    out = arr - lo
    with np.errstate(invalid="ignore"):
        out /= np.where(span > 0, span, np.float32(np.inf))   # x / inf = 0: constant -> 0
    out[~np.isfinite(lo[:, 0, 0]) | ~np.isfinite(span[:, 0, 0])] = np.nan
    return out[0] if single else out


def absolute_maps(maps: np.ndarray, map_kind: str = "sigmoid", tau: float | None = None) -> np.ndarray:
    """A model's NATIVE maps on their absolute [0, 1] scale, the scale ``fixed:T`` and
    ``slavc`` threshold: a ``sigmoid`` map (our heads, and a maps file from another tool
    that names no kind) as it is - unclipped, as scored before kinds existed - and every
    other kind through :func:`model_core.map_scale.normalise` (cosine ``(S+1)/2``,
    cosine/tau SLAVC's ``(S + 1/tau) / (2/tau)``, Grad-CAM min-max). Those are affine per
    map, so they commute with the bilinear resize and the min-max of the median rule."""
    if map_kind == "sigmoid":
        return np.asarray(maps, dtype=np.float32)
    from model_core.map_scale import normalise

    return normalise(maps, map_kind, tau)


def place_maps(maps: np.ndarray, crop: Sequence[float] | np.ndarray | None = None, size: int = SIZE,
               fill: float = 0.0) -> np.ndarray:
    """``(N, h, w)`` maps resized onto the ``size`` x ``size`` frame grid.

    ``crop`` is the part of the frame the maps cover, ``(x0, y0, x1, y1)`` in fractions of
    the frame (one for all maps, or ``(N, 4)``; None: the whole frame, plain
    :func:`resize_maps`). A centre-cropped model (LVS, SSL-TIE: ``Resize(224)`` +
    ``CenterCrop(224)``) sees only the centre square, so its map is resized onto that
    square's pixels (``round(size * fraction)``) and the strips it never saw are ``fill``:
    0 on the absolute scale, "no prediction" (never above a threshold > 0, and the lowest
    value of the min-max map unless the map itself goes below it). The GT masks stay on the
    full frame, so a box outside the crop is a miss, as it would be for a user's video.
    """
    import cv2

    arr = np.asarray(maps, dtype=np.float32)
    if crop is None:
        return resize_maps(arr, size)
    boxes = np.broadcast_to(np.asarray(crop, dtype=np.float64).reshape(-1, 4), (len(arr), 4))
    out = np.full((len(arr), size, size), fill, dtype=np.float32)
    for i, (m, b) in enumerate(zip(arr, boxes)):
        x0, y0, x1, y1 = (int(round(size * min(1.0, max(0.0, float(v))))) for v in b)
        if x1 <= x0 or y1 <= y0:
            continue
        if not np.isfinite(m).all():
            out[i] = np.nan
            continue
        out[i, y0:y1, x0:x1] = cv2.resize(np.ascontiguousarray(m), (x1 - x0, y1 - y0),
                                          interpolation=cv2.INTER_LINEAR)
    return out
