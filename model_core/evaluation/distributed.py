"""Sharding an evaluation across ``torchrun`` ranks, with the project's one torchrun helper
(:mod:`model_core.distributed`).

Under ``torchrun`` (``WORLD_SIZE`` > 1) every rank evaluates every ``world``-th video and
appends to its own items log; ranks then meet in a barrier and rank 0 gathers every rank's
rows (``gather_object`` over a gloo group: no shared file system needed, though with one
the logs on disk are read too) and writes the one report. The group is gloo even on GPUs:
only Python objects travel, and gloo needs no device. Single process: no group at all.
"""
from __future__ import annotations

from model_core.distributed import TIMEOUT, Dist, join

__all__ = ["Dist", "TIMEOUT", "from_env"]


def from_env() -> Dist:
    """Join the process group when started by ``torchrun`` (``WORLD_SIZE`` > 1): gloo, no device."""
    return join(None, TIMEOUT)
