"""Audio of the synthetic videos: each class's sound, and a clip's soundtrack.

A class sounds like its recipe (:mod:`model_core.synth.classes`): partials over a
fundamental, shaped by a rhythm envelope. A soundtrack is a sum of sources, each switched
on per 1 s segment with 10 ms raised-cosine ramps (no clicks, and every segment's middle
holds exactly what its label says): the sounding object's class in event segments, and in
background segments silence, white noise or the sound of a class that is not on screen.
Phases run continuously over the clip, so a sound that spans several segments is one sound.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from model_core.synth.classes import SynthClass

SAMPLE_RATE = 16000
CLASS_RMS = 0.18       # level of a class sound at gain 1 (before its rhythm envelope)
NOISE_RMS = 0.06       # level of a "noise" background segment
FLOOR_RMS = 0.03       # level of the always-on noise floor at --noise 1
RAMP_S = 0.01          # segment on/off ramp

SEGMENT_KINDS = ("event", "silence", "noise", "offscreen")


def rhythm_envelope(rhythm: tuple[str, float, float], t: np.ndarray) -> np.ndarray:
    """Amplitude envelope in [0, 1] of a rhythm at times ``t`` (seconds).

    ``pulse`` is a trapezoidal on/off train (``param`` = duty cycle, 10 ms edges), starting
    on at t = 0; ``tremolo`` dips by ``param`` at ``rate`` Hz; ``steady`` is 1.
    """
    kind, rate, param = rhythm
    if kind == "steady":
        return np.ones_like(t, dtype=np.float32)
    if kind == "pulse":
        frac = (t * rate) % 1.0
        dist = np.minimum(frac, param - frac) / rate  # seconds from the nearest pulse edge
        return np.clip(dist / RAMP_S, 0.0, 1.0).astype(np.float32)
    if kind == "tremolo":
        return (1.0 - param * (0.5 - 0.5 * np.cos(2 * math.pi * rate * t))).astype(np.float32)
    raise ValueError(f"unknown rhythm {kind!r}")


def class_sound(cls: SynthClass, n_samples: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The sound of ``cls`` for ``n_samples`` samples from t = 0 (float32, RMS ~ CLASS_RMS
    while on). Partials above 0.45 x the sample rate are left out (no aliasing)."""
    t = np.arange(n_samples, dtype=np.float64) / sample_rate
    tone = np.zeros(n_samples, np.float64)
    power = 0.0
    for ratio, amp in cls.partials:
        f = cls.fundamental * ratio
        if f >= 0.45 * sample_rate:
            continue
        tone += amp * np.sin(2 * math.pi * f * t)
        power += amp * amp / 2.0
    tone *= CLASS_RMS / math.sqrt(power)
    return (tone * rhythm_envelope(cls.rhythm, t)).astype(np.float32)


def segment_gate(on: Sequence[bool], sample_rate: int = SAMPLE_RATE,
                 segment_s: float = 1.0) -> np.ndarray:
    """Per-sample gain in [0, 1] that is 1 in the segments flagged ``on`` and 0 elsewhere,
    with raised-cosine ramps of RAMP_S centred on each change."""
    per = int(round(segment_s * sample_rate))
    step = np.repeat(np.asarray(on, np.float32), per)
    if not step.any() or step.all():
        return step
    n = max(3, int(round(RAMP_S * sample_rate)) | 1)
    win = np.hanning(n + 2)[1:-1].astype(np.float32)
    win /= win.sum()
    padded = np.pad(step, (n // 2, n // 2), mode="edge")
    return np.convolve(padded, win, mode="valid").astype(np.float32)


def render_soundtrack(kinds: Sequence[str], category: SynthClass,
                      offscreen: SynthClass | None, gain: float, noise: float,
                      rng: np.random.Generator, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The audio of a clip of ``len(kinds)`` one-second segments (float32, mono).

    Parameters
    ----------
    kinds : one of :data:`SEGMENT_KINDS` per segment.
    category : the sounding object's class (heard in ``event`` segments).
    offscreen : the class heard in ``offscreen`` segments (absent from the frame); may be
        None only when no segment is ``offscreen``.
    gain : loudness of class sounds (varies per clip).
    noise : the ``--noise`` knob in [0, 1]: level of a noise floor under everything.
    rng : the clip's audio generator (noise samples).
    """
    n = len(kinds) * sample_rate
    out = np.zeros(n, np.float32)
    flags = {k: [kind == k for kind in kinds] for k in SEGMENT_KINDS}
    if any(flags["event"]):
        out += gain * class_sound(category, n, sample_rate) * segment_gate(flags["event"], sample_rate)
    if any(flags["offscreen"]):
        if offscreen is None:
            raise ValueError("an offscreen segment needs an offscreen class")
        out += gain * class_sound(offscreen, n, sample_rate) * segment_gate(flags["offscreen"], sample_rate)
    if any(flags["noise"]):
        level = NOISE_RMS * rng.uniform(0.7, 1.3)
        white = rng.normal(0.0, level, n).astype(np.float32)
        out += white * segment_gate(flags["noise"], sample_rate)
    if noise > 0:
        out += rng.normal(0.0, FLOOR_RMS * noise, n).astype(np.float32)
    return np.clip(out, -1.0, 1.0)
