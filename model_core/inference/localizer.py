"""One loaded model ready to localize: frames + audio windows in, maps out.

:class:`Localizer` owns a model on a device and the speed settings measured for it
(``torch.inference_mode``, channels_last, autocast on CUDA, batching). Its three steps
follow the model's split forward pass, so callers can share work:

- :meth:`Localizer.embed_audio` runs the audio trunk once per distinct audio window;
- :meth:`Localizer.predict` runs the visual trunk on a batch of frames and pairs each frame
  with one of those embeddings (``audio_index``), so frames of one window share it; the
  visual trunk, the cost of every map, and the audio trunk run through the chosen inference
  backend (:mod:`model_core.inference.backends`: torch, or a compiled CPU runtime that
  takes over once it is built in the background);
- :meth:`Localizer.localize_video` runs the streaming video pipeline
  (:mod:`model_core.inference.pipeline`).

Maps are sigmoid(Z) at the model's map resolution (7 x 7 or 14 x 14), float32, not
upsampled: upsampling to the frame is the job of whoever shows or scores them (SPEC 3).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from model_core.inference.backends.capability import precision_name, resolve_precision
from model_core.inference.backends.routed import RoutedStep, used
from model_core.inference.device import amp_dtype, autocast, resolve_device, set_threads
from model_core.inference.preprocess import frames_to_tensor, windows_to_log_mel
from model_core.model.trunks import fold_batch_norm


@dataclass
class Prediction:
    """Model outputs for a batch of B frames (numpy, on the CPU)."""

    maps: np.ndarray         # (B, h, w) float32, sigmoid(Z)
    p_avc: np.ndarray        # (B,) float32, max_ij sigmoid(Z_ij)
    class_probs: np.ndarray  # (B, C) float32, softmax of the class logits


class Localizer:
    """A checkpoint loaded for inference.

    Parameters
    ----------
    checkpoint : path of a checkpoint file, or a loaded
        :class:`~model_core.model.checkpoint.Checkpoint`.
    device : ``"auto"`` (CUDA if torch sees a GPU, else CPU), ``"cpu"``, ``"cuda"``,
        ``"cuda:1"`` or a ``torch.device``.
    batch_size : frames per forward pass of the video pipeline (and the most
        :meth:`predict` sends at once; larger inputs are split).
    threads : torch CPU threads to set (None: leave ``torch.set_num_threads`` as it is).
    channels_last : NHWC memory for the trunks. None = the measured default
        (on, on CUDA and on the CPU: see ``benchmarks/bench_inference.py``).
    amp : autocast on CUDA (bfloat16, or float16 where bf16 is unsupported). None = on
        for CUDA; ignored on the CPU.
    backend : what runs the trunks on the CPU, one of
        :data:`~model_core.inference.backends.BACKENDS` (default torch eager; ``auto``
        picks the fastest whose maps equal torch's on this machine).
    precision : ``"fp32"`` (default, as trained) or ``"bf16"`` on the CPU, where the CPU
        has bf16 instructions (else one warning line and fp32); on CUDA ``"bf16"`` asks
        for bf16 autocast.

    Raises
    ------
    CheckpointError
        The file is not a usable checkpoint (missing, foreign, truncated, incompatible).
    InputError
        An unknown or unavailable device.
    """

    def __init__(self, checkpoint, device: str | torch.device = "auto", batch_size: int = 16,
                 threads: int | None = None, channels_last: bool | None = None,
                 amp: bool | None = None, backend: str = "torch", precision: str = "fp32"):
        from model_core.model.checkpoint import Checkpoint, load_checkpoint

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.checkpoint = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
        self.device = resolve_device(device)
        self.threads = set_threads(threads) if self.device.type == "cpu" else threads
        self.batch_size = int(batch_size)
        # batch norm folded into the convolutions: the same maps up to float rounding, and
        # faster (model_core.model.trunks.ResNetTrunk.fold_batch_norm)
        self.model = fold_batch_norm(self.checkpoint.build(self.device))
        self.channels_last = True if channels_last is None else bool(channels_last)
        if self.channels_last:
            self.model.visual_trunk.to(memory_format=torch.channels_last)
            # the audio trunk too: its one-channel log-mel input is the same memory in
            # either format, and oneDNN's channels_last kernels ran the full-size audio
            # trunk 1.4x (batch 10) to 1.5x (batch 1) faster than NCHW on the AVX2 CPU of
            # benchmarks/README.md (one thread, 13.9 -> 9.7 and 31.6 -> 20.7 ms a window)
            self.model.audio_trunk.to(memory_format=torch.channels_last)
        self._name = self.checkpoint.name
        self.amp_dtype = amp_dtype(self.device) if amp in (None, True) else None
        if self.device.type == "cpu":
            self.precision = resolve_precision(precision, self.device, self._name)
        else:
            if resolve_precision(precision, self.device, self._name) == "bf16":
                self.amp_dtype = torch.bfloat16
            self.precision = precision_name(self.amp_dtype)
        self.backend = backend
        self._visual = RoutedStep(self.model, "visual", backend, self.precision, self.device, self._name)
        self._audio = RoutedStep(self.model, "audio", backend, self.precision, self.device, self._name)

    # -- what it is ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The checkpoint's file stem (the key of :func:`localize_many`'s result)."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = str(value)

    @property
    def head(self) -> str:
        return self.checkpoint.head

    @property
    def classes(self) -> list[str]:
        return list(self.checkpoint.classes)

    @property
    def map_size(self) -> int:
        return int(self.checkpoint.config.map_size)

    @property
    def image_size(self) -> int:
        return int(self.checkpoint.config.image_size)

    @property
    def embed_dim(self) -> int:
        return int(self.checkpoint.config.embed_dim)

    @property
    def backend_used(self) -> str:
        """The backends that have computed maps so far, e.g. ``"torch+openvino"``."""
        return used(self._visual, self._audio)

    # -- the model protocol (model_core.models.protocol.MapModel) --------------------------
    family = "dnm"           # our own heads, beside the field's published families
    map_kind = "sigmoid"     # maps are sigmoid(Z): already in [0, 1]
    tau = None               # no temperature: only a 'cosine_tau' map has one
    audio_window_s = 1.0     # 1 s centred on the frame time (SPEC 3)
    sample_rate = 16000
    fingerprint = None       # the file's sha256, set by whoever loaded it (eval does)
    log_mel_input = True     # embed_log_mel takes model_core.features.log_mel's output

    def crop(self, width: int, height: int) -> tuple[float, float, float, float]:
        """The whole frame: frames are squashed to the square input, never cropped."""
        return (0.0, 0.0, float(width), float(height))

    def __repr__(self) -> str:
        return (f"Localizer({self.name!r}, head={self.head!r}, device={str(self.device)!r}, "
                f"map={self.map_size}x{self.map_size}, batch_size={self.batch_size})")

    # -- the steps ----------------------------------------------------------------------
    @torch.inference_mode()
    def embed_audio(self, windows: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(A, 16000) float32 mono 16 kHz windows -> (A, D) float32 embeddings on the device."""
        return self.embed_log_mel(windows_to_log_mel(windows))

    @torch.inference_mode()
    def embed_log_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """(A, 1, 64, 101) log-mel (from :func:`~model_core.features.log_mel`) -> (A, D)."""
        outs = []
        for i in range(0, mel.shape[0], self.batch_size):
            x = mel[i:i + self.batch_size].to(self.device, non_blocking=True)
            with autocast(self.device, self.amp_dtype):
                a = self._audio(x)
            outs.append(a.float())
        if not outs:
            return torch.zeros((0, self.embed_dim), device=self.device)
        return torch.cat(outs)

    @torch.inference_mode()
    def predict(self, frames: np.ndarray | Sequence[np.ndarray], emb: torch.Tensor,
                audio_index: np.ndarray | Sequence[int] | None = None) -> Prediction:
        """Maps for B frames, each paired with one row of ``emb``.

        Parameters
        ----------
        frames : (B, H, W, 3) uint8 RGB (or a list of H x W x 3), any size: resized without
            crop to the model's square input here (free when already at that size).
        emb : (A, D) audio embeddings from :meth:`embed_audio`.
        audio_index : (B,) row of ``emb`` for each frame; default ``arange(B)``.
        """
        n = len(frames)
        idx = np.arange(n) if audio_index is None else np.asarray(audio_index, dtype=np.int64)
        if idx.shape != (n,):
            raise ValueError(f"audio_index must have one entry per frame ({n}), got shape {idx.shape}")
        if n and (idx.min() < 0 or idx.max() >= emb.shape[0]):
            raise ValueError(f"audio_index outside 0..{emb.shape[0] - 1}")
        parts = []
        for i in range(0, n, self.batch_size):
            x = frames_to_tensor(frames[i:i + self.batch_size], self.image_size, self.device)
            a = emb[torch.as_tensor(idx[i:i + self.batch_size], device=emb.device)].to(self.device)
            parts.append(self._forward(x, a))
        if not parts:
            c, m = len(self.classes), self.map_size
            return Prediction(np.zeros((0, m, m), np.float32), np.zeros(0, np.float32),
                              np.zeros((0, c), np.float32))
        return Prediction(*(np.concatenate(p) for p in zip(*parts)))

    @torch.inference_mode()
    def predict_audios(self, frames: np.ndarray | Sequence[np.ndarray], embs: Sequence[torch.Tensor],
                       audio_index: np.ndarray | Sequence[int] | None = None) -> list[Prediction]:
        """:meth:`predict` for several audios at once: one :class:`Prediction` per ``embs[k]``,
        the visual trunk run once per frame and only the read-out repeated (SPEC 5's negative
        audios cost the audio branch and the map read, not the visual trunk). Each frame
        takes row ``audio_index[j]`` of every ``embs[k]``."""
        n = len(frames)
        idx = np.arange(n) if audio_index is None else np.asarray(audio_index, dtype=np.int64)
        if idx.shape != (n,):
            raise ValueError(f"audio_index must have one entry per frame ({n}), got shape {idx.shape}")
        parts: list[list] = [[] for _ in embs]
        for i in range(0, n, self.batch_size):
            x = frames_to_tensor(frames[i:i + self.batch_size], self.image_size, self.device)
            if not self.channels_last:
                x = x.contiguous()
            with autocast(self.device, self.amp_dtype):
                V = self._visual(x).float()
            for k, emb in enumerate(embs):
                a = emb[torch.as_tensor(idx[i:i + self.batch_size], device=emb.device)].to(self.device)
                parts[k].append(self._read(V, a.float()))
        if n == 0:
            c, m = len(self.classes), self.map_size
            return [Prediction(np.zeros((0, m, m), np.float32), np.zeros(0, np.float32),
                               np.zeros((0, c), np.float32)) for _ in embs]
        return [Prediction(*(np.concatenate(p) for p in zip(*ps))) for ps in parts]

    def _read(self, V: torch.Tensor, a: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = self.model.read(V, a)
        return (out.localization.float().cpu().numpy(), out.p_avc.float().cpu().numpy(),
                out.class_logits.float().softmax(dim=1).cpu().numpy())

    def _forward(self, x: torch.Tensor, a: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.channels_last:
            x = x.contiguous()  # the NHWC view from preprocess, made plain NCHW
        with autocast(self.device, self.amp_dtype):
            V = self._visual(x)
        # the read-out is cheap: do it in float32 whatever the trunk ran in
        out = self.model.read(V.float(), a.float())
        maps = out.localization.float().cpu().numpy()
        p_avc = out.p_avc.float().cpu().numpy()
        probs = out.class_logits.float().softmax(dim=1).cpu().numpy()
        return maps, p_avc, probs

    @torch.inference_mode()
    def warmup(self, batch: int | None = None) -> None:
        """One pass on blank inputs (oneDNN/cuDNN pick their kernels on the first call)."""
        b = batch or self.batch_size
        s = self.image_size
        emb = self.embed_audio(np.zeros((1, 16000), np.float32))
        self.predict(np.zeros((b, s, s, 3), np.uint8), emb, np.zeros(b, np.int64))

    def localize_video(self, path: str | os.PathLike, times: Sequence[float] | np.ndarray | None = None,
                       fps: float | None = None, audio: np.ndarray | None = None,
                       progress: Callable[[int, int], None] | None = None,
                       cancel: Callable[[], bool] | None = None, audio_hop: float | None = 1.0):
        """Maps for frames of one video; see :func:`model_core.inference.pipeline.localize_many`."""
        from model_core.inference.pipeline import localize_many

        return localize_many([self], path, times, fps=fps, audio=audio, progress=progress,
                             cancel=cancel, audio_hop=audio_hop)[self.name]
