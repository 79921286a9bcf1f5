"""Which audio each training frame is paired with: the levers against scene memorisation.

Why: in the synthetic set (and in real video) a frame shows, besides its sounding object,
objects that make no sound. The plain AVC negative (the audio of another clip of another
class) is often the sound of one of those visible objects (about one negative in five on
the synthetic set), and it teaches "this object's sound with this object in view: no
correspondence", which contradicts localization; the only way to fit it is to memorise
which scene sounds which way. Two options fix the pairing, for every head alike:

- ``absent_negatives``: a negative's audio is of a class *not visible* in the frame;
- ``swap_silent`` P: with probability P an item with a visible silent object is paired
  with that object's sound (the audio of a random train item of that class) and that
  class as its label, a positive: the same scene must now answer two sounds with two
  places, which scene memory cannot do.

Everything random is drawn from the step's generator, so resuming stays exact.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch

from model_core.train.dataset import SegmentItem, TrainingData


def visible_classes(data: TrainingData, items: Sequence[SegmentItem]) -> list[tuple[int, tuple[int, ...]]]:
    """Per item, ``(its class, the classes of its visible silent objects)`` from the
    AVSOL-E boxes (no silent classes where the data has no boxes or labels)."""
    index = {c: i for i, c in enumerate(data.classes)}
    out = []
    for it in items:
        seg = data.box_segment(it)
        silent = () if seg is None else tuple(sorted({index[b.label] for b in seg.silent
                                                      if b.label in index and index[b.label] != it.label}))
        out.append((it.label, silent))
    return out


def visible_mask(visible: Sequence[tuple[int, tuple[int, ...]]], num_classes: int) -> torch.Tensor:
    """B x K bool: class k is visible in item b's frame (sounding or silent)."""
    m = torch.zeros((len(visible), num_classes), dtype=torch.bool)
    for b, (label, silent) in enumerate(visible):
        m[b, label] = True
        for c in silent:
            m[b, c] = True
    return m


def pick_absent_negatives(visible: torch.Tensor, audio_labels: torch.Tensor,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    """For each item i, a batch index j whose audio class is not visible in frame i
    (uniform among those), or -1 when none is.

    ``visible`` is B x K (:func:`visible_mask`), ``audio_labels`` the class of each item's
    audio. Draws one B x B uniform matrix from ``generator``.
    """
    batch = visible.shape[0]
    scores = torch.rand((batch, batch), generator=generator)
    allowed = ~visible[:, audio_labels.cpu()]            # [i, j]: audio j's class absent in frame i
    allowed &= ~torch.eye(batch, dtype=torch.bool)
    scores = torch.where(allowed, scores, torch.full_like(scores, -1.0))
    best = scores.argmax(dim=1)
    best[~allowed.any(dim=1)] = -1
    return best


def swap_silent(items: Sequence[SegmentItem], visible: Sequence[tuple[int, tuple[int, ...]]],
                by_class: Mapping[int, Sequence[SegmentItem]], p: float,
                generator: torch.Generator | None = None) -> tuple[list[SegmentItem], list[int]]:
    """The audio item and label of each item: with probability ``p``, for an item with a
    visible silent object, a random train item of one of those silent classes (its audio;
    that class as the label); else the item itself. Draws 3 x B uniforms from
    ``generator`` whatever the items (so the draws do not depend on the data)."""
    u = torch.rand((3, len(items)), generator=generator).tolist()
    audio, labels = [], []
    for b, (it, (label, silent)) in enumerate(zip(items, visible)):
        pool = [c for c in silent if by_class.get(c)]
        if p > 0 and pool and u[0][b] < p:
            c = pool[min(int(u[1][b] * len(pool)), len(pool) - 1)]
            cands = by_class[c]
            audio.append(cands[min(int(u[2][b] * len(cands)), len(cands) - 1)])
            labels.append(c)
        else:
            audio.append(it)
            labels.append(label)
    return audio, labels
