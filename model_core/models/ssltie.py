"""SSL-TIE (Liu et al., "Exploiting Transformation Invariance and Equivariance for
Self-supervised Sound Localisation", ACM MM 2022, github.com/jinxiang-liu/SSL-TIE).

LVS's trunks (``imgnet``, ``audnet``: :class:`~model_core.models.lvs.LVSResNet`) plus
three layers the localisation map does not use (``vision_fc1`` 1x1 1024->512, ``conv3``
1x1 1->1, ``norm3``); the map is LVS's cosine at 14x14. The audio front end is its own:
the first 10 s (tiled when shorter), torchaudio's ``MelSpectrogram(n_fft=512,
hop_length=239, n_mels=257, normalized=True)`` in dB (``AmplitudeToDB()``), no clipping
and no /12 (:func:`~model_core.models.frontends.ssltie_log_mel`). The frame: ``Resize(224)``
+ ``CenterCrop(224)``. Files: ``{"state_dict": ..., ...}``.
"""
from __future__ import annotations

from torch import nn

from model_core.models import frontends
from model_core.models.base import Family
from model_core.models.lvs import LVSResNet, cosine_net_from


class _SSLTIESkeleton(nn.Module):
    def __init__(self):
        super().__init__()
        self.imgnet = LVSResNet()
        self.audnet = LVSResNet()
        self.vision_fc1 = nn.Conv2d(1024, 512, kernel_size=1)
        self.conv3 = nn.Conv2d(1, 1, 1)
        self.norm3 = nn.BatchNorm2d(1)


class SSLTIEFamily(Family):
    key = "ssltie"
    title = "SSL-TIE"
    repository = "https://github.com/jinxiang-liu/SSL-TIE"
    licence = "MIT"
    weights = "links in the repository's README (Google Drive)"
    window_s = 10.0
    map_kind = "cosine"
    map_size = 14
    geometry = "centre"
    audio_input = ("log-mel: STFT n_fft 512, hop 239, hann, normalized, 257 HTK mels, "
                   "10 log10 (floor 1e-10)")
    convention = "median of the min-max map"
    top_keys = ("state_dict",)

    def skeleton(self):
        return _SSLTIESkeleton()

    def frontend(self, windows):
        return frontends.ssltie_log_mel(windows)

    def build_net(self, state):
        return cosine_net_from(state)
