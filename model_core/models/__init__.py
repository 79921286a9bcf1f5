"""Models as heads: the one protocol the engine talks to (:mod:`.protocol`) and the
field's published families (EZ-VSL, FNAC, SLAVC, LVS, SSL-align, SSL-TIE, RCGrad), loaded
by pointing at their checkpoint files (:func:`.loading.load_model`); plugins add families
through the entry-point group ``avsol.models`` (``docs/models.md``).

``import model_core.models`` imports no torch; :mod:`.protocol` neither.
"""
from __future__ import annotations

from model_core.models.protocol import MAP_KINDS, MapModel, cut_window, normalise, place_window

__all__ = ["MAP_KINDS", "MapModel", "cut_window", "load_model", "normalise", "place_window"]


def load_model(path, device="auto", family=None, **kwargs):
    """See :func:`model_core.models.loading.load_model`."""
    from model_core.models.loading import load_model as _load

    return _load(path, device=device, family=family, **kwargs)
