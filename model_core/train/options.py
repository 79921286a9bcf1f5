"""Training options and model presets: what a run is, as plain data.

:class:`TrainOptions` is what ``avsol train`` parses and what the GUI or a test passes to
:class:`~model_core.train.loop.Trainer`. :meth:`TrainOptions.run_settings` is the subset
that determines the weights; a resumed run must have the same, or it could not reach the
weights of the uninterrupted run, so resuming with other settings is refused.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from model_core.errors import InputError
from model_core.options.spec import option, positional, problems

#: Model presets (ModelConfig fields except num_classes, which comes from the data).
PRESETS: dict[str, dict[str, Any]] = {
    # ResNet-18 trunks at 224 px with a 7 x 7 map (SPEC 3 defaults)
    "full": {},
    "full14": {"map_size": 14},
    # small trunks, trained in minutes on a laptop CPU: 112 px with a 7 x 7 map ...
    "demo": {"width": 16, "audio_width": 16, "layers": [1, 1, 1, 1], "image_size": 112,
             "map_size": 7, "embed_dim": 64},
    # ... and the same trunks at 224 px with a 14 x 14 map: the demo models in
    # resources/models (better validation pointing than 112 px / 7 x 7 for the same data
    # and budget: resources/models/README.md)
    "demo14": {"width": 16, "audio_width": 16, "layers": [1, 1, 1, 1], "image_size": 224,
               "map_size": 14, "embed_dim": 64},
    # tests: seconds per epoch
    "tiny": {"width": 8, "audio_width": 8, "layers": [1, 1, 1, 1], "image_size": 64,
             "map_size": 4, "embed_dim": 16},
}
#: Validation metrics --select-best may pick the epoch by (loss: lowest, others: highest).
SELECTABLE = ("loss", "avc_acc", "cls_acc", "ciou@0.5", "mean_ciou", "pointing")
MODEL_FIELDS = ("width", "audio_width", "layers", "map_size", "embed_dim", "image_size")


def model_settings(preset: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """ModelConfig fields (without num_classes) from a preset name or JSON file + overrides.

    Raises
    ------
    InputError
        Unknown preset, unreadable JSON file, or a map size the trunk cannot produce at
        that image size.
    """
    if preset in PRESETS:
        base = dict(PRESETS[preset])
    elif preset.endswith(".json") or os.path.isfile(preset):
        try:
            base = json.loads(Path(preset).read_text())
        except (OSError, ValueError) as exc:
            raise InputError(preset, f"cannot read model config JSON ({exc})") from None
        if not isinstance(base, dict):
            raise InputError(preset, "model config JSON must be an object of ModelConfig fields")
        base.pop("num_classes", None)
    else:
        raise InputError(None, f"unknown --config {preset!r}: use one of {sorted(PRESETS)} or a JSON file")
    given = overrides or {}
    for k, v in given.items():
        if v is not None:
            base[k] = v
    if given.get("width") is not None and "audio_width" not in given:
        base["audio_width"] = given["width"]
    check_model_settings(base)
    return complete_model_settings(base)


def complete_model_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with every architecture field of ModelConfig filled in (its defaults),
    so that the stored run settings say what was built, whatever the defaults become."""
    import dataclasses

    from model_core.model import ModelConfig

    out = {}
    for f in dataclasses.fields(ModelConfig):
        if f.name in ("num_classes", "extra"):
            continue
        if f.name in settings:
            out[f.name] = settings[f.name]
        elif f.default is not dataclasses.MISSING:
            out[f.name] = f.default
    out.update({k: v for k, v in settings.items() if k not in out and k != "num_classes"})
    if isinstance(out.get("layers"), tuple):
        out["layers"] = list(out["layers"])
    return out


def check_model_settings(settings: dict[str, Any]) -> None:
    """Refuse what would build a model whose map is not ``map_size`` square."""
    from model_core.model import ModelConfig

    try:
        cfg = ModelConfig(num_classes=1, **settings)
    except (TypeError, ValueError) as exc:
        raise InputError(None, f"bad model config: {exc}") from None
    stride = 16 if cfg.layer4_stride == 1 else 32
    if cfg.map_size * stride != cfg.image_size:
        raise InputError(None, f"map size {cfg.map_size} needs an image size of {cfg.map_size * 16} "
                               f"or {cfg.map_size * 32} (the trunk's stride is 16 or 32), not "
                               f"{cfg.image_size}")
    if min(cfg.width, cfg.audio_width, cfg.embed_dim) < 1 or min(cfg.layers) < 1:
        raise InputError(None, "widths, embed_dim and blocks per stage must be >= 1")
    # beyond these the model does not fit any machine (width 100000: a 360 GB allocation)
    if max(cfg.width, cfg.audio_width) > 512 or cfg.embed_dim > 8192 or max(cfg.layers) > 64 \
            or cfg.image_size > 4096:
        raise InputError(None, f"model too large: widths <= 512, embed_dim <= 8192, blocks per stage "
                               f"<= 64 and image size <= 4096 (got widths {cfg.width}/{cfg.audio_width}, "
                               f"embed_dim {cfg.embed_dim}, layers {list(cfg.layers)}, image size "
                               f"{cfg.image_size})")


#: The training heads (``model_core.model.HEADS``, named here so that the parser imports no torch).
HEADS = ("avc", "cls", "dnm")


