"""Where a model runs: the names of :mod:`model_core.device`, kept importable from here.

Device choice, threads and mixed precision serve training as much as inference, so they
live below both (``model_core/device.py``; the layers contract in ``pyproject.toml``);
inference's callers keep importing them from this module.
"""
from model_core.device import DEVICES, amp_dtype, autocast, resolve_device, set_threads

__all__ = ["DEVICES", "amp_dtype", "autocast", "resolve_device", "set_threads"]
