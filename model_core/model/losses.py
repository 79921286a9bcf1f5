"""Losses of the three heads (SPEC 3): ``avc`` = L_avc, ``cls`` = L_cls,
``dnm`` = L_avc + lambda L_cls, all on one similarity map.

AVC is multiple-instance: the clip-level logit is the map's maximum, trained with binary
cross-entropy, positives a frame with its own audio, negatives the same frame with the
audio of another clip of the batch (of another class where labels exist). Classification
reads the same map through a spatial softmax and is trained on positive pairs only.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from model_core.model.config import HEADS


def pick_negatives(labels: torch.Tensor | None, batch: int, generator: torch.Generator | None = None
                   ) -> torch.Tensor:
    """For each item i, the index j != i of the clip whose audio is its negative.

    With labels, j is drawn among items of another class; an item for which no such j
    exists gets -1 (no negative). Without labels, any other item.
    """
    if batch < 2:
        return torch.full((batch,), -1, dtype=torch.long)
    scores = torch.rand((batch, batch), generator=generator)
    allowed = ~torch.eye(batch, dtype=torch.bool)
    if labels is not None:
        labels = labels.cpu()
        allowed &= labels[:, None] != labels[None, :]
    scores = torch.where(allowed, scores, torch.full_like(scores, -1.0))
    best = scores.argmax(dim=1)
    best[~allowed.any(dim=1)] = -1
    return best


def head_loss(model, V: torch.Tensor, a: torch.Tensor, labels: torch.Tensor | None, head: str,
              negatives: torch.Tensor | None = None, lam: float = 1.0) -> dict[str, torch.Tensor]:
    """Loss of ``head`` for visual maps V (B x D x h x w) and their own audio a (B x D).

    Returns a dict with ``loss`` (what to backpropagate) and the parts, detached, for logs:
    ``l_avc``, ``l_cls``, ``avc_acc`` (positives above and negatives below 0.5),
    ``cls_acc``.
    """
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; expected one of {HEADS}")
    pos = model.read(V, a)
    out: dict[str, torch.Tensor] = {}
    total = V.new_zeros(())
    if head in ("avc", "dnm"):
        if negatives is None:
            negatives = pick_negatives(labels, V.shape[0])
        keep = negatives >= 0
        neg_logit = V.new_zeros((0,))
        if keep.any():
            neg = model.read(V[keep], a[negatives[keep].to(a.device)])
            neg_logit = neg.avc_logit
        logits = torch.cat([pos.avc_logit, neg_logit]).float()
        target = torch.cat([torch.ones_like(pos.avc_logit), torch.zeros_like(neg_logit)]).float()
        l_avc = F.binary_cross_entropy_with_logits(logits, target)
        total = total + l_avc
        out["l_avc"] = l_avc.detach()
        out["avc_acc"] = ((logits > 0) == (target > 0.5)).float().mean().detach()
    if head in ("cls", "dnm"):
        if labels is None:
            raise ValueError(f"head {head!r} needs class labels")
        l_cls = F.cross_entropy(pos.class_logits.float(), labels)
        total = total + (lam if head == "dnm" else 1.0) * l_cls
        out["l_cls"] = l_cls.detach()
    if labels is not None:
        out["cls_acc"] = (pos.class_logits.argmax(1) == labels).float().mean().detach()
    out["loss"] = total
    return out
