"""Inference: the one map engine (SPEC 2), from checkpoints and media to localization maps.

Torch-free parts (importing them is cheap, so the viewer's start-up stays light):
``audio_window`` (which 1 s of sound a frame hears), ``audio_sources`` and
``frame_sources`` (where frames and audio come from), ``map_cache`` (maps per media, model,
audio and frame) and ``engine`` (requests, the embedding cache, :class:`MapEngine`).

Parts that need torch, loaded on first use of their names here: ``Localizer`` (one model
on a device), ``Prediction``, ``localize_many`` / ``Localizer.localize_video`` (the
streaming video pipeline of ``avsol infer`` and ``avsol eval``) and ``VideoMaps``,
``resolve_device`` and ``set_threads``. ``import model_core.inference`` itself imports
no torch.

``backends``: what runs the models' trunks (torch, OpenVINO, ONNX Runtime; fp32 or bf16).
Its names (``BACKENDS``, ``PRECISIONS``) import nothing heavy, for the command lines and the
viewer; its runtimes load torch and the runtime on first use.
"""
from __future__ import annotations

import importlib

from model_core.inference.audio_window import AUDIO_HOP, PER_FRAME, window_centre, window_key

_LAZY = {
    "Localizer": "model_core.inference.localizer",
    "Prediction": "model_core.inference.localizer",
    "VideoMaps": "model_core.inference.pipeline",
    "localize_many": "model_core.inference.pipeline",
    "resolve_device": "model_core.inference.device",
    "set_threads": "model_core.inference.device",
}

__all__ = ["AUDIO_HOP", "PER_FRAME", "window_centre", "window_key", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
