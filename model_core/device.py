"""Where a model runs, for inference and training alike: device choice, CPU threads, mixed
precision.

``auto`` picks CUDA when torch sees a GPU, else the CPU. On CUDA the model runs under
autocast (bfloat16 where the GPU supports it, else float16) in channels_last; on the CPU in
float32 (bfloat16 on CPUs without AMX is slower, and results must match training's float32).
Thread counts are the caller's: nothing here changes ``torch.set_num_threads`` unless
asked (``set_threads``), so a GUI or a benchmark that pinned them keeps its setting.
"""
from __future__ import annotations

import contextlib

import torch

from model_core.errors import InputError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> CUDA if available else CPU; ``cuda`` without a GPU is bad input.

    Raises
    ------
    InputError
        For an unknown device name, or ``cuda`` on a machine where torch sees no GPU.
    """
    if isinstance(device, torch.device):
        dev = device
    else:
        name = str(device).strip().lower()
        if name == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            dev = torch.device(name)
        except RuntimeError:
            raise InputError(None, f"unknown device {device!r} (use auto, cpu or cuda)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(None, "device 'cuda' asked for, but torch sees no CUDA GPU (use --device cpu)")
    if dev.type not in ("cpu", "cuda"):
        raise InputError(None, f"device {str(dev)!r} is not supported (use auto, cpu or cuda)")
    return dev


def set_threads(threads: int | None) -> int:
    """Set torch's intra-op CPU threads when ``threads`` is given; return the count in use."""
    if threads is not None:
        if threads < 1:
            raise InputError(None, f"threads must be >= 1, got {threads}")
        torch.set_num_threads(int(threads))
    return torch.get_num_threads()


def amp_dtype(device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``device``: bf16/fp16 on CUDA, None (float32) on the CPU."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None):
    """An autocast context for ``dtype`` on ``device``, or a no-op context for float32."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
