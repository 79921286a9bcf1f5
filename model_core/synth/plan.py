"""Planning one synthetic video: which objects, where, how they move, what is heard when.

A plan is a pure function of (config, video index): its random generator is seeded from
``(seed, index, stream)``, so a video comes out the same whichever worker makes it and
however many videos the run has. Rendering (frames, audio) uses further streams of the
same seed, never the planning stream, so changing how a frame is drawn never reshuffles
the plans.
"""
from __future__ import annotations

import argparse
import math
import re
from dataclasses import asdict, dataclass
from typing import TypedDict

import numpy as np

from model_core.options.spec import option, problems
from model_core.synth.classes import MAX_CLASSES
from model_core.synth.scene import ObjectPlan

# Random streams per video.
STREAM_PLAN, STREAM_BACKGROUND, STREAM_PIXEL_NOISE, STREAM_AUDIO = range(4)


class SizeMix(TypedDict):
    """Size buckets (area shares of the frame) and each kind of object's odds over them."""

    buckets: tuple[tuple[float, float], ...]
    sounding: tuple[float, ...]
    silent: tuple[float, ...]


# Share of the frame covered by an object's square, by size bucket (SPEC 5 buckets:
# small < 5 %, medium < 20 %, large < 50 %, huge >= 50 %), and how often each bucket is
# drawn, per size mix (``--sizes``).
_SIZE_BUCKETS = ((0.012, 0.045), (0.06, 0.18), (0.20, 0.36))
_SOUNDING_SIZE_P = (0.25, 0.45, 0.30)
_SILENT_SIZE_P = (0.30, 0.55, 0.15)
#: ``benchmark`` (the default): sounding objects sized like VGG-SS / Flickr-SoundNet boxes,
#: which often cover more than a quarter of the frame; under the median threshold an item
#: can pass cIoU 0.5 only when its sounding area is >= 25 %, so about half of the items
#: can (large 0.25-0.45 and huge 0.50-0.64), and the metric separates heads.
#: ``small``: the mix of sets made before it (objects rarely over a quarter of the frame),
#: reproduced exactly (same buckets, same draws).
SIZE_MIXES: dict[str, SizeMix] = {
    "benchmark": {"buckets": ((0.012, 0.045), (0.06, 0.18), (0.25, 0.45), (0.50, 0.64)),
                  "sounding": (0.10, 0.30, 0.35, 0.25), "silent": (0.35, 0.55, 0.10, 0.0)},
    "small": {"buckets": _SIZE_BUCKETS, "sounding": _SOUNDING_SIZE_P, "silent": _SILENT_SIZE_P},
}
DEFAULT_SIZES = "benchmark"
_MIN_SIDE_PX = 8
_MARGIN_PX = 2


def size_problem(width: int, height: int) -> str | None:
    """Why a frame size cannot be written (None: it can)."""
    if not (16 <= width <= 4096 and 16 <= height <= 4096):
        return f"must be between 16 and 4096 pixels, got {width}x{height}"
    if width % 2 or height % 2:
        return f"must be even (H.264 4:2:0), got {width}x{height}"
    return None


