"""The synthetic data set's object classes: what each looks like and what it sounds like.

A class is a (shape, colour, texture) triple for the eye and a (pitch, partials, rhythm)
recipe for the ear. The table is a pure function of ``k`` so the same class index always
means the same class, whatever else a run asks for; the first eight classes differ in all
of shape, colour and texture family, and in pitch by at least a few semitones, so the
default set is easy to tell apart both ways. Nothing on screen says which object sounds:
the sounding object can only be found by matching the audio class to the visual class.
"""
from __future__ import annotations

from dataclasses import dataclass

MAX_CLASSES = 28

SHAPES = ("disc", "square", "triangle", "diamond", "cross", "star", "hexagon", "ring")
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 190, 60),
    "blue": (50, 90, 230),
    "yellow": (235, 215, 40),
    "magenta": (215, 50, 200),
    "cyan": (40, 205, 215),
    "orange": (245, 140, 30),
    "white": (240, 240, 240),
}
TEXTURES = ("solid", "striped", "dotted", "checkered")

# Partial profiles: (frequency ratio to the fundamental, amplitude).
PARTIALS = {
    "pure": ((1.0, 1.0),),
    "bright": tuple((float(n), 1.0 / n) for n in range(1, 9)),
    "hollow": tuple((float(n), 1.0 / n) for n in (1, 3, 5, 7, 9)),  # odd harmonics
    "bell": ((1.0, 1.0), (2.76, 0.55), (5.40, 0.35), (8.93, 0.2)),  # inharmonic
}
# Rhythms: (kind, rate in Hz, duty cycle or tremolo depth).
RHYTHMS = (
    ("steady", 0.0, 1.0),
    ("pulse", 2.0, 0.55),
    ("tremolo", 6.0, 0.8),
    ("pulse", 5.0, 0.4),
    ("pulse", 3.0, 0.25),
)
_PITCH_BASE_HZ = 180.0
_PITCH_STEP_SEMITONES = 1.45  # not 1.5: eight steps would be an exact octave


@dataclass(frozen=True)
class SynthClass:
    """One class of the synthetic set.

    Attributes
    ----------
    index : position in the class table (stable across runs).
    name : plain description used as the class label, e.g. ``"blue striped square"``.
    shape, colour, texture : how the object is drawn; ``rgb`` is the colour's value.
    fundamental : the lowest partial of its sound in Hz (always present in the signal).
    partials : ``(ratio, amplitude)`` pairs of its spectrum.
    rhythm : ``(kind, rate_hz, param)``; kind ``steady``, ``pulse`` (param = duty) or
        ``tremolo`` (param = depth).
    """

    index: int
    name: str
    shape: str
    colour: str
    rgb: tuple[int, int, int]
    texture: str
    fundamental: float
    partials: tuple[tuple[float, float], ...]
    timbre: str
    rhythm: tuple[str, float, float]


def _class(i: int) -> SynthClass:
    shape = SHAPES[i % 8]
    # (shape, colour) pairs are unique for i < 64: each block of eight shifts the colours.
    colour = list(COLOURS)[(i + 3 * (i // 8)) % 8]
    texture = TEXTURES[(i + i // 8) % 4]
    # Spread the first classes over the pitch range: slot (11 i) mod 28 is a permutation.
    slot = (11 * i) % MAX_CLASSES
    f0 = _PITCH_BASE_HZ * 2.0 ** (slot * _PITCH_STEP_SEMITONES / 12.0)
    timbre = list(PARTIALS)[(i + i // 4) % 4]
    rhythm = RHYTHMS[i % len(RHYTHMS)]
    words = [colour] + ([] if texture == "solid" else [texture]) + [shape]
    return SynthClass(index=i, name=" ".join(words), shape=shape, colour=colour,
                      rgb=COLOURS[colour], texture=texture, fundamental=round(f0, 3),
                      partials=PARTIALS[timbre], timbre=timbre, rhythm=rhythm)


def make_classes(k: int = 8) -> list[SynthClass]:
    """Return the first ``k`` classes of the table (1 <= k <= :data:`MAX_CLASSES`)."""
    if not 1 <= k <= MAX_CLASSES:
        raise ValueError(f"number of classes must be in 1..{MAX_CLASSES}, got {k}")
    return [_class(i) for i in range(k)]
