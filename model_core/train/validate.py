"""Validation of a model on the val split: loss, AVC and classification accuracy, and
localization (cIoU@0.5, mean cIoU, pointing game) where the data has AVSOL-E boxes.

Validation runs the whole model in eval mode under ``no_grad`` with its own seeded
generator for the AVC negatives, so it changes neither the weights, the BatchNorm
statistics nor any RNG the training draws from: a run validated every epoch and a run
validated never reach the same weights. Under torchrun each rank scores a shard of the
items and the sums are added over the ranks, so every rank returns the same numbers.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from model_core.formats.annotations import Segment
from model_core.model import head_loss, pick_negatives
from model_core.train.batches import SegmentStore
from model_core.train.dataset import SegmentItem
from model_core.train.distributed import DistInfo, all_reduce_sums


def _localization_sums(maps: np.ndarray, segments: Sequence[Segment]) -> dict[str, float]:
    """Sums of cIoU@0.5 successes, cIoU and pointing hits over items with a GT box."""
    try:
        from model_core.metrics import localization as L
        from model_core.metrics.masks import gt_map, minmax_normalise, resize_maps, sounding_mask
    except ImportError:  # metrics not installed in this tree: validation without cIoU
        return {}
    norm = minmax_normalise(resize_maps(maps))
    gt = np.stack([gt_map(s) for s in segments])
    cious = L.ciou(L.binarize(norm), gt)
    ok = np.isfinite(cious)
    hits = L.peak_inside(L.peaks(norm), np.stack([sounding_mask(s) for s in segments]))
    return {"loc_n": float(ok.sum()), "loc_success": float((cious[ok] >= L.SUCCESS_CIOU).sum()),
            "loc_ciou": float(cious[ok].sum()), "loc_pointing": float(np.asarray(hits)[ok].sum())}


@torch.no_grad()
def validate(model, store: SegmentStore, items: Sequence[SegmentItem], head: str, *,
             device: torch.device, info: DistInfo, batch_size: int = 64, lam: float = 1.0,
             seed: int = 0, autocast=None, channels_last: bool = False,
             segments: Sequence[Segment | None] | None = None) -> dict[str, float]:
    """Metrics of ``model`` on ``items`` (all ranks get the same result).

    Parameters
    ----------
    segments : per item, its AVSOL-E segment (with boxes) or None; items with a segment
        are also scored for localization.

    Returns
    -------
    dict
        ``loss`` (the head's loss), ``avc_acc`` (positives with p_avc > 0.5 and mismatched
        pairs below), ``cls_acc``, ``n`` (items), and with boxes ``ciou@0.5``,
        ``mean_ciou``, ``pointing``, ``n_loc``.
    """
    import contextlib

    was_training = model.training
    model.eval()
    order = np.random.default_rng([seed, 7]).permutation(len(items))  # mix classes per batch
    mine = order[info.rank::info.world_size]
    sums = {"n": 0.0, "loss": 0.0, "avc_right": 0.0, "avc_n": 0.0, "cls_right": 0.0}
    for b in range(0, len(mine), batch_size):
        idx = mine[b:b + batch_size]
        frames, mels, labels = store.batch([items[i] for i in idx])
        frames, mels, labels = frames.to(device), mels.to(device), labels.to(device)
        if channels_last:
            frames = frames.contiguous(memory_format=torch.channels_last)
        g = torch.Generator().manual_seed(seed * 1000003 + info.rank * 7919 + b)
        neg = pick_negatives(labels, len(idx), generator=g)
        with autocast() if autocast else contextlib.nullcontext():
            V, a = model.visual(frames), model.audio(mels)
            pos = model.read(V, a)
            keep = neg >= 0
            neg_logit = model.read(V[keep], a[neg[keep].to(device)]).avc_logit if keep.any() else V.new_zeros(0)
            loss = head_loss(model, V, a, labels, head, negatives=neg, lam=lam)["loss"]
        n = len(idx)
        sums["n"] += n
        sums["loss"] += float(loss) * n
        sums["avc_right"] += float((pos.avc_logit > 0).sum() + (neg_logit <= 0).sum())
        sums["avc_n"] += n + int(keep.sum())
        sums["cls_right"] += float((pos.class_logits.argmax(1) == labels).sum())
        if segments is not None:
            with_box = [j for j, i in enumerate(idx) if segments[i] is not None]
            if with_box:
                maps = pos.localization[with_box].float().cpu().numpy()
                for k, v in _localization_sums(maps, [segments[idx[j]] for j in with_box]).items():
                    sums[k] = sums.get(k, 0.0) + v
    if segments is not None and any(s is not None for s in segments):
        for k in ("loc_n", "loc_success", "loc_ciou", "loc_pointing"):
            sums.setdefault(k, 0.0)  # same keys on every rank for the reduction
    sums = all_reduce_sums(info, sums)
    model.train(was_training)
    total = max(sums["n"], 1.0)
    out = {"loss": sums["loss"] / total, "avc_acc": sums["avc_right"] / max(sums["avc_n"], 1.0),
           "cls_acc": sums["cls_right"] / total, "n": int(sums["n"])}
    if sums.get("loc_n", 0) > 0:
        m = sums["loc_n"]
        out.update({"ciou@0.5": sums["loc_success"] / m, "mean_ciou": sums["loc_ciou"] / m,
                    "pointing": sums["loc_pointing"] / m, "n_loc": int(m)})
    return out
