"""Training state as plain data (tensors, numbers, strings, lists, dicts) and back.

A ``last`` checkpoint must load with ``torch.load(weights_only=True)`` (SPEC 3), so nothing
in it may be an arbitrary Python object: numpy's and Python's RNG states (tuples holding
arrays) become tensors and lists here, and come back as the exact same states, so a run
resumed after a kill draws the same random numbers as the uninterrupted one.
"""
from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def rng_state() -> dict[str, Any]:
    """The states of Python's, numpy's, torch's and (if present) every CUDA device's RNG."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    out: dict[str, Any] = {
        "python": {"version": int(version), "state": [int(x) for x in internal],
                   "gauss": None if gauss is None else float(gauss)},
        "numpy": {"name": str(name), "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["cuda"] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    return out


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned (CUDA states only where devices match)."""
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    npst = state["numpy"]
    np.random.set_state((npst["name"], npst["keys"].numpy().astype(np.uint32), npst["pos"],
                         npst["has_gauss"], npst["cached"]))
    torch.set_rng_state(state["torch"].to(torch.uint8))
    cuda = state.get("cuda")
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.to(torch.uint8) for s in cuda])


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (all devices) with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def step_generator(seed: int, rank: int, step: int) -> torch.Generator:
    """The generator of one training step's own randomness (negatives, flips).

    A pure function of (seed, rank, step), like the schedule: resuming at any step draws
    the same numbers without restoring any generator, whatever happened before.
    """
    g = torch.Generator()
    g.manual_seed(int(np.random.SeedSequence([seed, rank, step]).generate_state(1, np.uint64)[0]
                      & 0x7FFF_FFFF_FFFF_FFFF))
    return g


def is_plain(obj: Any) -> bool:
    """Whether ``obj`` is plain data that ``torch.load(weights_only=True)`` accepts."""
    if obj is None or isinstance(obj, (bool, int, float, str, torch.Tensor)):
        return True
    if isinstance(obj, (list, tuple)):
        return all(is_plain(x) for x in obj)
    if isinstance(obj, dict):
        return all(isinstance(k, (str, int)) and is_plain(v) for k, v in obj.items())
    return False
