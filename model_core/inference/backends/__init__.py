"""Inference backends: which runtime runs a model's trunks on the CPU, and at which precision.

A backend compiles a model's visual trunk (and its audio trunk where that pays) for the CPU;
torch eager is the reference every other backend must match. The names below are the one
vocabulary shared by every command's ``--backend`` / ``--precision``, the viewer's settings
and live mode, so they are declared here, with no torch import, and nowhere else.

- ``auto``: the fastest backend whose maps equal torch's to 1e-5 on this machine (measured
  once per machine and model shape, the decision kept in the cache folder).
- ``torch``: torch eager, the reference.
- ``openvino`` / ``onnxruntime``: the compiled CPU runtimes.

``fp32`` is the default precision; ``bf16`` is used only where the CPU supports it.
"""
from __future__ import annotations

BACKENDS = ("auto", "torch", "openvino", "onnxruntime")
PRECISIONS = ("fp32", "bf16")
#: torch everywhere by default: in the viewer, the compiled runtimes' background builds and
#: thread pools took the display's CPU (playback of 720p30 with the three demo heads on a
#: quiet 2-core machine: 0.92 of the frames displayed with torch, 0.79-0.83 with auto's
#: ONNX Runtime; benchmarks/README.md), so a runtime is asked for by name or with auto.
DEFAULT_BACKEND = "torch"
DEFAULT_PRECISION = "fp32"

__all__ = ["BACKENDS", "PRECISIONS", "DEFAULT_BACKEND", "DEFAULT_PRECISION"]