@dataclass
class TrainOptions:
    """One training run: what ``avsol train`` parses, what the viewer and tests pass to the
    :class:`~model_core.train.loop.Trainer`. Each option is declared here once, with its help,
    default and range (:mod:`model_core.options.spec`); ``model``, ``min_lr_ratio`` and
    ``command`` are settings of the run that are not options."""

    data: str = positional(metavar="DATA", help="AVE-format folder (Annotations.txt, split files, videos)")
    head: str = option(required=True, choices=HEADS, help="which loss to train")
    epochs: int = option(kind=int, required=True, lo=1, hi=1_000_000, help="passes over the train split")
    out: str = option(required=True, metavar="CKPT", help="checkpoint to write (.pt)")
    device: str = option("auto", choices=("auto", "cpu", "cuda"), help="where to train")
    resume: bool = option(False, help="continue from OUT.last.pt (starts afresh, saying so, if there is none)")
    batch_size: int = option(32, lo=1, hi=65536, group="optimisation", help="per process")
    lr: float = option(2e-3, lo=0, hi=10, lo_open=True, group="optimisation", help="peak learning rate of AdamW")
    weight_decay: float = option(1e-4, lo=0, hi=10, group="optimisation", help="AdamW weight decay")
    warmup_steps: int | None = option(None, kind=int, lo=0, group="optimisation", help="default: 5% of the steps")
    min_lr_ratio: float = 0.01
    seed: int = option(0, lo=0, hi=2**32 - 1, group="optimisation", help="random seed")
    workers: int = option(1, lo=1, hi=256, group="running", help="processes decoding videos into the cache")
    model: dict[str, Any] = field(default_factory=lambda: dict(PRESETS["demo"]))
    lam: float = option(1.0, flag="--lambda", lo=0, hi=1000, group="optimisation",
                        help="weight of the classification loss in the dnm head")
    visual_init: str | None = option(None, metavar="FILE", group="model",
                                     help="state-dict file to initialise the visual trunk")
    cache: str | None = option(None, metavar="DIR", group="running",
                               help="feature cache folder (default DATA/.avsol-cache)")
    val_every: int = option(1, lo=1, group="running", help="validate every N epochs (and after the last)")
    save_every: int = option(50, lo=1, group="running", help="write OUT.last.pt every N steps")
    log_every: int = option(10, lo=1, group="running", help="a step event every N steps")
    flip: bool = option(True, negate=True, group="optimisation", help="no left-right flips")
    absent_negatives: bool = option(False, group="optimisation",
                                    help="AVC negatives only with the sound of a class not visible in the "
                                         "frame (needs avsol-e.json silent boxes; see model_core/train/pairs.py)")
    swap_silent: float = option(0.0, lo=0, hi=1, metavar="P", group="optimisation",
                                help="with probability P pair a frame with the sound (and class) of one of "
                                     "its visible silent objects, as a positive")
    val_limit: int | None = option(None, kind=int, lo=1, metavar="N", group="running",
                                   help="validate on N val segments drawn once with a fixed seed (the same N "
                                        "for every run and seed; default: all)")
    crop_scale: float = option(1.0, lo=0.1, hi=1, metavar="S", group="optimisation",
                               help="random crops covering S..1 of the frame, resized back (default 1: off)")
    keep_last: bool = option(False, group="running", help="keep OUT.last.pt after the run finishes")
    threads: int | None = option(None, kind=int, lo=1, hi=1024, group="running",
                                 help="torch CPU threads (default: torch's choice)")
    select_best: str | None = option(None, choices=SELECTABLE, metavar="METRIC", group="running",
                                     help="write to --out the weights of the epoch with the best val METRIC "
                                          f"({', '.join(SELECTABLE)}) instead of the last epoch's")
    grad_clip: float | None = option(None, kind=float, lo=0, hi=1e6, lo_open=True, metavar="NORM",
                                     group="optimisation",
                                     help="scale the gradients so that their global L2 norm is at most NORM "
                                          "(default: no clipping); step events then carry grad_norm, before "
                                          "clipping")
    stop_after_steps: int | None = option(None, kind=int, hidden=True, help="tests: a kill after N steps")
    command: list[str] = field(default_factory=list)

    @property
    def last_path(self) -> Path:
        """The resumable checkpoint beside ``out``: ``avc.pt`` -> ``avc.last.pt``."""
        out = Path(self.out)
        return out.with_name(f"{out.stem if out.suffix else out.name}.last.pt")

    @property
    def best_path(self) -> Path:
        """The best-so-far weights under ``select_best``: ``avc.pt`` -> ``avc.best.pt``."""
        out = Path(self.out)
        return out.with_name(f"{out.stem if out.suffix else out.name}.best.pt")

    @property
    def cache_dir(self) -> Path:
        return Path(self.cache) if self.cache else Path(self.data) / ".avsol-cache"

    def problems(self) -> list[str]:
        """Every invalid value, as messages naming the option: the declared ranges, and the
        batch the AVC loss needs."""
        out = problems(self)
        if isinstance(self.batch_size, int) and self.batch_size < 2 and self.head in ("avc", "dnm"):
            out.append("--batch-size must be >= 2 for the AVC loss (negatives come from the batch)")
        return out

    def run_settings(self) -> dict[str, Any]:
        """The options that determine the weights (compared on ``--resume``)."""
        d = asdict(self)
        keep = ("head", "epochs", "batch_size", "lr", "weight_decay", "warmup_steps", "min_lr_ratio",
                "seed", "model", "lam", "visual_init", "flip", "select_best", "val_every")
        out = {k: d[k] for k in keep}
        # the levers are recorded only when used, so runs of earlier versions still resume
        for k in ("absent_negatives", "swap_silent", "val_limit", "grad_clip"):
            if d[k]:
                out[k] = d[k]
        if d["crop_scale"] != 1.0:
            out["crop_scale"] = d["crop_scale"]
        out["model"] = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in d["model"].items()}
        return out
