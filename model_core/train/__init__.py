"""Training (SPEC 3, ``avsol train``): segment index, feature cache, schedule, resumable
state, distributed helpers, the trainer and validation.

``from model_core.train import Trainer, TrainOptions`` — the names are loaded lazily so
that importing :mod:`model_core.train.options` (the CLI's parser) does not import torch.
"""
from __future__ import annotations

__all__ = ["Trainer", "TrainOptions", "PRESETS", "load_training_data", "FeatureCache", "lr_at"]

_WHERE = {"Trainer": "loop", "TrainOptions": "options", "PRESETS": "options",
          "load_training_data": "dataset", "FeatureCache": "feature_cache", "lr_at": "schedule"}


def __getattr__(name: str):
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"model_core.train.{_WHERE[name]}"), name)
    raise AttributeError(name)
