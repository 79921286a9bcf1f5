"""Frame augmentation for training: random scaled crops (``--crop-scale S``).

Why: each synthetic video (like each real clip) has one background seen in all its
segments, which a small model can memorise; a random crop, resized back to the input size,
moves and scales the scene so that position and exact texture stop identifying it, while
the objects keep their shape, colour and texture (colour jitter would change the synthetic
classes, which are defined by colour). Parameters come from the step's generator, so
resume stays exact.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_crops(frames: torch.Tensor, min_scale: float, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
    """Each frame cropped to a random square-ish window covering ``[min_scale, 1]`` of its
    area (aspect ratio 3/4..4/3, placed uniformly), resized back bilinearly.

    ``frames`` B x 3 x H x W uint8 or float in [0, 1]; returns float in [0, 1], same shape.
    Draws 4 x B uniforms from ``generator``.
    """
    b, _, h, w = frames.shape
    x = frames.float().div(255.0) if frames.dtype == torch.uint8 else frames.float()
    u = torch.rand((4, b), generator=generator)
    out = torch.empty_like(x)
    for i in range(b):
        area = min_scale + (1.0 - min_scale) * float(u[0, i])
        ratio = math.exp(math.log(3 / 4) + (math.log(4 / 3) - math.log(3 / 4)) * float(u[1, i]))
        cw = max(1, min(w, int(round(math.sqrt(area * ratio) * w))))
        ch = max(1, min(h, int(round(math.sqrt(area / ratio) * h))))
        left = int(float(u[2, i]) * (w - cw + 1)) if cw < w else 0
        top = int(float(u[3, i]) * (h - ch + 1)) if ch < h else 0
        crop = x[i:i + 1, :, top:top + ch, left:left + cw]
        out[i] = F.interpolate(crop, size=(h, w), mode="bilinear", align_corners=False)[0]
    return out.clamp_(0.0, 1.0)
