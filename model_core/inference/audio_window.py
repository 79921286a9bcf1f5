"""The audio-window rule: which 1 s of sound a frame at time ``t`` is paired with.

One rule for every consumer of the map engine (``avsol infer``, ``avsol eval`` and its
negative audios, the viewer, the export, live mode), so that the same frame with the same
audio gives the same map everywhere.

- ``hop = AUDIO_HOP`` (1 s, the default everywhere): the window centred on the middle of
  the 1 s cell holding ``t``, ``(floor(t) + 0.5)``. That is the AVE segment of ``t``
  (SPEC 1), so a 25 fps video costs one audio-trunk pass per second instead of 25
  (SPEC 8); at a segment's centre (where AVE-style annotations put their frame: ``k + 0.5``)
  it is exactly the window centred on the frame (SPEC 3).
- ``hop = h > 0``: the same with ``h``-second cells, ``(floor(t / h) + 0.5) * h``.
- ``hop = PER_FRAME`` (None): a window centred exactly on each frame's time (SPEC 3's
  literal reading; one audio-trunk pass per distinct frame time).

A window is identified by its first sample (:func:`window_key`): embeddings are cached
under that key. Samples outside the track read as zeros. Importing this module is cheap
(no torch).
"""
from __future__ import annotations

import math

from model_core.features import SAMPLE_RATE, WINDOW_SECONDS

#: The default hop in seconds (see the module docstring).
AUDIO_HOP = 1.0
#: ``hop`` value for a window centred on every frame.
PER_FRAME = None

__all__ = ["AUDIO_HOP", "PER_FRAME", "SAMPLE_RATE", "WINDOW_SECONDS", "check_hop", "window_centre",
           "window_key"]


def check_hop(hop: float | None) -> float | None:
    """``hop`` itself when valid (a positive number, or None for a window per frame)."""
    if hop is None:
        return None
    hop = float(hop)
    if not (hop > 0 and math.isfinite(hop)):
        raise ValueError(f"audio hop must be > 0 seconds or None (a window per frame), got {hop}")
    return hop


def window_centre(t: float, hop: float | None = AUDIO_HOP) -> float:
    """Centre (s) of the audio window paired with a frame at ``t`` (module docstring)."""
    if hop is None:
        return float(t)
    return (math.floor(t / hop + 1e-9) + 0.5) * hop


def window_key(centre: float, seconds: float = WINDOW_SECONDS) -> int:
    """First sample (16 kHz) of the window centred on ``centre``: the identity of a window."""
    return int(round((centre - seconds / 2.0) * SAMPLE_RATE))
