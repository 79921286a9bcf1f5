"""Checkpoints: one file of plain data (SPEC 3).

``{"format": "avsol-checkpoint", "format_version": 1, "config": {...}, "classes": [...],
"head": "dnm", "summary": {...}, "state_dict": {name: tensor}}`` and, in training's
``last`` files only, ``"train_state"``. Plain data means ``torch.load(weights_only=True)``
needs no allowlist; anything else (a foreign file, a pickle that would run code, a
truncated file, a newer format) becomes a :class:`CheckpointError` naming the file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from model_core.atomic import atomic_path
from model_core.errors import CheckpointError
from model_core.model.config import HEADS, ModelConfig

FORMAT = "avsol-checkpoint"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    config: ModelConfig
    classes: list[str]
    head: str
    state_dict: dict[str, torch.Tensor]
    summary: dict[str, Any] = field(default_factory=dict)
    train_state: dict[str, Any] | None = None
    path: str | None = None

    @property
    def name(self) -> str:
        return Path(self.path).stem if self.path else self.head

    def build(self, device: str | torch.device = "cpu"):
        """The model with these weights, in eval mode."""
        from model_core.model.dnm import build_model

        model = build_model(self.config)
        try:
            model.load_state_dict(self.state_dict)
        except RuntimeError as exc:
            raise CheckpointError(self.path, f"weights do not fit the stored config: {str(exc)[:300]}") from None
        return model.to(device).eval()


def clean_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip DDP's ``module.`` and torch.compile's ``_orig_mod.`` prefixes; detach to CPU."""
    out = {}
    for k, v in state.items():
        for prefix in ("module.", "_orig_mod."):
            while k.startswith(prefix):
                k = k[len(prefix):]
        k = k.replace("._orig_mod.", ".")
        out[k] = v.detach().cpu().contiguous()
    return out


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, config: ModelConfig,
                    classes: list[str], head: str, summary: dict | None = None,
                    train_state: dict | None = None) -> None:
    """Write a checkpoint atomically (temporary file, fsync, rename)."""
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}")
    obj = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": config.to_dict(),
        "classes": list(classes),
        "head": head,
        "summary": dict(summary or {}),
        "state_dict": clean_state_dict(model.state_dict()),
    }
    if train_state is not None:
        obj["train_state"] = train_state
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _foreign_kind(path: str) -> str | None:
    """What the file is when it is not a torch file at all (torch files are zip archives,
    or pickles in the legacy format), so random bytes or a video are not reported as
    "could run code"; None for a torch-looking file."""
    if os.path.isdir(path):
        return "is a folder"
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":
        return None
    if head[4:8] == b"ftyp":
        return "it is an MP4/MOV media file"
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "it is a Matroska/WebM media file"
    if head.startswith(b"RIFF"):
        return "it is a RIFF (AVI/WAV) media file"
    return f"not a torch file (it starts with bytes {head[:8].hex(' ')})"


def check_torch_file(path: str) -> None:
    """Refuse, before torch reads it, a path that cannot be a torch file: missing, empty, a
    FIFO, device or symlink loop (named as such), a folder, a media file or other bytes.
    Every checkpoint reader (ours and the published families') starts here."""
    from model_core.input_protection import input_problem

    problem = input_problem(path, "checkpoint")
    if problem == "file not found":
        raise CheckpointError(path, "no such file")
    if problem is not None:
        raise CheckpointError(path, "empty file" if problem.startswith("empty file") else problem)
    kind = _foreign_kind(path)
    if kind is not None:
        raise CheckpointError(path, f"not a checkpoint: {kind}")


def load_checkpoint(path: str | os.PathLike, with_train_state: bool = False) -> Checkpoint:
    """Read and check a checkpoint; every failure is a :class:`CheckpointError`."""
    path = os.fspath(path)
    check_torch_file(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a bad file, whatever torch says
        text = str(exc)
        if "Weights only load failed" in text or "weights_only" in text:
            why = "holds objects other than plain data (refused: loading it could run code)"
        elif "zip" in text.lower() or "EOF" in text or "truncated" in text.lower():
            why = "truncated or not a torch file"
        else:
            why = f"not a readable checkpoint ({type(exc).__name__})"
        raise CheckpointError(path, why) from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise CheckpointError(path, "not an AVSOL Studio checkpoint (no 'format': 'avsol-checkpoint')")
    version = obj.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(path, f"checkpoint format version {version!r} is not supported "
                                    f"(this AVSOL Studio reads version {FORMAT_VERSION})")
    try:
        config = ModelConfig.from_dict(obj["config"])
        classes = [str(c) for c in obj["classes"]]
        head = str(obj["head"])
        state = obj["state_dict"]
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(path, f"malformed checkpoint ({type(exc).__name__}: {exc})") from None
    if head not in HEADS:
        raise CheckpointError(path, f"unknown head {head!r}")
    if len(classes) != config.num_classes:
        raise CheckpointError(path, f"{len(classes)} class names for {config.num_classes} classes")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(path, "state_dict is not a mapping of tensors")
    return Checkpoint(config, classes, head, state, dict(obj.get("summary") or {}),
                      obj.get("train_state") if with_train_state else None, path)
