"""Learning-rate schedule: linear warm-up, then cosine decay, a pure function of the step.

Being a function of the step alone, the schedule needs no state in a checkpoint: a resumed
run asks for ``lr_at(step)`` and gets what the uninterrupted run used (nanoGPT's habit).
"""
from __future__ import annotations

import math


def lr_at(step: int, base_lr: float, total_steps: int, warmup_steps: int = 0,
          min_ratio: float = 0.01) -> float:
    """Learning rate of optimizer step ``step`` (0-based).

    Parameters
    ----------
    step : the step about to be taken (0 for the first).
    base_lr : peak learning rate, reached at the end of warm-up.
    total_steps : steps of the whole run; the cosine reaches ``min_ratio * base_lr`` there.
    warmup_steps : steps of linear warm-up from ``base_lr / warmup_steps`` (step 0) to
        ``base_lr`` (step ``warmup_steps - 1``); 0 for none.
    min_ratio : floor of the cosine, as a share of ``base_lr``.

    Examples
    --------
    >>> lr_at(0, 1.0, 10, warmup_steps=2)
    0.5
    >>> lr_at(2, 1.0, 10, warmup_steps=2)
    1.0
    >>> round(lr_at(10, 1.0, 10, warmup_steps=2), 6)
    0.01
    """
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    floor = base_lr * min_ratio
    return floor + (base_lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def default_warmup(total_steps: int) -> int:
    """Warm-up length when none is given: 5 % of the run, at least 1 step, at most 500."""
    return max(1, min(500, round(0.05 * total_steps)))
