"""Model configuration: plain data, saved inside every checkpoint (SPEC 3).

The architecture is a config, not code: the same class builds the full ResNet-18 model
(width 64, layers 2-2-2-2, 14 x 14 or 7 x 7 map) and the small demo models.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

HEADS = ("avc", "cls", "dnm")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a DNM model.

    Parameters
    ----------
    num_classes : event classes of the classification normalization.
    width : channels of the first residual stage of the visual trunk (64 = ResNet-18);
        the stages have width, 2 width, 4 width, 8 width channels.
    audio_width : the same for the audio trunk.
    layers : residual blocks per stage (2, 2, 2, 2 = ResNet-18).
    map_size : 7 (stride 32) or 14 (layer4 without its stride, stride 16).
    embed_dim : shared dimension D of the audio and visual embeddings.
    image_size : side of the square RGB input.
    n_mels, audio_frames : log-mel input shape (SPEC 3: 64 x 101).
    init_scale, init_bias : initial w and b of Z = w * S + b.
    """

    num_classes: int
    width: int = 64
    audio_width: int = 64
    layers: tuple[int, int, int, int] = (2, 2, 2, 2)
    map_size: int = 7
    embed_dim: int = 128
    image_size: int = 224
    n_mels: int = 64
    audio_frames: int = 101
    init_scale: float = 10.0
    init_bias: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.map_size not in (7, 14) and self.image_size == 224:
            raise ValueError(f"map_size must be 7 or 14 at 224 px, not {self.map_size}")
        if self.num_classes < 1:
            raise ValueError("num_classes must be >= 1")
        object.__setattr__(self, "layers", tuple(int(x) for x in self.layers))

    @property
    def layer4_stride(self) -> int:
        return 1 if self.map_size * 16 == self.image_size else 2

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["layers"] = list(self.layers)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown model config fields: {sorted(unknown)}")
        return cls(**d)
