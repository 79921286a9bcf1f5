"""Drawing the synthetic scenes: object sprites, textured backgrounds, moving objects.

Everything expensive happens once per video: each object's sprite (colour, texture,
anti-aliased alpha) is rendered once at its size, the background once, and a noise field
once; a frame is then a copy of the background, a few sprite pastes and a shifted crop of
the noise field. That keeps a 10 s 224 x 224 video at a few tens of milliseconds of drawing,
well below what the H.264 encoder costs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from model_core.synth.classes import SynthClass

_SUPERSAMPLE = 4


@dataclass(frozen=True)
class Sprite:
    """A pre-rendered object: ``rgb`` (s x s x 3 uint8), ``alpha`` (s x s uint8) and
    ``extent`` = (x0, y0, x1, y1), the pixel bounds (end exclusive) of alpha >= 128, i.e.
    the object's true extent inside its square."""

    rgb: np.ndarray
    alpha: np.ndarray
    extent: tuple[int, int, int, int]


@dataclass(frozen=True)
class ObjectPlan:
    """One object of a video and its smooth drift.

    The sprite's top-left corner at time ``t`` is ``centre + amp * sin(2 pi freq t +
    phase) - side / 2`` per axis (pixels); frames draw it at the rounded position, and
    annotation boxes use the exact one.
    """

    class_index: int
    side: int
    centre: tuple[float, float]
    amp: tuple[float, float] = (0.0, 0.0)
    freq: tuple[float, float] = (0.0, 0.0)
    phase: tuple[float, float] = (0.0, 0.0)

    def top_left(self, t: float) -> tuple[float, float]:
        x = self.centre[0] + self.amp[0] * math.sin(2 * math.pi * self.freq[0] * t + self.phase[0])
        y = self.centre[1] + self.amp[1] * math.sin(2 * math.pi * self.freq[1] * t + self.phase[1])
        return x - self.side / 2.0, y - self.side / 2.0


