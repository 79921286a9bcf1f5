"""Whether a device can run bf16 at speed, and the precision a model will actually use.

bf16 on the CPU pays only with native bf16 instructions (``avx512_bf16`` or AMX); without
them oneDNN and OpenVINO emulate it, slower than fp32 and with bf16's error, so it is
refused there with one line and the model runs in fp32. A GPU answers through torch.
"""
from __future__ import annotations

import functools
import logging
import platform

log = logging.getLogger("avsol.backends")

#: CPU flags (Linux ``/proc/cpuinfo``) that mean bf16 arithmetic in hardware.
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux reports them (empty where there is no /proc)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_bf16() -> bool:
    """True where the CPU has bf16 instructions. Off Linux, OpenVINO's own probe answers
    (its CPU plugin lists ``BF16`` among its capabilities only with native support)."""
    flags = cpu_flags()
    if flags:
        return any(f in flags for f in BF16_CPU_FLAGS)
    if platform.system() == "Linux":
        return False
    try:
        import openvino as ov

        return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:  # noqa: BLE001 - no runtime to ask: no bf16
        return False


def bf16_supported(device) -> bool:
    """Whether ``device`` (a ``torch.device`` or its name) runs bf16 at speed."""
    kind = getattr(device, "type", str(device).split(":")[0])
    if kind == "cuda":
        import torch

        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return cpu_bf16()


def resolve_precision(precision: str, device, who: str = "") -> str:
    """The precision a model on ``device`` will use: ``precision`` if the device supports
    it, else ``"fp32"`` after one warning line (the user asked for bf16 and does not get
    it, so it is said, once per model)."""
    from model_core.inference.backends import PRECISIONS

    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r} (one of {', '.join(PRECISIONS)})")
    if precision == "bf16" and not bf16_supported(device):
        where = "this GPU" if getattr(device, "type", str(device)).startswith("cuda") else \
            "this CPU (no avx512_bf16 or AMX)"
        log.warning("%sbf16 is not supported on %s; using fp32", f"{who}: " if who else "", where)
        return "fp32"
    return precision


def precision_name(dtype) -> str:
    """The precision a CUDA autocast dtype means (None: no autocast, fp32)."""
    if dtype is None:
        return "fp32"
    return {"torch.bfloat16": "bf16", "torch.float16": "fp16"}.get(str(dtype), str(dtype))