def parse_size(text: str) -> tuple[int, int]:
    """``--size``: ``N`` (square) or ``WxH`` pixels, a size :func:`size_problem` accepts."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected N or WxH (pixels), got {text!r}")
    w = int(m.group(1))
    size = (w, int(m.group(2)) if m.group(2) else w)
    problem = size_problem(*size)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return size


def size_text(value: tuple[int, int]) -> str:
    return f"{value[0]}x{value[1]}"


@dataclass(frozen=True, kw_only=True)
class SynthConfig:
    """Everything that determines a synthetic set: the ``avsol synth`` options that shape
    the set, declared once (help, default, range: :mod:`model_core.options.spec`), so the
    generator called from code refuses exactly what the command line refuses."""

    videos: int = option(kind=int, required=True, lo=1, help="number of videos")
    seed: int = option(kind=int, required=True, lo=0, help="random seed (same seed, same set)")
    classes: int = option(8, lo=1, hi=MAX_CLASSES, help=f"number of classes K, 1..{MAX_CLASSES}")
    size: tuple[int, int] = option((224, 224), kind=tuple, parse=parse_size, text=size_text, metavar="N|WxH",
                                   help="frame size in pixels, square N or WxH, even, 16..4096")
    fps: float = option(25.0, lo=1.0, hi=120.0, help="frame rate, 1..120")
    duration: int = option(10, lo=1, hi=600, help="video length in whole seconds = number of 1 s segments")
    motion: float = option(0.3, lo=0.0, hi=1.0, help="object drift, 0 (still) .. 1")
    noise: float = option(0.1, lo=0.0, hi=1.0, help="pixel and audio noise, 0 .. 1")
    silent_max: int = option(3, lo=0, hi=3, help="most silent objects per video, 0..3")
    background_prob: float = option(0.25, lo=0.0, hi=1.0, help="chance that a segment is background")
    sizes: str = option(DEFAULT_SIZES, choices=tuple(SIZE_MIXES), metavar="MIX",
                        help="object size mix: 'benchmark' (default; sounding objects sized like VGG-SS/Flickr "
                             "boxes, ~58 % of them over a quarter of the frame) or 'small' (the mix of earlier "
                             "sets, ~19 % over a quarter)")

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    def problems(self) -> list[str]:
        """Every invalid field, as messages naming the option (empty when valid): the
        declared ranges."""
        return problems(self)

    def to_dict(self) -> dict:
        """The settings as the set's plan file records them (width and height apart)."""
        d = asdict(self)
        width, height = d.pop("size")
        return {"videos": d.pop("videos"), "seed": d.pop("seed"), "classes": d.pop("classes"),
                "width": width, "height": height, **d}


@dataclass(frozen=True)
class VideoPlan:
    """The plan of one video.

    Attributes
    ----------
    index, name : position in the set and file name (``synth_00000.mp4``).
    category : class index of the sounding object, ``objects[sounding]``.
    objects : every object on screen, in drawing order.
    kinds : per 1 s segment, ``event``, ``silence``, ``noise`` or ``offscreen``.
    offscreen : class index heard in ``offscreen`` segments (never on screen), or None.
    gain : loudness of class sounds in this clip.
    """

    index: int
    name: str
    category: int
    objects: tuple[ObjectPlan, ...]
    sounding: int
    kinds: tuple[str, ...]
    offscreen: int | None
    gain: float


def video_rng(seed: int, index: int, stream: int) -> np.random.Generator:
    """The generator of one random stream of one video."""
    return np.random.default_rng([seed, index, stream])


def video_name(index: int) -> str:
    return f"synth_{index:05d}.mp4"


def category_of(config: SynthConfig, index: int) -> int:
    """Class of video ``index``: a cycle through the classes from a seed-dependent start,
    so any run of K consecutive videos covers every class once (balanced sets)."""
    start = int(np.random.default_rng([config.seed, 2**31 - 1]).integers(config.classes))
    return (start + index) % config.classes


def _area_share(rng: np.random.Generator, probs: tuple[float, ...],
                buckets: tuple[tuple[float, float], ...] = _SIZE_BUCKETS) -> float:
    lo, hi = buckets[int(rng.choice(len(probs), p=probs))]
    return float(rng.uniform(lo, hi))


def _free_lefts(side: int, hx: float, hy: float, w: int, h: int,
                placed: list[tuple[float, float, float, float]]) -> np.ndarray:
    """Whole-pixel top-left corners (k x 2, x then y) where a square of ``side`` whose swept
    box reaches ``hx``/``hy`` from its centre lies inside the frame, clear of ``placed``."""
    xs = np.arange(math.ceil(hx - side / 2), math.floor(w - hx - side / 2) + 1)
    ys = np.arange(math.ceil(hy - side / 2), math.floor(h - hy - side / 2) + 1)
    if not xs.size or not ys.size:
        return np.zeros((0, 2), np.int64)
    lx, ty = np.meshgrid(xs, ys)
    cx, cy = lx + side / 2, ty + side / 2
    ok = np.ones(lx.shape, bool)
    for b in placed:
        ok &= (cx + hx <= b[0]) | (b[2] <= cx - hx) | (cy + hy <= b[1]) | (b[3] <= cy - hy)
    return np.stack([lx[ok], ty[ok]], axis=1)


