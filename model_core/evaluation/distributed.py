"""Sharding an evaluation across ``torchrun`` ranks.

Under ``torchrun`` (``WORLD_SIZE`` > 1) every rank evaluates every ``world``-th video and
appends to its own items log; ranks then meet in a barrier and rank 0 gathers every rank's
rows (``gather_object`` over a gloo group: no shared file system needed, though with one
the logs on disk are read too) and writes the one report. The group is gloo even on GPUs:
only Python objects travel, and gloo needs no device. Single process: no group at all.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any, Sequence, TypeVar

T = TypeVar("T")
#: How long ranks wait for each other (a slow shard must not time out the others).
TIMEOUT = datetime.timedelta(hours=12)


@dataclass
class Dist:
    """This process's place in the run: ``rank`` of ``world`` (1: not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    _group: bool = False

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, items: Sequence[T]) -> list[T]:
        """This rank's share: items ``rank``, ``rank + world``, ... (stable across resumes)."""
        return list(items[self.rank::self.world])

    def barrier(self) -> None:
        if self._group:
            import torch.distributed as dist

            dist.barrier()

    def gather(self, obj: Any) -> list[Any] | None:
        """Every rank's ``obj`` on rank 0 (in rank order); None on the other ranks."""
        if not self._group:
            return [obj]
        import torch.distributed as dist

        out = [None] * self.world if self.is_main else None
        dist.gather_object(obj, out, dst=0)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if not self._group:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        if self._group:
            import torch.distributed as dist

            dist.destroy_process_group()
            self._group = False


def from_env() -> Dist:
    """Join the process group when started by ``torchrun`` (``WORLD_SIZE`` > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return Dist()
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    if not dist.is_initialized():
        dist.init_process_group("gloo", timeout=TIMEOUT)
    return Dist(rank, world, local, True)
