"""``avsol train``'s options: a training run's (:class:`~model_core.train.options.TrainOptions`)
plus the model choice and the progress format, which the command turns into the run's
``model`` settings and its event sink."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, ClassVar

from model_core.options.spec import option, project
from model_core.train.options import MODEL_FIELDS, PRESETS, TrainOptions


def parse_layers(text: str) -> list[int]:
    """``--layers``: four blocks-per-stage counts, ``2,2,2,2`` (or ``2-2-2-2``)."""
    try:
        vals = [int(x) for x in text.replace("-", ",").split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 4 integers like 2,2,2,2, got {text!r}") from None
    if len(vals) != 4:
        raise argparse.ArgumentTypeError(f"expected 4 integers like 2,2,2,2, got {text!r}")
    if not all(1 <= v <= 64 for v in vals):
        raise argparse.ArgumentTypeError(f"blocks per stage must be in 1..64, got {text!r}")
    return vals


def layers_text(value) -> str:
    return ",".join(str(v) for v in value)


@dataclass
class TrainCommand(TrainOptions):
    """Every option of ``avsol train``: the run's, the model's and ``--jsonl``."""

    COMMAND: ClassVar[str] = "train"

    jsonl: bool = option(False, help="progress as JSON lines on stdout")
    config: str = option("demo", metavar="PRESET|FILE.json", group="model",
                         help=f"model preset ({', '.join(PRESETS)}) or a JSON file of ModelConfig fields")
    width: int | None = option(None, kind=int, lo=1, hi=512, group="model",
                               help="visual (and audio) trunk width; 64 = ResNet-18")
    audio_width: int | None = option(None, kind=int, lo=1, hi=512, group="model", help="audio trunk width")
    layers: list[int] | None = option(None, kind=list, parse=parse_layers, text=layers_text, group="model",
                                      help="blocks per stage, e.g. 2,2,2,2")
    map_size: int | None = option(None, kind=int, lo=1, hi=256, group="model",
                                  help="side of the map (image size / 16 or / 32)")
    image_size: int | None = option(None, kind=int, lo=16, hi=4096, group="model",
                                    help="side of the square input frame")
    embed_dim: int | None = option(None, kind=int, lo=1, hi=8192, group="model",
                                   help="shared embedding dimension D")

    def model_overrides(self) -> dict[str, Any]:
        """The model fields given on the command line (None: the preset's)."""
        return {name: getattr(self, name) for name in MODEL_FIELDS}

    def run_options(self, **values: Any) -> TrainOptions:
        """The :class:`TrainOptions` of this command (``values``: its settings that are not
        options, such as the resolved ``model``)."""
        return project(TrainOptions, self, **values)
