"""The ``--backend`` and ``--precision`` options, declared once for every command that
computes maps (``avsol eval``, ``avsol infer``): the same default, choices and help."""
from __future__ import annotations

from typing import Any

from model_core.inference.backends import BACKENDS, DEFAULT_BACKEND, DEFAULT_PRECISION, PRECISIONS
from model_core.options.spec import option


def backend_option() -> Any:
    """A ``backend`` field (a fresh dataclass field each call: a field belongs to one class)."""
    return option(DEFAULT_BACKEND, choices=BACKENDS,
                  help="what runs the model's trunks on the CPU: torch (eager, the reference), openvino or "
                       "onnxruntime (compiled), or auto (the fastest whose maps equal torch's to 1e-5 on "
                       "this machine, measured once)")


def precision_option() -> Any:
    """A ``precision`` field."""
    return option(DEFAULT_PRECISION, choices=PRECISIONS,
                  help="fp32, or bf16 where the CPU has native bf16 (elsewhere fp32, said in one line)")