def _shape_mask(shape: str, side: int) -> np.ndarray:
    """Anti-aliased float32 mask in [0, 1] of ``shape`` filling a side x side square."""
    import cv2

    n = side * _SUPERSAMPLE
    canvas = np.zeros((n, n), np.uint8)

    def pts(points: Sequence[tuple[float, float]]) -> np.ndarray:
        return np.round(np.asarray(points, np.float64) * (n - 1)).astype(np.int32)[None]

    c, r = (n - 1) / 2.0, 0.48 * n
    if shape == "disc":
        cv2.circle(canvas, (round(c), round(c)), round(r), 255, -1)
    elif shape == "ring":
        cv2.circle(canvas, (round(c), round(c)), round(r), 255, -1)
        cv2.circle(canvas, (round(c), round(c)), round(0.27 * n), 0, -1)
    elif shape == "square":
        cv2.fillPoly(canvas, pts([(.04, .04), (.96, .04), (.96, .96), (.04, .96)]), 255)
    elif shape == "triangle":
        cv2.fillPoly(canvas, pts([(.5, .04), (.97, .92), (.03, .92)]), 255)
    elif shape == "diamond":
        cv2.fillPoly(canvas, pts([(.5, .02), (.98, .5), (.5, .98), (.02, .5)]), 255)
    elif shape == "cross":
        cv2.fillPoly(canvas, pts([(.04, .33), (.96, .33), (.96, .67), (.04, .67)]), 255)
        cv2.fillPoly(canvas, pts([(.33, .04), (.67, .04), (.67, .96), (.33, .96)]), 255)
    elif shape in ("star", "hexagon"):
        k, inner = (5, 0.42) if shape == "star" else (6, 1.0)
        verts = []
        for j in range(2 * k):
            rad = 0.48 * (1.0 if j % 2 == 0 else inner)
            ang = -math.pi / 2 + j * math.pi / k
            verts.append((0.5 + rad * math.cos(ang), 0.53 + rad * math.sin(ang)))
        cv2.fillPoly(canvas, pts(verts), 255)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    small = cv2.resize(canvas, (side, side), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255.0


def _texture(texture: str, side: int) -> np.ndarray:
    """Float32 s x s map in {0, 1}: 1 where the secondary (dark) colour shows."""
    period = max(4, side // 5)
    half = max(2, period // 2)
    y, x = np.mgrid[0:side, 0:side]
    if texture == "solid":
        return np.zeros((side, side), np.float32)
    if texture == "striped":
        return (((x + y) // half) % 2).astype(np.float32)
    if texture == "checkered":
        return (((x // half) + (y // half)) % 2).astype(np.float32)
    if texture == "dotted":
        cx = (x % period) - (period - 1) / 2.0
        cy = (y % period) - (period - 1) / 2.0
        return ((cx * cx + cy * cy) <= (0.3 * period) ** 2).astype(np.float32)
    raise ValueError(f"unknown texture {texture!r}")


def render_sprite(cls: SynthClass, side: int) -> Sprite:
    """Draw one object of class ``cls`` in a ``side`` x ``side`` square (side >= 4)."""
    side = max(4, int(side))
    alpha = _shape_mask(cls.shape, side)
    base = np.asarray(cls.rgb, np.float32)
    dark = base * 0.4
    pattern = _texture(cls.texture, side)[..., None]
    rgb = base * (1.0 - pattern) + dark * pattern
    inside = alpha >= 0.5
    rows, cols = np.nonzero(inside.any(axis=1))[0], np.nonzero(inside.any(axis=0))[0]
    extent = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
    return Sprite(rgb=np.round(rgb).astype(np.uint8),
                  alpha=np.round(alpha * 255).astype(np.uint8), extent=extent)


def make_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A muted, textured background (int16, h x w x 3, values in 0..255).

    A two-colour gradient in a random direction, low-frequency blotches, fine grain and a
    dozen faint shapes: enough texture that "the only saturated thing" is not a shortcut,
    while the objects (saturated colours) stay visible.
    """
    import cv2

    def muted() -> np.ndarray:
        hsv = np.array([[[rng.integers(0, 180), rng.integers(20, 110), rng.integers(50, 170)]]], np.uint8)
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)

    a, b = muted(), muted()
    ang = rng.uniform(0, 2 * math.pi)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    proj = (x / width - 0.5) * math.cos(ang) + (y / height - 0.5) * math.sin(ang)
    w = np.clip(proj + 0.5, 0.0, 1.0)[..., None]
    img = a * (1.0 - w) + b * w
    grid = rng.normal(0.0, 18.0, size=(int(rng.integers(3, 8)), int(rng.integers(3, 8)), 3))
    img += cv2.resize(grid.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(6, 16))):
        layer = img.copy()
        col = tuple(float(v) for v in np.clip(img.mean((0, 1)) + rng.normal(0, 30, 3), 0, 255))
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(max(3, min(width, height) // 12), max(4, min(width, height) // 3)))
        if rng.random() < 0.5:
            cv2.circle(layer, (cx, cy), size, col, -1, cv2.LINE_AA)
        else:
            cv2.rectangle(layer, (cx - size, cy - size // 2), (cx + size, cy + size // 2), col, -1)
        img = cv2.addWeighted(img, 0.75, layer, 0.25, 0.0)
    img += cv2.GaussianBlur(rng.normal(0.0, 6.0, size=img.shape).astype(np.float32), (3, 3), 0)
    return np.clip(np.round(img), 0, 255).astype(np.int16)


def paste(frame: np.ndarray, sprite: Sprite, left: int, top: int) -> None:
    """Alpha-blend ``sprite`` into the int16 ``frame`` in place at (left, top), clipped."""
    h, w = frame.shape[:2]
    s = sprite.alpha.shape[0]
    x0, y0, x1, y1 = max(left, 0), max(top, 0), min(left + s, w), min(top + s, h)
    if x0 >= x1 or y0 >= y1:
        return
    sx, sy = x0 - left, y0 - top
    a = sprite.alpha[sy:sy + y1 - y0, sx:sx + x1 - x0, None].astype(np.int32)
    rgb = sprite.rgb[sy:sy + y1 - y0, sx:sx + x1 - x0].astype(np.int32)
    region = frame[y0:y1, x0:x1].astype(np.int32)
    frame[y0:y1, x0:x1] = region + ((rgb - region) * a + 127) // 255


def render_frames(background: np.ndarray, objects: Sequence[ObjectPlan],
                  sprites: Sequence[Sprite], n_frames: int, fps: float,
                  noise_sigma: float, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Yield ``n_frames`` RGB uint8 frames; frame i shows the scene at time i / fps.

    Pixel noise is a crop of one pre-drawn Gaussian field at a random offset per frame, so
    it changes every frame at the cost of one addition.
    """
    h, w = background.shape[:2]
    pad = 16
    field = None
    if noise_sigma > 0:
        field = np.round(rng.normal(0.0, noise_sigma, size=(h + pad, w + pad, 3))).astype(np.int16)
    offsets = rng.integers(0, pad + 1, size=(n_frames, 2))
    for i in range(n_frames):
        frame = background.copy()
        t = i / fps
        for obj, sprite in zip(objects, sprites):
            left, top = obj.top_left(t)
            paste(frame, sprite, int(round(left)), int(round(top)))
        if field is not None:
            oy, ox = offsets[i]
            frame += field[oy:oy + h, ox:ox + w]
        np.clip(frame, 0, 255, out=frame)
        yield frame.astype(np.uint8)
