"""Multi-process training through ``torchrun`` (DistributedDataParallel), with the
project's one torchrun helper (:mod:`model_core.distributed`).

Distributed only when ``WORLD_SIZE > 1``; otherwise every helper here is a no-op on one
process, so the trainer has one code path. Backend: nccl on CUDA (each process on GPU
``LOCAL_RANK``), gloo on the CPU. Only rank 0 logs and writes files. The functions below
are the trainer's names for the helper's methods.
"""
from __future__ import annotations

from typing import Any

from model_core.distributed import Dist, env_world_size, join

#: What the trainer calls its place in the run (``rank``, ``world_size``, ``device``, ...).
DistInfo = Dist

__all__ = ["DistInfo", "all_gather_objects", "all_reduce_sums", "barrier", "broadcast_object",
           "env_world_size", "init_distributed", "shutdown"]

_joined: list[Dist] = []


def init_distributed(device) -> Dist:
    """Join the process group when started by torchrun with several processes (on CUDA each
    process takes GPU ``LOCAL_RANK``); a single-process :class:`Dist` otherwise."""
    info = join(device)
    if info.enabled:
        _joined.append(info)
    return info


def shutdown() -> None:
    """Leave the process group (if any)."""
    while _joined:
        _joined.pop().close()


def barrier(info: Dist) -> None:
    info.barrier()


def all_gather_objects(info: Dist, obj: Any) -> list[Any]:
    """``obj`` of every rank, in rank order (``[obj]`` on one process)."""
    return info.all_gather(obj)


def broadcast_object(info: Dist, obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    return info.broadcast(obj)


def all_reduce_sums(info: Dist, sums: dict[str, float]) -> dict[str, float]:
    """Sum each value over the ranks (keys must be the same on every rank)."""
    return info.all_reduce_sums(sums)
