"""The one model protocol the map engine talks to, and the rules every model shares.

AVSOL Studio runs two kinds of localization models: its own DNM heads
(:class:`model_core.inference.localizer.Localizer`) and the field's published models
(EZ-VSL, FNAC, SLAVC, LVS, SSL-align, SSL-TIE, RCGrad: :mod:`model_core.models`). Each
repository ships a different pipeline (audio window, audio front end, image transform,
map scale), so the engine must not know any of them: it sees only :class:`MapModel`.
A model says what it needs (``audio_window_s`` seconds of ``sample_rate`` audio centred on
the frame time, placed by :func:`place_window`), does its own preprocessing inside
:meth:`MapModel.embed_audio` and :meth:`MapModel.predict`, says which part of the frame its
map covers (:meth:`MapModel.crop`: a centre-cropped model sees less than the frame, and the
engine must put the map back where it belongs), and returns its NATIVE map with the scale
named by ``map_kind``; :func:`normalise` is the one place that turns a native map into
[0, 1] for display and scoring.

This module imports no torch (the viewer imports it at start-up).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Protocol, Sequence, runtime_checkable

import numpy as np

from model_core.map_scale import MAP_KINDS, normalise  # noqa: F401 - the protocol's scales, re-exported

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from model_core.inference.localizer import Prediction

#: The sample rate every model of the field expects (and ours).
SAMPLE_RATE = 16000


@runtime_checkable
class MapModel(Protocol):
    """What the engine needs from a model (ours or a published one).

    Attributes
    ----------
    name : the model's display name (a checkpoint's file stem); unique in a session.
    family : ``"dnm"`` for ours, else the family key (``"ezvsl"``, ``"lvs"``, ...).
    head : the display kind shown beside the name (``"dnm"``, ``"EZ-VSL"``, ...).
    classes : class names of the class head, ``[]`` where the family has none.
    map_size : the native map's size, ``int`` (square) or ``(h, w)``.
    map_kind : one of :data:`MAP_KINDS`.
    tau : the temperature of a ``cosine_tau`` map (None for the other kinds), for
        :func:`normalise`.
    audio_window_s : seconds of audio the model hears, centred on the frame time
        (shifted inside the file or tiled by :func:`place_window`).
    sample_rate : samples per second of the windows given to :meth:`embed_audio`.
    device : where the model runs (``str(device)`` names it: ``"cpu"``, ``"cuda:0"``);
        a report records it, and eval picks its decoding by it.
    fingerprint : the sha256 of the file the model was loaded from, set by whoever
        loaded it from a file (eval's resume refuses logs of another file); None until then.
    log_mel_input : True where the audio front end is :func:`model_core.features.log_mel`
        at its defaults (our heads): the model then also has ``embed_log_mel(mel)``, and
        the engine computes one log-mel per window for every such model. False: the model's
        own front end runs inside :meth:`embed_audio`.
    precision : what the model computes in, ``"fp32"`` or ``"bf16"`` (``"fp16"`` under a
        GPU's autocast); a report records it.
    backend_used : the inference backends that have computed its maps so far
        (:mod:`model_core.inference.backends`), ``+``-joined in order of first use, e.g.
        ``"torch+openvino"`` when torch served while the runtime compiled; a report records it.
    """

    name: str
    family: str
    head: str
    classes: list
    map_size: Any
    map_kind: str
    tau: float | None
    audio_window_s: float
    sample_rate: int
    device: Any
    fingerprint: str | None
    log_mel_input: bool
    precision: str
    backend_used: str

    def crop(self, width: int, height: int) -> tuple[float, float, float, float]:
        """The region ``(x0, y0, x1, y1)`` of a ``width`` x ``height`` frame (pixels) the
        map covers: the whole frame for a squashing model, the centre square for a model
        that resizes the short side and centre-crops."""

    def embed_audio(self, windows: np.ndarray) -> "torch.Tensor":
        """(A, n) float32 mono windows of ``audio_window_s * sample_rate`` samples -> one
        embedding per row (the audio front end runs inside)."""

    def predict(self, frames, emb: "torch.Tensor", audio_index=None) -> "Prediction":
        """Maps of B frames ((B, H, W, 3) uint8 RGB as decoded, or a list of frames of any
        sizes: the family's own resize and crop run inside, so give the full frame, not one
        resized by another filter), frame ``j`` paired with ``emb[audio_index[j]]``. ``Prediction.maps`` is
        (B, h, w) float32 NATIVE (scale per ``map_kind``), ``p_avc`` (B,) (NaN where the
        family has no such output) and ``class_probs`` (B, len(classes))."""

    def predict_audios(self, frames, embs: Sequence["torch.Tensor"], audio_index=None) -> list:
        """:meth:`predict` for several audios, the visual step run once per frame."""

    def warmup(self, batch: int | None = None) -> None:
        """One pass on blank inputs (kernel selection) before timing-sensitive work."""


def map_hw(map_size) -> tuple[int, int]:
    """``(h, w)`` of a ``map_size`` given as an int or a pair."""
    if isinstance(map_size, (tuple, list)):
        h, w = map_size
        return int(h), int(w)
    return int(map_size), int(map_size)


def place_window(t: float, window_s: float, duration_s: float) -> tuple[float, bool]:
    """Where the ``window_s`` audio window of a frame at ``t`` starts, and whether to tile.

    The window is centred on ``t``; one that would run past either end of a
    ``duration_s`` file is shifted inside it (the repositories cut whole windows from the
    file, never zeros); a file shorter than the window is tiled from its start
    (``np.tile`` then cut, as EZ-VSL, LVS and SSL-TIE do), so the window starts at 0.

    Returns ``(start_s, tile)``.
    """
    t, window_s, duration_s = float(t), float(window_s), float(duration_s)
    if not (window_s > 0 and math.isfinite(window_s)):
        raise ValueError(f"window must be > 0 seconds, got {window_s}")
    if not (duration_s >= 0 and math.isfinite(duration_s)) or not math.isfinite(t):
        raise ValueError(f"bad time {t} or duration {duration_s}")
    if duration_s < window_s:
        return 0.0, True
    start = min(max(t - window_s / 2.0, 0.0), duration_s - window_s)
    return start, False


def cut_window(samples: np.ndarray, t: float, window_s: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The ``window_s`` window of mono ``samples`` (the whole track) for a frame at ``t``,
    by :func:`place_window`: exactly ``round(window_s * sample_rate)`` float32 samples. An
    empty track gives silence."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    n = int(round(window_s * sample_rate))
    if x.size == 0:
        return np.zeros(n, np.float32)
    start_s, tile = place_window(t, window_s, x.size / sample_rate)
    if tile:
        return np.tile(x, n // x.size + 1)[:n]
    first = min(int(round(start_s * sample_rate)), x.size - n)
    return x[first:first + n].copy()
