"""Batches of training pairs read from the feature cache.

:class:`SegmentStore` maps a :class:`~model_core.train.dataset.SegmentItem` to its cached
frame and log-mel. Assembling a batch is a gather from memory-mapped arrays (no decoding),
so the trainer does it in the main process: fast, and free of the worker-process state
that would otherwise have to be saved for an exact resume.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from model_core.train.dataset import SegmentItem
from model_core.train.feature_cache import CachedVideo


class SegmentStore:
    """Cached inputs of the videos of a :class:`~model_core.train.dataset.TrainingData`.

    Parameters
    ----------
    entries : per video (same indices as ``TrainingData.videos``), its cache entry, or
        None where the video could not be decoded.
    """

    def __init__(self, entries: Sequence[CachedVideo | None]):
        self.entries = list(entries)

    def _entry(self, video: int) -> CachedVideo:
        entry = self.entries[video]
        if entry is None:
            raise ValueError(f"video {video} was not decoded: filter the items first")
        return entry

    def usable(self, item: SegmentItem) -> bool:
        """Whether ``item`` has a decoded frame in the cache."""
        e = self.entries[item.video] if item.video < len(self.entries) else None
        return e is not None and item.segment < e.n_segments and bool(e.valid[item.segment])

    def filter(self, items: Sequence[SegmentItem]) -> tuple[list[SegmentItem], int]:
        """(items with cached inputs, number left out)."""
        kept = [it for it in items if self.usable(it)]
        return kept, len(items) - len(kept)

    def batch(self, items: Sequence[SegmentItem], flip: torch.Tensor | None = None,
              audio_items: Sequence[SegmentItem] | None = None
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(frames, mels, labels)`` of ``items``.

        frames : B x 3 x H x W uint8, NCHW view of NHWC memory (channels_last); the model
            normalises on its side. Items where ``flip`` is True are mirrored left-right
            (the sounding object stays the sounding object; the sound is unchanged).
        mels : B x 1 x 64 x T float32 log-mel (dB).
        labels : B int64 event classes.

        ``audio_items``, when given, supply the log-mels (item b's frame with the audio of
        ``audio_items[b]``); labels stay those of ``items``.
        """
        frames = np.stack([self._entry(it.video).frames[it.segment] for it in items])
        if flip is not None:
            sel = flip.numpy().astype(bool)
            frames[sel] = frames[sel][:, :, ::-1]
        mels = np.stack([self._entry(it.video).mels[it.segment] for it in (audio_items or items)])
        labels = torch.tensor([it.label for it in items], dtype=torch.long)
        return (torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2),
                torch.from_numpy(np.ascontiguousarray(mels, dtype=np.float32)), labels)
