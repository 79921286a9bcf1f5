"""Lookup tables (256 RGBA entries, uint8) for the map overlay and the spectrogram.

The overlay's alpha grows with the map value: cold parts of the map are transparent and
the frame shows through, hot parts are drawn at the chosen opacity. The ramp reaches full
opacity at ``RAMP`` of the value range, so a sharp map and a diffuse one both read at a
glance (a diffuse map tints the whole frame, which is what it means).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Colormaps offered for the overlay (pyqtgraph ships them; no matplotlib needed).
OVERLAY_MAPS = ("inferno", "magma", "plasma", "viridis", "turbo", "cividis")
SPECTROGRAM_MAP = "magma"
#: Fraction of the value range over which the overlay's alpha ramps from 0 to full.
RAMP = 0.35


@lru_cache(maxsize=32)
def _rgb(name: str) -> np.ndarray:
    import pyqtgraph as pg

    cmap = pg.colormap.get(name)
    lut = cmap.getLookupTable(0.0, 1.0, 256, alpha=False)
    return np.ascontiguousarray(lut[:, :3], dtype=np.uint8)


def overlay_lut(name: str, opacity: float, ramp: float = RAMP) -> np.ndarray:
    """256 x 4 uint8 RGBA table of colormap ``name`` with alpha ``opacity * min(1, v / ramp)``.

    Unknown names fall back to ``inferno`` (a settings file from a newer version).
    """
    if name not in OVERLAY_MAPS:
        name = "inferno"
    opacity = float(min(1.0, max(0.0, opacity)))
    v = np.linspace(0.0, 1.0, 256)
    alpha = np.clip(v / max(ramp, 1e-6), 0.0, 1.0) * opacity * 255.0
    lut = np.empty((256, 4), np.uint8)
    lut[:, :3] = _rgb(name)
    lut[:, 3] = np.round(alpha).astype(np.uint8)
    return lut


def spectrogram_lut() -> np.ndarray:
    """256 x 3 uint8 RGB table for the spectrogram."""
    return _rgb(SPECTROGRAM_MAP)


def colour_of(name: str, value: float) -> tuple[int, int, int]:
    """RGB of ``value`` in [0, 1] under colormap ``name`` (legends, tests)."""
    k = int(round(min(1.0, max(0.0, value)) * 255))
    return tuple(int(c) for c in _rgb(name if name in OVERLAY_MAPS else "inferno")[k])
