"""Multi-process training through ``torchrun`` (DistributedDataParallel).

Distributed only when ``WORLD_SIZE > 1`` (torchrun sets it, with ``RANK`` and
``LOCAL_RANK``); otherwise every helper here is a no-op on one process, so the trainer has
one code path. Backend: nccl on CUDA, gloo on the CPU (open_clip's habit). Only rank 0
logs and writes files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size``, and its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_world_size() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group when started by torchrun with several processes.

    On CUDA each process takes GPU ``LOCAL_RANK``. Returns a single-process
    :class:`DistInfo` when ``WORLD_SIZE`` is absent or 1.
    """
    world = env_world_size()
    if world <= 1:
        return DistInfo(device=device)
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistInfo(rank, world, local_rank, device)


def shutdown() -> None:
    """Leave the process group (if any)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.distributed:
        dist.barrier()


def all_gather_objects(info: DistInfo, obj: Any) -> list[Any]:
    """``obj`` of every rank, in rank order (``[obj]`` on one process)."""
    if not info.distributed:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(info: DistInfo, obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not info.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_reduce_sums(info: DistInfo, sums: dict[str, float]) -> dict[str, float]:
    """Sum each value over the ranks (keys must be the same on every rank)."""
    if not info.distributed or not sums:
        return dict(sums)
    keys = sorted(sums)
    t = torch.tensor([float(sums[k]) for k in keys], dtype=torch.float64,
                     device=info.device if info.device.type == "cuda" else "cpu")
    dist.all_reduce(t)
    return {k: float(v) for k, v in zip(keys, t.tolist())}
