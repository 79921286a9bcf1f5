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

Models of other lengths. Every model hears its OWN window length
(``MapModel.audio_window_s``: 1 s for our heads, 3 s for EZ-VSL, 10 s for LVS...) centred
on the same centre as above. A published model's window is *placed*
(:func:`model_core.models.protocol.place_window`): shifted inside the file where it would
run past either end, and a file shorter than the window is tiled, as those repositories
cut their windows. Our DNM heads keep zero-padded windows at the ends: that is how they
were trained (``model_core.features.window_for_time``) and what SPEC 3 documents.
:func:`window_group` names the rule a model uses; models of one group share the audio
reads (and the window identities, :func:`group_audio_key`).
"""
from __future__ import annotations

import math

from model_core.features import SAMPLE_RATE, WINDOW_SECONDS

#: The default hop in seconds (see the module docstring).
AUDIO_HOP = 1.0
#: ``hop`` value for a window centred on every frame.
PER_FRAME = None

__all__ = ["AUDIO_HOP", "PER_FRAME", "SAMPLE_RATE", "WINDOW_SECONDS", "DEFAULT_GROUP", "check_hop",
           "group_audio_key", "window_centre", "window_group", "window_key"]

#: The window rule of our DNM heads: 1 s, zero outside the track.
DEFAULT_GROUP = (WINDOW_SECONDS, False)


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


def window_group(model) -> tuple[float, bool]:
    """``(seconds, placed)``: the window a model hears (module docstring). ``placed`` is
    False only for our own heads (family ``dnm``), which were trained on zero-padded
    windows; every published family's repository cuts whole windows from the file."""
    seconds = float(model.audio_window_s)
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"model {model.name!r}: audio window must be > 0 seconds, got {seconds}")
    return seconds, model.family != "dnm"


def group_audio_key(audio_key: str, group: tuple[float, bool]) -> str:
    """The audio identity of windows of ``group`` cut from ``audio_key``: ``audio_key``
    itself for the default 1 s rule (the keys every cache used before), else with the
    length and rule appended, so a 3 s window never shares a key with a 1 s one that
    starts at the same sample."""
    if tuple(group) == DEFAULT_GROUP:
        return audio_key
    seconds, placed = group
    return f"{audio_key}@{seconds:g}s{'-placed' if placed else ''}"
