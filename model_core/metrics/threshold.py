"""The threshold rule that turns a map into the binary prediction P of cIoU (SPEC 5).

Rules, named as ``--threshold`` spells them and as reports record them (``meta.threshold``):

- ``median`` (default): pixels strictly above the median of the min-max normalised map,
  the field's protocol (every prediction covers about half the frame);
- ``fixed:T``: pixels of the *raw* resized sigmoid map strictly above ``T`` (0 <= T < 1):
  a map that stays low everywhere predicts nothing, which negative-audio and extended
  benchmarks need;
- ``top-gt``: the ``|G|`` highest pixels of the map, ``|G|`` the number of pixels with
  G > 0 (the size of the ground truth, a size prior some papers use); ties are broken by
  row-major pixel order so exactly ``|G|`` pixels are chosen;
- ``norm:T``: pixels of the normalised map strictly above ``T`` - what a bare number
  (``--threshold 0.3``) has always meant; kept so older commands and reports still read.

The published repositories' conventions, as they score their own maps:

- ``median`` is already LVS's, EZ-VSL's and FNAC's rule: ``np.sort(pred.flatten())[h*w // 2]``
  of the min-max map, pixels strictly above it (EZ-VSL's ``cal_CIOU`` keeps ``>=``, which
  differs only on ties);
- ``adaptive``: SSL-align's ``cIoU_adap`` (GT-area adaptive): with ``k`` the number of GT
  pixels ``!= 0`` (``h*w // 2`` when there are none), the threshold is the value at index
  ``h*w - k`` of the sorted min-max map, pixels strictly above it (so ``k - 1`` pixels when
  no values tie, exactly as their code does);
- ``slavc``: SLAVC's absolute normalisation ``(S + 1/tau) / (2/tau)`` at 0.5, i.e. the
  model's absolute [0, 1] map (``model_core.map_scale.normalise`` of its ``map_kind``)
  strictly above 0.5: cosine 0 for a ``cosine_tau`` map, 0.5 for a sigmoid;
- ``sweep``: a fixed-threshold sweep; each item is binarised at ``fixed:0.5`` of the
  absolute map, and the report adds the mean cIoU at every fixed threshold of
  :data:`SWEEP_LEVELS` (``model_core.evaluation.runner``).

"Raw" maps (``fixed``, ``slavc``) are the models' ABSOLUTE maps in [0, 1]: a sigmoid map as it
is, any other kind through ``normalise`` (``model_core.metrics.masks.absolute_maps``).

A rule is carried around as its canonical string (JSON-friendly, recorded in the items
log's header so a resumed run never mixes rules); its level reads back as the number the
user typed. Levels compare at the maps' float32 precision (a map value of 0.1 is not
above ``fixed:0.1``; ``fixed:0.99999999`` is ``fixed:1`` there: only a map above 1).
"""
from __future__ import annotations

import argparse
import math

import numpy as np

MEDIAN, TOP_GT, ADAPTIVE, SLAVC, SWEEP = "median", "top-gt", "adaptive", "slavc", "sweep"
#: The rules a user chooses between (the viewer's choice lists these, plus fixed:T).
RULES = (MEDIAN, "fixed:0.5", TOP_GT, ADAPTIVE, SLAVC, SWEEP)
#: The fixed thresholds of ``sweep`` (0.05 ... 0.95).
SWEEP_LEVELS = tuple(round(0.05 * i, 2) for i in range(1, 20))
_NAMED = (MEDIAN, TOP_GT, ADAPTIVE, SLAVC, SWEEP)


def canonical(rule: str | float | None) -> str:
    """The canonical name of ``rule`` (None -> ``median``, a number T -> ``norm:T``);
    ``ValueError`` with a one-line reason when it is not a rule."""
    if rule is None:
        return MEDIAN
    if isinstance(rule, (int, float)) and not isinstance(rule, bool):
        return f"norm:{_level(str(rule))}"
    text = str(rule).strip().lower()
    if text in _NAMED:
        return text
    for prefix in ("fixed:", "norm:"):
        if text.startswith(prefix):
            return prefix + _level(text[len(prefix):])
    try:
        float(text)
    except ValueError:
        raise ValueError(f"expected median, fixed:T, top-gt, adaptive, slavc, sweep or a number, "
                         f"got {rule!r}") from None
    return f"norm:{_level(text)}"


def _level(text: str) -> str:
    try:
        t = float(text)
    except ValueError:
        raise ValueError(f"expected a number after the rule, got {text!r}") from None
    if not math.isfinite(t) or not 0 <= t < 1:
        raise ValueError(f"the threshold must be a finite number in [0, 1), got {text}")
    # the shortest text that reads back as t: %g alone rounds 0.99999999 to "1", a rule
    # that would be accepted, then refused when read back
    short = f"{t:g}"
    return short if float(short) == t else repr(t)


def parse_rule(text: str) -> str:
    """An argparse ``type`` for ``--threshold``: one-line errors, the canonical rule."""
    try:
        return canonical(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def binarize_rule(rule: str | float | None, norm_maps: np.ndarray, raw_maps: np.ndarray | None = None,
                  gt: np.ndarray | None = None) -> np.ndarray:
    """Binary predictions ``(N, h, w)`` of ``rule`` (see the module docstring).

    ``norm_maps`` are the min-max normalised 224 x 224 maps, ``raw_maps`` the same maps
    before min-max, on their absolute [0, 1] scale (``fixed``, ``slavc``, ``sweep``), ``gt``
    the GT maps (``top-gt``, ``adaptive``).
    """
    from model_core.metrics.localization import median_thresholds

    name = canonical(rule)
    norm_maps = np.asarray(norm_maps)
    if name == MEDIAN:
        return norm_maps > median_thresholds(norm_maps)[:, None, None]
    if name == TOP_GT:
        if gt is None:
            raise ValueError("the top-gt rule needs the GT maps")
        flat = norm_maps.reshape(len(norm_maps), -1)
        k = (np.asarray(gt).reshape(len(flat), -1) > 0).sum(axis=1)
        order = np.argsort(-flat, axis=1, kind="stable")
        out = np.zeros(flat.shape, dtype=bool)
        for i in range(len(flat)):
            out[i, order[i, :k[i]]] = True
        return out.reshape(norm_maps.shape)
    if name == ADAPTIVE:
        if gt is None:
            raise ValueError("the adaptive rule needs the GT maps")
        flat = norm_maps.reshape(len(norm_maps), -1)
        hw = flat.shape[1]
        k = (np.asarray(gt).reshape(len(flat), -1) != 0).sum(axis=1)
        k = np.where(k == 0, hw // 2, k)
        srt = np.sort(flat, axis=1)
        thr = srt[np.arange(len(flat)), np.clip(hw - k, 0, hw - 1)]
        return norm_maps > thr[:, None, None]
    if name in (SLAVC, SWEEP):
        name = "fixed:0.5"
    kind, level = name.split(":")
    if kind == "fixed":
        if raw_maps is None:
            raise ValueError("the fixed rule needs the raw maps")
        return np.asarray(raw_maps) > float(level)
    return norm_maps > float(level)


__all__ = ["ADAPTIVE", "MEDIAN", "RULES", "SLAVC", "SWEEP", "SWEEP_LEVELS", "TOP_GT", "binarize_rule",
           "canonical", "parse_rule"]
