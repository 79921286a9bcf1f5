"""The tests' one tiny model: the network of the shipped ``--config tiny`` preset (one
block per stage, 8 channels, 16-dimensional embeddings) at ModelConfig's default input
unless a test says otherwise, so a test builds and runs a real checkpoint in milliseconds. ``tiny_config`` gives its :class:`ModelConfig`, ``save_tiny`` writes a
checkpoint of it; ``tests/conftest.py``'s ``make_tiny_checkpoint`` fixture builds each distinct
one once per run."""
from __future__ import annotations

from pathlib import Path

def _tiny() -> dict:
    from model_core.train.options import PRESETS

    preset = PRESETS["tiny"]
    return {k: tuple(preset[k]) if isinstance(preset[k], list) else preset[k]
            for k in ("width", "audio_width", "layers", "embed_dim")}


#: What makes the model tiny (the preset's network); every other field is ModelConfig's
#: default unless overridden (the preset's input: ``image_size=64, map_size=4``).
TINY = _tiny()


def tiny_config(num_classes: int, **overrides):
    """The tiny :class:`~model_core.model.config.ModelConfig` of ``num_classes`` classes
    (``overrides``: ``image_size``, ``map_size``, ... on top of :data:`TINY`)."""
    from model_core.model.config import ModelConfig

    return ModelConfig(num_classes=num_classes, **{**TINY, **overrides})


def save_tiny(path, classes=("a", "b"), head: str = "dnm", seed: int = 0, **overrides) -> Path:
    """A checkpoint of the tiny model at ``path``: weights drawn with ``torch.manual_seed(seed)``
    (the same file for the same arguments), ``classes`` its class names, ``head`` its head."""
    import torch

    from model_core.model.checkpoint import save_checkpoint
    from model_core.model.dnm import build_model

    cfg = tiny_config(len(classes), **overrides)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = build_model(cfg)
    save_checkpoint(path, model, cfg, list(classes), head)
    return Path(path)
