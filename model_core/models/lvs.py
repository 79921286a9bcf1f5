"""LVS (Chen et al., "Localizing Visual Sounds the Hard Way", CVPR 2021,
github.com/hche11/Localizing-Visual-Sounds-the-Hard-Way) and SSL-align (Senocak et al.,
"Sound Source Localization is All about Cross-Modal Alignment", ICCV 2023,
github.com/kaistmm/SSLalignment), which saves LVS's trunks.

LVS's ResNet-18 (``models/base_models.py``) keeps torchvision's block and names but has
three stems, ``conv1`` (RGB), ``conv1_a`` (one-channel spectrogram) and ``conv1_flow``
(6-channel flow, unused), a layer4 of stride 1 (maps at 14x14 for a 224 input) and an
unused ``fc``; both trunks (``imgnet``, ``audnet``) are this network, the stem picked by
modality. The audio feature map is max-pooled to a vector; both are L2-normalised and the
map is their cosine per cell (``cosine``). LVS's test: the first 10 s of the clip (tiled
when shorter), clipped, scipy's spectrogram (noverlap 274), ``log(S + 1e-7) / 12``; the
frame ``Resize(224)`` + ``CenterCrop(224)``. Files: ``{"model_state_dict": ...}`` with
``module.`` keys. SSL-align: bare keys, 3 s windows, noverlap 353 and the squashed frame
(the issue's table; its own training code is not public).

:func:`lvs_layout` is that ResNet's state dict (for checking a file's keys); the
running trunk is :class:`~model_core.model.trunks.ResNetTrunk` with the used stem only
(:func:`lvs_trunk`), so batch-norm folding and channels work as for our models.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model_core.model.trunks import ResNetTrunk
from model_core.models import frontends
from model_core.models.base import Family, load_exact, resnet18_layout, sub_state


def lvs_layout(prefix: str) -> dict[str, tuple]:
    """LVS's ResNet-18 state dict: torchvision's names, three stems, a 1000-class fc."""
    return resnet18_layout(prefix, 3, lvs_stems=True, fc=1000)


def lvs_trunk(state: dict, prefix: str, modal: str, layer4_stride: int = 1) -> ResNetTrunk:
    """The running trunk of an LVS-layout ResNet stored under ``prefix``: the modality's
    stem as ``conv1``, the other stems and ``fc`` dropped."""
    if modal == "audio":
        sub = sub_state(state, prefix, drop=("conv1.", "conv1_flow.", "fc."))
        sub = {("conv1.weight" if k == "conv1_a.weight" else k): v for k, v in sub.items()}
        trunk = ResNetTrunk(1, layer4_stride=layer4_stride)
    else:
        sub = sub_state(state, prefix, drop=("conv1_a.", "conv1_flow.", "fc."))
        trunk = ResNetTrunk(3, layer4_stride=layer4_stride)
    return load_exact(trunk, sub)


class _CosineNet(nn.Module):
    """``imgnet`` / ``audnet`` trunks, max-pooled audio, cosine per cell."""

    def __init__(self, imgnet: ResNetTrunk, audnet: ResNetTrunk):
        super().__init__()
        self.imgnet = imgnet
        self.audnet = audnet

    def audio(self, spec):
        return F.normalize(self.audnet(spec).amax(dim=(2, 3)), dim=1)

    def visual(self, img):
        return F.normalize(self.imgnet(img), dim=1)

    def read(self, V, a):
        return torch.einsum("nchw,nc->nhw", V, a)


def cosine_net_from(state: dict) -> _CosineNet:
    return _CosineNet(lvs_trunk(state, "imgnet.", "vision"), lvs_trunk(state, "audnet.", "audio"))


class LVSFamily(Family):
    key = "lvs"
    title = "LVS"
    repository = "https://github.com/hche11/Localizing-Visual-Sounds-the-Hard-Way"
    licence = "Apache-2.0"
    weights = "link in the repository's README (lvs_vggss.pth.tar)"
    window_s = 10.0
    map_kind = "cosine"
    map_size = 14
    geometry = "centre"
    audio_input = "scipy spectrogram (nperseg 512, noverlap 274), log(S + 1e-7) / 12"
    convention = "median of the min-max map"
    top_keys = ("model_state_dict",)
    module_prefix = True
    same_layout_as = "sslalign"

    def key_layout(self):
        return {**lvs_layout("imgnet."), **lvs_layout("audnet.")}

    def frontend(self, windows):
        return frontends.scipy_log_spectrogram(windows, 274)

    def build_net(self, state):
        return cosine_net_from(state)


class SSLAlignFamily(LVSFamily):
    key = "sslalign"
    title = "SSL-align"
    repository = "https://github.com/kaistmm/SSLalignment"
    licence = "not stated in the repository"
    weights = "links in the repository's README (Google Drive, ours_*.pth.tar)"
    window_s = 3.0
    geometry = "squash"
    audio_input = "scipy spectrogram (nperseg 512, noverlap 353), log(S + 1e-7) / 12"
    convention = "GT-area adaptive threshold (cIoU_adap)"
    module_prefix = False
    same_layout_as = "lvs"

    def frontend(self, windows):
        return frontends.scipy_log_spectrogram(windows, 353)
