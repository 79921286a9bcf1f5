"""The scales of localization maps (``map_kind``) and the one rule that puts a map on [0, 1].

A leaf (numpy only): the models (:mod:`model_core.models.protocol`, which re-exports it),
the maps file and the metrics all read it, and the metrics sit below the models in the
project's layers (``pyproject.toml``'s import contracts), so it lives down here.
"""
from __future__ import annotations

import numpy as np

#: Map scales a model may return (``MapModel.map_kind``):
#: ``sigmoid``: already in [0, 1] (our DNM heads); ``cosine``: cosine similarity in [-1, 1]
#: (LVS, SSL-align, SSL-TIE); ``cosine_tau``: cosine / tau in [-1/tau, 1/tau] (EZ-VSL, FNAC,
#: SLAVC; tau = ``MapModel.tau``); ``gradcam``: a non-negative Grad-CAM with no fixed
#: upper bound (RCGrad).
MAP_KINDS = ("sigmoid", "cosine", "cosine_tau", "gradcam")


def normalise(maps: np.ndarray, map_kind: str, tau: float | None = None) -> np.ndarray:
    """Native maps (..., h, w) -> [0, 1] float32 for display and scoring, by scale:

    - ``sigmoid``: unchanged (already a probability);
    - ``cosine``: ``(S + 1) / 2``, the fixed range of a cosine (absolute: silence stays
      flat instead of being stretched);
    - ``cosine_tau``: ``(S + 1/tau) / (2/tau)`` with the family's ``tau`` (SLAVC's
      absolute normalisation; 0.5 there is cosine 0);
    - ``gradcam``: per-map min-max (a Grad-CAM has no fixed scale; RCGrad's own
      ``normalize_img``); a constant map becomes all zeros.
    """
    m = np.asarray(maps, dtype=np.float32)
    if map_kind == "sigmoid":
        return np.clip(m, 0.0, 1.0)
    if map_kind == "cosine":
        return np.clip((m + 1.0) / 2.0, 0.0, 1.0)
    if map_kind == "cosine_tau":
        if tau is None or not tau > 0:
            raise ValueError("map_kind 'cosine_tau' needs the model's tau > 0")
        return np.clip((m + 1.0 / tau) / (2.0 / tau), 0.0, 1.0)
    if map_kind == "gradcam":
        if m.ndim < 2:
            raise ValueError(f"maps must be (..., h, w), got shape {m.shape}")
        lo = m.min(axis=(-2, -1), keepdims=True)
        hi = m.max(axis=(-2, -1), keepdims=True)
        span = hi - lo
        return np.where(span > 0, (m - lo) / np.where(span > 0, span, 1.0), 0.0).astype(np.float32)
    raise ValueError(f"unknown map_kind {map_kind!r} (expected one of {', '.join(MAP_KINDS)})")
