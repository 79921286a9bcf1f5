"""ResNet trunks built from torchvision's residual block, with a configurable width.

torchvision's ``ResNet`` fixes the stage widths at 64-512, and its ``BasicBlock`` refuses
``replace_stride_with_dilation``. This trunk keeps torchvision's module names (conv1, bn1,
layer1..layer4, and inside a block conv1, bn1, conv2, bn2, downsample), so a torchvision
ResNet-18 state dict loads into the width-64 visual trunk, and removes layer4's stride by
building its first block with stride 1 (SPEC 3).

:class:`BasicBlock` and :func:`conv1x1` are torchvision's (``torchvision.models.resnet``,
BSD-3-Clause), restated here with the same parameter names and the same operations:
torchvision is not imported at run time, since its compiled operators, which these pure
layers never use, load only beside a CUDA build of torch and kept the CPU desktop bundle
from starting. ``tests/test_model.py`` holds them equal to torchvision's; every saved
checkpoint loads unchanged.
"""
from __future__ import annotations

from typing import TypeVar

import torch
from torch import nn

_M = TypeVar("_M", bound=nn.Module)


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution, padding 1, no bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution, no bias (the downsampling shortcut)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a residual shortcut (torchvision's block)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        # batch norms are Modules, not BatchNorm2d: fold_batch_norm makes them identities
        self.bn1: nn.Module = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2: nn.Module = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x if self.downsample is None else self.downsample(x)
        return self.relu(out)


class ResNetTrunk(nn.Module):
    """ResNet without its classifier: image or spectrogram in, feature map out."""

    def __init__(self, in_channels: int = 3, width: int = 64, layers=(2, 2, 2, 2),
                 layer4_stride: int = 2):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1: nn.Module = nn.BatchNorm2d(width)     # an identity after fold_batch_norm
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(width, layers[0], stride=1)
        self.layer2 = self._make_layer(width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(width * 8, layers[3], stride=layer4_stride)
        self.out_channels = width * 8
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes, stride), nn.BatchNorm2d(planes))
        mods = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        mods += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def fold_batch_norm(self) -> None:
        """For inference only: fold every batch norm into the convolution before it (in
        place; the trunk must be in eval mode and is no longer trainable or savable as a
        checkpoint). The same function up to float rounding (``tests/test_model.py``), and
        faster, as batch norm's separate pass over every activation goes (evaluation and
        offline analysis with it: ``benchmarks/README.md``)."""
        if self.training:
            raise RuntimeError("fold_batch_norm needs a trunk in eval mode")
        with torch.no_grad():
            self.conv1, self.bn1 = _folded(self.conv1, self.bn1)
            for block in self.modules():
                if isinstance(block, BasicBlock):
                    block.conv1, block.bn1 = _folded(block.conv1, block.bn1)
                    block.conv2, block.bn2 = _folded(block.conv2, block.bn2)
                    ds = block.downsample
                    if isinstance(ds, nn.Sequential) and len(ds) == 2 and isinstance(ds[0], nn.Conv2d):
                        block.downsample = nn.Sequential(_folded(ds[0], ds[1])[0])


def _folded(conv: nn.Conv2d, bn: nn.Module) -> tuple[nn.Conv2d, nn.Module]:
    """``conv`` with the batch norm ``bn`` after it folded in, and an identity in its place;
    the pair as it is when ``bn`` was folded already."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if isinstance(bn, nn.BatchNorm2d):
        return fuse_conv_bn_eval(conv, bn), nn.Identity()
    return conv, bn


def fold_batch_norm(model: _M) -> _M:
    """:meth:`ResNetTrunk.fold_batch_norm` on every trunk of ``model`` (in eval mode);
    returns the model. Used by :class:`~model_core.inference.localizer.Localizer`."""
    for m in list(model.modules()):
        if isinstance(m, ResNetTrunk):
            m.fold_batch_norm()
    return model


def load_visual_init(trunk: ResNetTrunk, path: str) -> None:
    """Initialise the visual trunk from a local state-dict file (e.g. torchvision weights).

    Keys of a classifier (``fc.*``) and prefixes ``module.``/``backbone.`` are ignored;
    anything else that does not fit raises :class:`~model_core.errors.CheckpointError`.
    """
    from model_core.errors import CheckpointError

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure is a bad file for the user
        raise CheckpointError(path, f"cannot read as a state dict ({type(exc).__name__}: {exc})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError(path, "not a state dict")
    clean = {}
    for k, v in state.items():
        for prefix in ("module.", "backbone.", "visual.", "_orig_mod."):
            if k.startswith(prefix):
                k = k[len(prefix):]
        if not k.startswith("fc."):
            clean[k] = v
    own = trunk.state_dict()
    bad = [k for k, v in clean.items() if k in own and own[k].shape != v.shape]
    missing = [k for k in own if k not in clean]
    if bad or missing:
        raise CheckpointError(path, f"does not fit the visual trunk: {len(bad)} shape mismatches "
                                    f"(e.g. {bad[:2]}), {len(missing)} missing keys (e.g. {missing[:2]})")
    trunk.load_state_dict({k: v for k, v in clean.items() if k in own})
