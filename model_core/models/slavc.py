"""SLAVC (Mo & Morgado, NeurIPS 2022, github.com/stoneMo/SLAVC).

EZ-VSL's trunks with two projection pairs (``img_proj1/2``, ``aud_proj1/2``), each
L2-normalised; the map is ``(S1 + S2) / 2`` with ``S_k = <img_k, aud_k> / tau``, tau 0.03
(``cosine_tau``; SLAVC scores it with the absolute normalisation ``(S + 1/tau) / (2/tau)``
at 0.5). Files also carry the momentum encoders (``momentum_*``), which the repository's
test uses only with ``--use_mom_eval`` (off by default): ignored here. Dropout is off at
test. Audio and image as EZ-VSL (3 s, noverlap 274, squash).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model_core.models.base import load_exact, resnet18_layout
from model_core.models.ezvsl import EZVSLFamily, EZVSLTrunks


class _SLAVCNet(EZVSLTrunks):
    def __init__(self, dim: int = 512, tau: float = 0.03):
        super().__init__(tau)
        self.img_proj1 = nn.Conv2d(512, dim, kernel_size=1)
        self.img_proj2 = nn.Conv2d(512, dim, kernel_size=1)
        self.aud_proj1 = nn.Linear(512, dim)
        self.aud_proj2 = nn.Linear(512, dim)

    def audio(self, spec):
        a = self.audio_vector(spec)
        return torch.stack([F.normalize(self.aud_proj1(a), dim=1), F.normalize(self.aud_proj2(a), dim=1)], 1)

    def visual(self, img):
        v = self.imgnet(img)
        return torch.stack([F.normalize(self.img_proj1(v), dim=1), F.normalize(self.img_proj2(v), dim=1)], 1)

    def read(self, V, a):
        return torch.einsum("nkchw,nkc->nhw", V, a) / self.tau / 2.0


class SLAVCFamily(EZVSLFamily):
    """EZ-VSL's inputs, trunks and file layout (window, frontend, geometry, top key), with
    two projection pairs and its own convention."""

    key = "slavc"
    title = "SLAVC"
    repository = "https://github.com/stoneMo/SLAVC"
    weights = "links in the repository's README (Google Drive)"
    convention = "absolute normalisation (S + 1/tau) / (2/tau) at 0.5"
    same_layout_as = None
    ignored_prefixes = ("momentum_",)   # the momentum encoders: allowed, not used

    def key_layout(self):
        out = {**resnet18_layout("imgnet."), **resnet18_layout("audnet.", 1)}
        for k in ("1", "2"):
            out.update({f"img_proj{k}.weight": (512, 512, 1, 1), f"img_proj{k}.bias": (512,),
                        f"aud_proj{k}.weight": (512, 512), f"aud_proj{k}.bias": (512,)})
        return out

    def _free_shape(self, key):
        return "_proj" in key

    def build_net(self, state):
        dim = int(state["img_proj1.weight"].shape[0])
        return load_exact(_SLAVCNet(dim, self.tau), {k: v for k, v in state.items()
                                                     if not k.startswith("momentum_")})
