"""The one ``torchrun`` helper of training and evaluation.

Distributed only when ``WORLD_SIZE > 1`` (torchrun sets it with ``RANK`` and
``LOCAL_RANK``); otherwise every method here is a no-op on one process, so callers have
one code path. ``LOCAL_RANK`` defaults to ``RANK`` (one node) when a launcher other than
torchrun leaves it out. Backend: nccl when the process computes on CUDA, gloo otherwise
(open_clip's habit); an evaluation passes ``device=None`` and gets gloo even on GPUs,
since only Python objects travel between its ranks. Only rank 0 logs and writes files.
Torch is imported only when a process group is used.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any, Sequence, TypeVar

from model_core.errors import InputError

T = TypeVar("T")
#: How long ranks wait for each other (a slow evaluation shard must not time out the others).
TIMEOUT = datetime.timedelta(hours=12)


class RankLost(InputError):
    """A collective failed: another rank died (kill -9, out of memory) or its connection
    broke. One line (the CLI's exit 2), never gloo's C++ traceback; the caller writes what
    it has (an evaluation: the partial report from the items logs; ``--resume`` finishes)."""

    def __init__(self, what: str, exc: BaseException):
        import re

        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        text = re.sub(r"^\[[^\]]*\]\s*", "", text)        # gloo's "[.../pair.cc:561] " source prefix
        text = text.split(". ")[0][:160]
        super().__init__(None, f"torchrun: {what} failed, another rank is gone ({text})")


def _collective(what: str):
    """Run a collective method; a backend failure becomes :class:`RankLost` and marks the
    group broken (nothing more is sent over it)."""
    def wrap(method):
        def run(self, *args, **kwargs):
            if self.broken is not None:
                raise self.broken
            try:
                return method(self, *args, **kwargs)
            except RuntimeError as exc:   # gloo / nccl: DistBackendError and plain RuntimeError
                self.broken = RankLost(what, exc)
                raise self.broken from None
        run.__name__, run.__doc__ = method.__name__, method.__doc__
        return run
    return wrap


def env_world_size() -> int:
    """``WORLD_SIZE`` from torchrun (1 when absent or unreadable)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1") or 1)
    except ValueError:
        return 1


@dataclass
class Dist:
    """This process's place in the run: ``rank`` of ``world`` (1: not distributed) and the
    device it computes on (None: the caller did not say, e.g. evaluation's object-only group)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: Any = None
    _group: bool = False
    #: the :class:`RankLost` of a failed collective: the group is not used again
    broken: RankLost | None = None

    @property
    def enabled(self) -> bool:
        return self.world > 1

    # the names training used
    distributed = enabled

    @property
    def world_size(self) -> int:
        return self.world

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, items: Sequence[T]) -> list[T]:
        """This rank's share: items ``rank``, ``rank + world``, ... (stable across resumes)."""
        return list(items[self.rank::self.world])

    @_collective("the barrier")
    def barrier(self) -> None:
        if self._group:
            import torch.distributed as dist

            dist.barrier()

    @_collective("gathering the results")
    def gather(self, obj: Any) -> list[Any] | None:
        """Every rank's ``obj`` on rank 0 (in rank order); None on the other ranks."""
        if not self._group:
            return [obj]
        import torch.distributed as dist

        out = [None] * self.world if self.is_main else None
        dist.gather_object(obj, out, dst=0)
        return out

    @_collective("exchanging results")
    def all_gather(self, obj: Any) -> list[Any]:
        """``obj`` of every rank on every rank, in rank order (``[obj]`` on one process)."""
        if not self._group:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    @_collective("a broadcast")
    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if not self._group:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    @_collective("summing over the ranks")
    def all_reduce_sums(self, sums: dict[str, float]) -> dict[str, float]:
        """Sum each value over the ranks (keys must be the same on every rank)."""
        if not self._group or not sums:
            return dict(sums)
        import torch
        import torch.distributed as dist

        keys = sorted(sums)
        on_cuda = self.device is not None and getattr(self.device, "type", "") == "cuda"
        t = torch.tensor([float(sums[k]) for k in keys], dtype=torch.float64,
                         device=self.device if on_cuda else "cpu")
        dist.all_reduce(t)
        return {k: float(v) for k, v in zip(keys, t.tolist())}

    def close(self) -> None:
        """Leave the process group (if this process joined one)."""
        if self._group:
            import torch.distributed as dist

            self._group = False
            try:
                if dist.is_initialized():
                    dist.destroy_process_group()
            except RuntimeError:  # a group a dead rank broke: nothing left to leave cleanly
                pass


def join(device=None, timeout: datetime.timedelta | None = None) -> Dist:
    """Join the process group when started by ``torchrun`` with several processes.

    ``device``: the torch device this process computes on; on CUDA each process takes GPU
    ``LOCAL_RANK`` (the returned ``Dist.device``) and the group uses nccl. None or a CPU
    device: gloo. One process: a :class:`Dist` of world 1 and no group.
    """
    world = env_world_size()
    if world <= 1:
        return Dist(device=device)
    import torch
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    cuda = device is not None and torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    if not dist.is_initialized():
        backend = "nccl" if cuda else "gloo"
        if timeout is not None:
            dist.init_process_group(backend, timeout=timeout)
        else:
            dist.init_process_group(backend)
    return Dist(rank, world, local, device, True)
