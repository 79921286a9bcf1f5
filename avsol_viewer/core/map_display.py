"""From a model's map (h x w sigmoid(Z)) to what the overlay draws (no Qt here).

SPEC 3: the map shown is sigmoid(Z) upsampled bilinearly to the frame. By default on its
ABSOLUTE scale, the map's own [0, 1] values: a head that sees nothing (p(av) 0.01-0.08 on
real footage) shows an empty frame. Min-max per frame is the option a user picks to see
the shape of a weak map; it stretches any map, even silence, into a bright blob, so the
colour bar and the value readout say which scale is in use and what the value really is
(``levels``, :func:`value_at`). The upsampling is the metrics' own
(``model_core.metrics.masks.resize_maps``, 224 x 224, the grid cIoU is computed on), and
the overlay stretches it over the frame with ``ImageItem.setRect``, so what is drawn is
what is scored. The peak is the metrics' peak (``localization.peaks``: first maximum in
row-major order) at the centre of its pixel.

Published models (``docs/models.md``) return NATIVE maps (a cosine in [-1, 1], cosine / tau, a
Grad-CAM): each map first goes through ``model_core.models.protocol.normalise`` for its
``map_kind`` (the one place a native map becomes [0, 1], shared with scoring), then the
display scale. A centre-cropped model's map covers only its crop of the frame: ``region``
says where (fractions of the frame), so the overlay, the peak and the readout are placed
on the pixels the model saw.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCALES = ("per_frame", "absolute")
GRID = 224


@dataclass(frozen=True)
class DisplayMap:
    """A map ready to draw: ``values`` GRID x GRID float32 in [0, 1]."""

    values: np.ndarray
    peak: tuple[float, float] | None   # (x, y) in fractions of the frame, None: flat map
    raw_min: float
    raw_max: float
    #: the map values (sigmoid) drawn as 0 and as 1: (0, 1) on the absolute scale, the
    #: upsampled map's min and max per frame
    levels: tuple[float, float] = (0.0, 1.0)
    #: the part of the frame the map covers, (x0, y0, x1, y1) in fractions of the frame:
    #: the whole frame, or a centre-cropping model's crop (``MapModel.crop``)
    region: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)


DEFAULT_SCALE = "absolute"
#: What each scale means, for the colour bar and the Display panel's tooltip.
SCALE_NOTES = {
    "absolute": "absolute: colour = map value (sigmoid(Z), or a published model's map normalised by its kind)",
    "per_frame": "min-max per frame: even silence fills the range",
}


FULL_FRAME = (0.0, 0.0, 1.0, 1.0)


def crop_region(crop: tuple[float, float, float, float], width: int, height: int) -> tuple[float, float, float, float]:
    """A model's crop ``(x0, y0, x1, y1)`` in pixels of a ``width`` x ``height`` frame ->
    the same box in fractions of the frame (what :class:`DisplayMap` keeps)."""
    w, h = max(1, int(width)), max(1, int(height))
    x0, y0, x1, y1 = (float(v) for v in crop)
    return (x0 / w, y0 / h, x1 / w, y1 / h)


def prepare(raw: np.ndarray, scale: str = DEFAULT_SCALE, size: int = GRID, map_kind: str = "sigmoid",
            tau: float | None = None, region: tuple[float, float, float, float] = FULL_FRAME) -> DisplayMap:
    """Normalise (by ``map_kind``, see the module docstring), upsample, scale and locate the
    peak of one map covering ``region`` of the frame."""
    from model_core.metrics.localization import peaks
    from model_core.metrics.masks import minmax_normalise, resize_maps
    from model_core.models.protocol import normalise

    native = np.asarray(raw, dtype=np.float32)
    raw = normalise(native, map_kind, tau) if map_kind != "sigmoid" else native
    big = resize_maps(raw[None], size)
    if scale == "per_frame":
        values = minmax_normalise(big)[0]
        finite_big = big[np.isfinite(big)]
        levels = (float(finite_big.min()), float(finite_big.max())) if finite_big.size else (0.0, 1.0)
    else:
        values = np.clip(big[0], 0.0, 1.0)
        levels = (0.0, 1.0)
    if not np.isfinite(values).all():  # only then: nan_to_num was most of the time of a map drawn
        values = np.nan_to_num(values)
    values = np.ascontiguousarray(values, dtype=np.float32)
    x0, y0, x1, y1 = (float(v) for v in region)
    k = int(peaks(big)[0])
    peak = None
    if k >= 0:
        row, col = divmod(k, size)
        peak = (x0 + (col + 0.5) / size * (x1 - x0), y0 + (row + 0.5) / size * (y1 - y0))
    finite = native[np.isfinite(native)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 0.0
    return DisplayMap(values, peak, lo, hi, levels, (x0, y0, x1, y1))


def value_at(dm: DisplayMap, fx: float, fy: float) -> tuple[float, float] | None:
    """(map value in [0, 1] (sigmoid(Z), or the normalised native map), value as drawn in
    [0, 1]) at (``fx``, ``fy``) in fractions of the frame; None outside the map's region.
    The cell is the drawn grid's, so the readout names the colour under the cursor."""
    x0, y0, x1, y1 = dm.region
    if x1 <= x0 or y1 <= y0:
        return None
    u, v = (fx - x0) / (x1 - x0), (fy - y0) / (y1 - y0)
    if not (0.0 <= u < 1.0 and 0.0 <= v < 1.0):
        return None
    n_rows, n_cols = dm.values.shape
    shown = float(dm.values[int(v * n_rows), int(u * n_cols)])
    lo, hi = dm.levels
    return lo + shown * (hi - lo), shown


def p_avc_text(p_avc: float) -> str:
    """"p(av) 0.42" for a head that has an audio-visual correspondence score; "" where the
    family has none (a published model's NaN): no number is made up."""
    p = float(p_avc)
    return f"p(av) {p:.2f}" if np.isfinite(p) else ""
