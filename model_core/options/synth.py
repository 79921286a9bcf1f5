"""``avsol synth``'s options, declared once (:mod:`model_core.options.spec`).

The ranges of the set's settings are :meth:`model_core.synth.plan.SynthConfig.problems`'s
(the generator refuses the same values when called from code); the defaults here equal
SynthConfig's, which a test checks, so that ``avsol synth --help`` imports no generator.
"""
from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import ClassVar

from model_core.options.spec import option, positional


def parse_size(text: str) -> tuple[int, int]:
    """``--size``: ``N`` (square) or ``WxH`` pixels."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected N or WxH (pixels), got {text!r}")
    w = int(m.group(1))
    return w, int(m.group(2)) if m.group(2) else w


def size_text(value) -> str:
    return f"{value[0]}x{value[1]}"


@dataclass(kw_only=True)
class SynthCommand:
    """Every option of ``avsol synth``."""

    COMMAND: ClassVar[str] = "synth"

    out: str = positional(metavar="OUT", help="folder to write the set into")
    videos: int = option(kind=int, required=True, help="number of videos")
    seed: int = option(kind=int, required=True, help="random seed (same seed, same set)")
    classes: int = option(8, help="number of classes K, 1..28")
    size: tuple[int, int] = option((224, 224), kind=tuple, parse=parse_size, text=size_text, metavar="N|WxH",
                                   help="frame size in pixels, square N or WxH, even")
    fps: float = option(25.0, help="frame rate")
    duration: int = option(10, help="video length in whole seconds = number of 1 s segments")
    motion: float = option(0.3, help="object drift, 0 (still) .. 1")
    noise: float = option(0.1, help="pixel and audio noise, 0 .. 1")
    silent_max: int = option(3, help="most silent objects per video, 0..3")
    background_prob: float = option(0.25, help="chance that a segment is background")
    sizes: str = option("benchmark", metavar="MIX",
                        help="object size mix: 'benchmark' (default; sounding objects sized like VGG-SS/Flickr "
                             "boxes, ~58 % of them over a quarter of the frame) or 'small' (the mix of earlier "
                             "sets, ~19 % over a quarter)")
    workers: int = option(1, lo=1, help="parallel processes")
    force: bool = option(False, help="replace the synthetic set already in OUT (its stale videos are removed); "
                                     "a non-empty folder that is not a set of avsol synth is never written into")

    def config(self):
        """The :class:`~model_core.synth.plan.SynthConfig` of these options (its ranges are
        checked by its ``problems()``)."""
        from model_core.options.spec import project
        from model_core.synth.plan import SynthConfig

        return project(SynthConfig, self, width=self.size[0], height=self.size[1])
