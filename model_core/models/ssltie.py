"""SSL-TIE (Liu et al., "Exploiting Transformation Invariance and Equivariance for
Self-supervised Sound Localisation", ACM MM 2022, github.com/jinxiang-liu/SSL-TIE).

LVS's trunks (``imgnet``, ``audnet``: :func:`~model_core.models.lvs.lvs_layout`) plus
three layers the localisation map does not use (``vision_fc1`` 1x1 1024->512, ``conv3``
1x1 1->1, ``norm3``); the map is LVS's cosine at 14x14. The audio front end is its own:
the first 10 s (tiled when shorter), torchaudio's ``MelSpectrogram(n_fft=512,
hop_length=239, n_mels=257, normalized=True)`` in dB (``AmplitudeToDB()``), no clipping
and no /12 (:func:`~model_core.models.frontends.ssltie_log_mel`). The frame: ``Resize(224)``
+ ``CenterCrop(224)``. Files: ``{"state_dict": ..., ...}``.
"""
from __future__ import annotations

from model_core.models import frontends
from model_core.models.base import Family, bn_layout
from model_core.models.lvs import cosine_net_from, lvs_layout


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

    def key_layout(self):
        return {**lvs_layout("imgnet."), **lvs_layout("audnet."),
                "vision_fc1.weight": (512, 1024, 1, 1), "vision_fc1.bias": (512,),
                "conv3.weight": (1, 1, 1, 1), "conv3.bias": (1,), **bn_layout("norm3.", 1)}

    def frontend(self, windows):
        return frontends.ssltie_log_mel(windows)

    def build_net(self, state):
        return cosine_net_from(state)
