"""Training options and model presets: what a run is, as plain data.

:class:`TrainOptions` is what ``avsol train`` parses and what the GUI or a test passes to
:class:`~model_core.train.loop.Trainer`. :meth:`TrainOptions.run_settings` is the subset
that determines the weights; a resumed run must have the same, or it could not reach the
weights of the uninterrupted run, so resuming with other settings is refused.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from model_core.errors import InputError

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
    for k, v in (overrides or {}).items():
        if v is not None:
            base[k] = v
    if "width" in (overrides or {}) and overrides["width"] is not None and "audio_width" not in (overrides or {}):
        base["audio_width"] = overrides["width"]
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


@dataclass
class TrainOptions:
    """One training run (see ``avsol train --help`` for each option's meaning)."""

    data: str
    head: str
    epochs: int
    out: str
    device: str = "auto"
    resume: bool = False
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int | None = None
    min_lr_ratio: float = 0.01
    seed: int = 0
    workers: int = 1
    model: dict[str, Any] = field(default_factory=lambda: dict(PRESETS["demo"]))
    lam: float = 1.0
    visual_init: str | None = None
    cache: str | None = None
    val_every: int = 1
    save_every: int = 50
    log_every: int = 10
    flip: bool = True
    absent_negatives: bool = False
    swap_silent: float = 0.0
    val_limit: int | None = None
    crop_scale: float = 1.0
    keep_last: bool = False
    threads: int | None = None
    select_best: str | None = None
    grad_clip: float | None = None
    stop_after_steps: int | None = None
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
        """Every invalid value, as messages naming the option."""
        from model_core.model import HEADS

        out = []
        if self.head not in HEADS:
            out.append(f"--head must be one of {', '.join(HEADS)}, got {self.head!r}")
        for name in ("epochs", "batch_size", "workers", "val_every", "save_every", "log_every"):
            if getattr(self, name) < 1:
                out.append(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.batch_size < 2 and self.head in ("avc", "dnm"):
            out.append("--batch-size must be >= 2 for the AVC loss (negatives come from the batch)")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            out.append(f"--lr must be a finite number > 0, got {self.lr}")
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            out.append(f"--weight-decay must be a finite number >= 0, got {self.weight_decay}")
        if not (self.lam >= 0 and math.isfinite(self.lam)):
            out.append(f"--lambda must be a finite number >= 0, got {self.lam}")
        if not 0 <= self.seed < 2**32:
            out.append(f"--seed must be in 0..{2**32 - 1}, got {self.seed}")
        if self.threads is not None and self.threads < 1:
            out.append(f"--threads must be >= 1, got {self.threads}")
        if self.val_limit is not None and self.val_limit < 1:
            out.append(f"--val-limit must be >= 1, got {self.val_limit}")
        if not 0.1 <= self.crop_scale <= 1.0:
            out.append(f"--crop-scale must be in [0.1, 1], got {self.crop_scale}")
        if not 0.0 <= self.swap_silent <= 1.0:
            out.append(f"--swap-silent must be in [0, 1], got {self.swap_silent}")
        if self.select_best is not None and self.select_best not in SELECTABLE:
            out.append(f"--select-best must be one of {', '.join(SELECTABLE)}, got {self.select_best!r}")
        if self.grad_clip is not None and not (self.grad_clip > 0 and math.isfinite(self.grad_clip)):
            out.append(f"--grad-clip must be a finite number > 0, got {self.grad_clip}")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            out.append(f"--warmup-steps must be >= 0, got {self.warmup_steps}")
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
