"""From a model's map (h x w sigmoid(Z)) to what the overlay draws (no Qt here).

SPEC 3: the map shown is sigmoid(Z) upsampled bilinearly to the frame, min-max normalised
per frame unless the user picks absolute scaling. The upsampling is the metrics' own
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


def prepare(raw: np.ndarray, scale: str = "per_frame", size: int = GRID) -> DisplayMap:
    """Upsample, scale and locate the peak of one map."""
    from model_core.metrics.localization import peaks
    from model_core.metrics.masks import minmax_normalise, resize_maps

    raw = np.asarray(raw, dtype=np.float32)
    big = resize_maps(raw[None], size)
    if scale == "absolute":
        values = np.clip(big[0], 0.0, 1.0)
    else:
        values = minmax_normalise(big)[0]
    values = np.ascontiguousarray(np.nan_to_num(values), dtype=np.float32)
    k = int(peaks(big)[0])
    peak = None
    if k >= 0:
        row, col = divmod(k, size)
        peak = ((col + 0.5) / size, (row + 0.5) / size)
    finite = raw[np.isfinite(raw)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 0.0
    return DisplayMap(values, peak, lo, hi)
