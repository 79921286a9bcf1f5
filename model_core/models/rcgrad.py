"""RCGrad (Wu et al., "How to Listen? Rethinking Visual Sound Localization", Interspeech
2022, github.com/hohsiangwu/rethinking-visual-sound-localization; weights ``rc_grad.pt``,
a release asset of that repository).

Two encoders trained contrastively: an image encoder with LVS's ResNet layout
(``image_encoder.*``: three stems, layer4 stride 1, an unused fc; average-pooled to a
512-vector) and an audio encoder (``audio_encoder.*``: a one-channel ResNet-18 with
torchvision's strides that computes its own spectrogram, ``Spectrogram(n_fft=512,
hop_length=353)``, ``log(x + 1e-7)``, standardised, then average-pooled). The map is
Grad-CAM on the image encoder's last block with the audio embedding as the target: the
gradient of ``<image_embedding, audio_embedding>`` with respect to layer4's activations,
averaged over the cells, weights the activation channels; their sum, ReLU'd, is the
14x14 map (``gradcam``: no fixed scale; normalised per map). The frame is squashed to 224
(bicubic) with CLIP's mean/std; the audio is 1 s centred on the frame time.

Grad-CAM needs autograd: :class:`RCGradModel` runs its visual step outside
``torch.inference_mode`` with gradients on, and only it does (the other families and our
heads keep the inference-mode path).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from model_core.model.trunks import ResNetTrunk
from model_core.models import frontends
from model_core.models.base import Family, FamilyModel, load_exact, resnet18_layout, sub_state
from model_core.models.lvs import lvs_layout, lvs_trunk


class _RCGradNet(nn.Module):
    def __init__(self, image: ResNetTrunk, audio: ResNetTrunk):
        super().__init__()
        self.image = image
        self.audio_trunk = audio

    def audio(self, spec):
        return self.audio_trunk(spec).mean(dim=(2, 3))      # AdaptiveAvgPool2d(1), flattened

    def visual(self, img):
        return self.image(img)                              # layer4's activations, B x 512 x 14 x 14

    def read(self, A, a):
        """Grad-CAM of ``<avgpool(A), a>`` on ``A`` (``A`` must require grad)."""
        target = (A.mean(dim=(2, 3)) * a).sum()
        (grad,) = torch.autograd.grad(target, A)
        weights = grad.mean(dim=(2, 3), keepdim=True)
        return torch.relu((weights * A).sum(dim=1))


class RCGradModel(FamilyModel):
    """:class:`FamilyModel` whose read-out is Grad-CAM (autograd on, no inference mode)."""

    def predict(self, frames, emb, audio_index=None):
        return self.predict_audios(frames, [emb], audio_index)[0]

    def predict_audios(self, frames, embs, audio_index=None):
        n = len(frames)
        idxs = [self._index(n, e.shape[0], audio_index) for e in embs]
        parts: list[list[np.ndarray]] = [[] for _ in embs]
        for i in range(0, n, self.batch_size):
            # the gradient is taken with respect to layer4's activations, so the trunk
            # itself runs on the inference-mode path; only the read-out records a graph
            with torch.inference_mode():
                V = self._visual(self._inputs(frames[i:i + self.batch_size]))
            with torch.inference_mode(False), torch.enable_grad():
                for k, emb in enumerate(embs):
                    A = V.clone().requires_grad_(True)       # clone: a normal tensor, not an inference one
                    rows = torch.as_tensor(idxs[k][i:i + self.batch_size], device=emb.device)
                    a = emb[rows].to(self.device).clone()
                    parts[k].append(self.net.read(A, a).detach().float().cpu().numpy())
        return [self._prediction(p) for p in parts]


class RCGradFamily(Family):
    key = "rcgrad"
    title = "RCGrad"
    repository = "https://github.com/hohsiangwu/rethinking-visual-sound-localization"
    licence = "MIT"
    weights = "release asset rc_grad.pt of the repository (v0.1.0-alpha)"
    window_s = 1.0
    map_kind = "gradcam"
    map_size = 14
    geometry = "squash"
    mean = frontends.CLIP_MEAN
    std = frontends.CLIP_STD
    audio_input = "in-model STFT (n_fft 512, hop 353), log(x + 1e-7), standardised per window"
    convention = "min-max map, cells under its median set to 0 (clean_pred); cIoU at 0.5"
    top_keys = ()
    module_prefix = False
    optional_keys = ("audio_encoder.spectrogram.window",)

    def key_layout(self):
        return {**lvs_layout("image_encoder."), **resnet18_layout("audio_encoder.", 1),
                "audio_encoder.spectrogram.window": (512,)}

    def frontend(self, windows):
        return frontends.rcgrad_spectrogram(windows)

    def model_class(self):
        return RCGradModel

    def build_net(self, state):
        image = lvs_trunk(state, "image_encoder.", "vision")
        audio = load_exact(ResNetTrunk(1, layer4_stride=2),
                           sub_state(state, "audio_encoder.", drop=("spectrogram.",)))
        return _RCGradNet(image, audio)
