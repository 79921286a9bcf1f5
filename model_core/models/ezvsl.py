"""EZ-VSL (Mo & Morgado, ECCV 2022, github.com/stoneMo/EZ-VSL) and FNAC (Sun et al.,
CVPR 2023, github.com/OpenNLPLab/FNAC_AVL), which saves the same keys.

The network, as the repositories' ``model.py`` describes it (re-implemented, not copied):
a torchvision ResNet-18 image trunk without avgpool and fc (``imgnet.*``) then a 1x1
convolution (``img_proj``), L2-normalised over channels at 7x7; a ResNet-18 audio trunk
with a one-channel stem, global max-pooling and no fc (``audnet.*``) then a linear layer
(``aud_proj``), L2-normalised. The map is ``<img_ij, aud> / tau`` with tau = 0.03
(``cosine_tau``). The test pipeline: the 3 s of audio around the clip's centre (a short
file tiled), clipped to [-1, 1], scipy's spectrogram (nperseg 512, noverlap 274),
``log(S + 1e-7) / 12``; the frame squashed to 224 x 224 (bicubic), ImageNet mean/std.
Files: ``{"model": state_dict, ...}``, with or without DataParallel's ``module.``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model_core.model.trunks import ResNetTrunk
from model_core.models import frontends
from model_core.models.base import Family, load_exact, resnet18_layout


class EZVSLTrunks(nn.Module):
    """EZ-VSL's two ResNet-18 trunks, which SLAVC keeps under the same names: ``imgnet``
    (RGB) and ``audnet`` (one-channel spectrogram, its feature map max-pooled to a vector);
    each family adds its projections and read-out."""

    def __init__(self, tau: float):
        super().__init__()
        self.tau = tau
        self.imgnet = ResNetTrunk(3)
        self.audnet = ResNetTrunk(1)

    def audio_vector(self, spec: torch.Tensor) -> torch.Tensor:
        return self.audnet(spec).amax(dim=(2, 3))       # AdaptiveMaxPool2d(1), flattened


class _EZVSLNet(EZVSLTrunks):
    def __init__(self, dim: int = 512, tau: float = 0.03):
        super().__init__(tau)
        self.img_proj = nn.Conv2d(512, dim, kernel_size=1)
        self.aud_proj = nn.Linear(512, dim)

    def audio(self, spec: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.aud_proj(self.audio_vector(spec)), dim=1)

    def visual(self, img: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.img_proj(self.imgnet(img)), dim=1)

    def read(self, V: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nchw,nc->nhw", V, a) / self.tau


class EZVSLFamily(Family):
    key = "ezvsl"
    title = "EZ-VSL"
    repository = "https://github.com/stoneMo/EZ-VSL"
    licence = "Apache-2.0"
    weights = "links in the repository's README (Google Drive), per training set"
    window_s = 3.0
    map_kind = "cosine_tau"
    tau = 0.03
    map_size = 7
    geometry = "squash"
    audio_input = "scipy spectrogram (nperseg 512, noverlap 274), log(S + 1e-7) / 12"
    convention = "median of the min-max map (cIoU at the median threshold)"
    top_keys = ("model",)
    same_layout_as: str | None = "fnac"

    def key_layout(self):
        return {**resnet18_layout("imgnet."), "img_proj.weight": (512, 512, 1, 1), "img_proj.bias": (512,),
                **resnet18_layout("audnet.", 1), "aud_proj.weight": (512, 512), "aud_proj.bias": (512,)}

    def frontend(self, windows):
        return frontends.scipy_log_spectrogram(windows, 274)

    def _free_shape(self, key):
        return key.startswith(("img_proj.", "aud_proj."))

    def build_net(self, state):
        dim = int(state["img_proj.weight"].shape[0])
        return load_exact(_EZVSLNet(dim, self.tau), state)


class FNACFamily(EZVSLFamily):
    key = "fnac"
    title = "FNAC"
    repository = "https://github.com/OpenNLPLab/FNAC_AVL"
    licence = "Apache-2.0"
    weights = "links in the repository's README (Google Drive)"
    same_layout_as = "ezvsl"

    def hint_score(self, top_key, had_module_prefix):
        # the same keys as EZ-VSL and nothing in the file tells them apart: EZ-VSL wins
        # detection, FNAC is chosen with --model-family fnac (the maps are computed alike)
        return super().hint_score(top_key, had_module_prefix) - 1