def _place(rng: np.random.Generator, sides: list[int], classes: list[int],
           config: SynthConfig) -> list[ObjectPlan]:
    """Place squares of ``sides`` so their swept areas (position +- drift) stay inside the
    frame and apart, uniformly among the free positions. When an object does not fit its
    drift shrinks, then its size; at the minimum size it is placed anyway (overlapping)."""
    w, h = config.width, config.height
    placed: list[tuple[float, float, float, float]] = []
    objects: list[ObjectPlan] = []
    for side, cls in zip(sides, classes):
        side = min(side, w - 2 * _MARGIN_PX, h - 2 * _MARGIN_PX)
        drift = config.motion * 0.12 * rng.uniform(0.4, 1.0, size=2)
        while True:
            ax = min(drift[0] * w, max(0.0, (w - side) / 2 - _MARGIN_PX))
            ay = min(drift[1] * h, max(0.0, (h - side) / 2 - _MARGIN_PX))
            hx, hy = side / 2 + ax + _MARGIN_PX, side / 2 + ay + _MARGIN_PX
            free = _free_lefts(side, hx, hy, w, h, placed)
            if len(free) or side <= _MIN_SIDE_PX:
                break
            if drift.max() * min(w, h) > 1.0:
                drift = drift * 0.5
            else:
                side = max(_MIN_SIDE_PX, int(side * 0.85))
        if len(free):
            left, top = free[int(rng.integers(len(free)))]
        else:
            left, top = rng.integers(0, w - side + 1), rng.integers(0, h - side + 1)
        # Whole-pixel top-left when still, so a still object's box is exact.
        cx, cy = float(left) + side / 2, float(top) + side / 2
        placed.append((cx - hx, cy - hy, cx + hx, cy + hy))
        objects.append(ObjectPlan(
            class_index=cls, side=int(side), centre=(cx, cy), amp=(float(ax), float(ay)),
            freq=(float(rng.uniform(0.05, 0.2)), float(rng.uniform(0.05, 0.2))),
            phase=(float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi)))))
    return objects


def plan_video(config: SynthConfig, index: int) -> VideoPlan:
    """Draw the plan of video ``index`` (deterministic in ``config.seed`` and ``index``)."""
    rng = video_rng(config.seed, index, STREAM_PLAN)
    k = config.classes
    category = category_of(config, index)
    others = [c for c in range(k) if c != category]
    n_silent = int(rng.integers(0, min(config.silent_max, len(others)) + 1))
    silent = [int(c) for c in rng.permutation(others)[:n_silent]]
    area = config.width * config.height

    def side_for(share: float) -> int:
        return max(_MIN_SIDE_PX, int(round(math.sqrt(share * area))))

    mix = SIZE_MIXES[config.sizes]
    wanted = [(side_for(_area_share(rng, mix["sounding"], mix["buckets"])), category)]
    wanted += [(side_for(_area_share(rng, mix["silent"], mix["buckets"])), c) for c in silent]
    # Place the largest first (most likely to fit), then draw in a random order.
    order = sorted(range(len(wanted)), key=lambda j: -wanted[j][0])
    placed = _place(rng, [wanted[j][0] for j in order], [wanted[j][1] for j in order], config)
    draw = [placed[j] for j in rng.permutation(len(placed))]
    sounding = next(j for j, o in enumerate(draw) if o.class_index == category)

    on_screen = {o.class_index for o in draw}
    absent = [c for c in range(k) if c not in on_screen]
    offscreen = int(rng.choice(absent)) if absent else None
    background = rng.random(config.duration) < config.background_prob
    if background.all():
        background[int(rng.integers(config.duration))] = False
    bg_kinds = ("silence", "noise", "offscreen") if offscreen is not None else ("silence", "noise")
    picks = rng.integers(0, len(bg_kinds), size=config.duration)
    kinds = tuple(bg_kinds[p] if b else "event" for b, p in zip(background, picks))
    if "offscreen" not in kinds:
        offscreen = None
    return VideoPlan(index=index, name=video_name(index), category=category,
                     objects=tuple(draw), sounding=sounding, kinds=kinds,
                     offscreen=offscreen, gain=float(rng.uniform(0.6, 1.0)))
