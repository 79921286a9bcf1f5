"""DNM: one audio-visual similarity map read through two normalizations (SPEC 3).

    v_ij = normalize(V_ij),  V = conv1x1(visual_trunk(frame))       B x D x h x w
    a    = normalize(linear(pool(audio_trunk(log_mel))))             B x D
    S_ij = <a, v_ij>  (cosine, in [-1, 1]);   Z_ij = w S_ij + b,  w = exp(log_w) > 0
    AVC:            p_avc = max_ij sigmoid(Z_ij)
    classification: alpha = softmax_ij(Z_ij);  u = sum_ij alpha_ij V_ij;  logits = fc(u)

The forward pass is split (``visual``, ``audio``, ``read``) so inference can compute one
audio embedding per 1 s window and share it across the frames of that window, and training
can pair the visual maps of a batch with the audio of other clips (AVC negatives) without
running the trunks twice.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from model_core.model.config import ModelConfig
from model_core.model.trunks import ResNetTrunk

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class DNMOutput:
    """What one forward pass gives. Z is the map every head is evaluated on."""

    logits_map: torch.Tensor   # Z, B x h x w
    similarity: torch.Tensor   # S, B x h x w, cosine in [-1, 1]
    avc_logit: torch.Tensor    # max_ij Z_ij, B  (p_avc = sigmoid of it)
    class_logits: torch.Tensor  # B x C
    attention: torch.Tensor    # alpha, B x h x w, sums to 1 per item

    @property
    def p_avc(self) -> torch.Tensor:
        return torch.sigmoid(self.avc_logit)

    @property
    def localization(self) -> torch.Tensor:
        """sigmoid(Z): the map shown and evaluated (before upsampling)."""
        return torch.sigmoid(self.logits_map)


class DNM(nn.Module):
    # buffers (register_buffer): tensors, where nn.Module's attribute lookup says Tensor or Module
    pixel_mean: torch.Tensor
    pixel_std: torch.Tensor

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config
        self.visual_trunk = ResNetTrunk(3, c.width, c.layers, c.layer4_stride)
        self.audio_trunk = ResNetTrunk(1, c.audio_width, c.layers, 2)
        self.visual_proj = nn.Conv2d(self.visual_trunk.out_channels, c.embed_dim, kernel_size=1)
        self.audio_proj = nn.Linear(self.audio_trunk.out_channels, c.embed_dim)
        self.log_scale = nn.Parameter(torch.tensor(math.log(c.init_scale)))
        self.bias = nn.Parameter(torch.tensor(float(c.init_bias)))
        self.classifier = nn.Linear(c.embed_dim, c.num_classes)
        self.register_buffer("pixel_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    # -- the three stages -------------------------------------------------------------
    def visual(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames B x 3 x H x W (float in [0, 1], or uint8) -> V, B x D x h x w (unnormalized)."""
        if frames.dtype == torch.uint8:
            frames = frames.float().div_(255.0)
        x = (frames - self.pixel_mean) / self.pixel_std
        return self.visual_proj(self.visual_trunk(x))

    def audio(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Log-mel B x 1 x 64 x T -> a, B x D (L2-normalized)."""
        feat = self.audio_trunk(log_mel).mean(dim=(2, 3))
        return F.normalize(self.audio_proj(feat), dim=1)

    def read(self, V: torch.Tensor, a: torch.Tensor) -> DNMOutput:
        """Pair visual maps V (B x D x h x w) with audio embeddings a (B x D)."""
        v = F.normalize(V, dim=1)
        S = torch.einsum("bd,bdhw->bhw", a.to(v.dtype), v)
        Z = self.log_scale.exp() * S + self.bias
        flat = Z.flatten(1)
        alpha = flat.softmax(dim=1)
        u = torch.einsum("bn,bdn->bd", alpha, V.flatten(2))
        return DNMOutput(Z, S, flat.max(dim=1).values, self.classifier(u), alpha.view_as(Z))

    def forward(self, frames: torch.Tensor, log_mel: torch.Tensor) -> DNMOutput:
        return self.read(self.visual(frames), self.audio(log_mel))

    @property
    def scale(self) -> float:
        return float(self.log_scale.exp())


def build_model(config: ModelConfig, visual_init: str | None = None) -> DNM:
    """Build a DNM model; ``visual_init`` is an optional local state-dict file."""
    model = DNM(config)
    if visual_init:
        from model_core.model.trunks import load_visual_init

        load_visual_init(model.visual_trunk, visual_init)
    return model
