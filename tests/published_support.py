"""Checkpoints with exactly each published repository's key names, shapes and container,
seeded random weights and randomised batch-norm statistics (issue 27): shared by the
faithfulness tests (tests/test_published_models.py) and the CLI tests
(tests/test_published_cli.py), so both build the same files one way."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchvision

nn = torch.nn


def _randomise(module: nn.Module, gen: torch.Generator) -> None:
    """Seeded weights everywhere and batch-norm statistics far from identity."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
                m.num_batches_tracked.fill_(1000)


def tv_resnet(audio: bool = False, layer4_stride: int = 2, lvs_stems: bool = False) -> nn.Module:
    """torchvision's resnet18, the one-channel stem of an audio trunk, LVS's stride-1 layer4
    and its extra stems ``conv1_a`` / ``conv1_flow`` as the repositories build them."""
    m = torchvision.models.resnet18(weights=None)
    if audio and not lvs_stems:
        m.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    if layer4_stride == 1:
        m.layer4[0].conv1.stride = (1, 1)
        m.layer4[0].downsample[0].stride = (1, 1)
    if lvs_stems:
        m.conv1_a = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        m.conv1_flow = nn.Conv2d(6, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return m


def lvs_features(m: nn.Module, x: torch.Tensor, audio: bool) -> torch.Tensor:
    """LVS's ``_forward_impl``: the modality's stem, then torchvision's layers."""
    x = (m.conv1_a if audio else m.conv1)(x)
    x = m.maxpool(m.relu(m.bn1(x)))
    return m.layer4(m.layer3(m.layer2(m.layer1(x))))


def build_repo_net(family: str, gen: torch.Generator) -> nn.Module:
    net = nn.Module()
    if family in ("ezvsl", "fnac", "slavc"):
        def img():
            m = tv_resnet()
            m.avgpool, m.fc = nn.Identity(), nn.Identity()
            return m

        def aud():
            m = tv_resnet(audio=True)
            m.avgpool, m.fc = nn.AdaptiveMaxPool2d((1, 1)), nn.Identity()
            return m

        net.imgnet, net.audnet = img(), aud()
        if family == "slavc":
            net.img_proj1, net.img_proj2 = nn.Conv2d(512, 512, 1), nn.Conv2d(512, 512, 1)
            net.aud_proj1, net.aud_proj2 = nn.Linear(512, 512), nn.Linear(512, 512)
            net.momentum_imgnet, net.momentum_audnet = img(), aud()
            net.momentum_img_proj1, net.momentum_img_proj2 = nn.Conv2d(512, 512, 1), nn.Conv2d(512, 512, 1)
            net.momentum_aud_proj1, net.momentum_aud_proj2 = nn.Linear(512, 512), nn.Linear(512, 512)
        else:
            net.img_proj, net.aud_proj = nn.Conv2d(512, 512, 1), nn.Linear(512, 512)
    elif family in ("lvs", "sslalign", "ssltie"):
        net.imgnet = tv_resnet(layer4_stride=1, lvs_stems=True)
        net.audnet = tv_resnet(layer4_stride=1, lvs_stems=True)
        if family == "ssltie":
            net.vision_fc1 = nn.Conv2d(1024, 512, kernel_size=(1, 1))
            net.conv3 = nn.Conv2d(1, 1, 1)
            net.norm3 = nn.BatchNorm2d(1)
    elif family == "rcgrad":
        import torchaudio

        net.image_encoder = tv_resnet(layer4_stride=1, lvs_stems=True)
        a = tv_resnet(audio=True)
        del a.fc
        a.spectrogram = torchaudio.transforms.Spectrogram(n_fft=512, hop_length=353)
        net.audio_encoder = a
    _randomise(net, gen)
    return net.eval()


CONTAINERS = {  # (top key, 'module.' prefix) as each repository saves
    "ezvsl": ("model", False), "fnac": ("model", True), "slavc": ("model", True),
    "lvs": ("model_state_dict", True), "sslalign": ("model_state_dict", False),
    "ssltie": ("state_dict", True), "rcgrad": (None, False),
}
FAMILIES = list(CONTAINERS)


def save_repo_checkpoint(net: nn.Module, family: str, path: Path) -> Path:
    top, prefix = CONTAINERS[family]
    state = {("module." if prefix else "") + k: v for k, v in net.state_dict().items()}
    obj = {top: state, "epoch": 19, "best_cIoU": np.float64(0.39), "best_Auc": np.float32(0.4),
           "optimizer": {"state": {}, "param_groups": [{"lr": 1e-4, "params": [0, 1]}]}} if top else state
    torch.save(obj, path)
    return path


def make_repo_checkpoint(family: str, path: Path, seed: int = 100) -> Path:
    """A repository-layout checkpoint of ``family`` at ``path`` (seeded random weights)."""
    return save_repo_checkpoint(build_repo_net(family, torch.Generator().manual_seed(seed)), family, path)
