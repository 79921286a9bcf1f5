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


DEFAULT_SCALE = "absolute"
#: What each scale means, for the colour bar and the Display panel's tooltip.
SCALE_NOTES = {
    "absolute": "absolute: colour = map value sigmoid(Z)",
    "per_frame": "min-max per frame: even silence fills the range",
}


def prepare(raw: np.ndarray, scale: str = DEFAULT_SCALE, size: int = GRID) -> DisplayMap:
    """Upsample, scale and locate the peak of one map."""
    from model_core.metrics.localization import peaks
    from model_core.metrics.masks import minmax_normalise, resize_maps

    raw = np.asarray(raw, dtype=np.float32)
    big = resize_maps(raw[None], size)
    if scale == "per_frame":
        values = minmax_normalise(big)[0]
        finite_big = big[np.isfinite(big)]
        levels = (float(finite_big.min()), float(finite_big.max())) if finite_big.size else (0.0, 1.0)
    else:
        values = np.clip(big[0], 0.0, 1.0)
        levels = (0.0, 1.0)
    values = np.ascontiguousarray(np.nan_to_num(values), dtype=np.float32)
    k = int(peaks(big)[0])
    peak = None
    if k >= 0:
        row, col = divmod(k, size)
        peak = ((col + 0.5) / size, (row + 0.5) / size)
    finite = raw[np.isfinite(raw)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 0.0
    return DisplayMap(values, peak, lo, hi, levels)


def value_at(dm: DisplayMap, fx: float, fy: float) -> tuple[float, float] | None:
    """(map value sigmoid(Z), value as drawn in [0, 1]) at (``fx``, ``fy``) in fractions of
    the frame; None outside it. The cell is the drawn grid's, so the readout names the
    colour under the cursor."""
    if not (0.0 <= fx < 1.0 and 0.0 <= fy < 1.0):
        return None
    n_rows, n_cols = dm.values.shape
    shown = float(dm.values[int(fy * n_rows), int(fx * n_cols)])
    lo, hi = dm.levels
    return lo + shown * (hi - lo), shown
