"""Inference: checkpoints -> localization maps for frames, videos and sets of models.

``Localizer`` (one model on a device), ``Prediction`` (outputs for a batch of frames),
``localize_many`` / ``Localizer.localize_video`` (the streaming video pipeline) and
``VideoMaps`` (its result). Importing this package imports torch.
"""
from model_core.inference.device import resolve_device, set_threads
from model_core.inference.localizer import Localizer, Prediction
from model_core.inference.pipeline import VideoMaps, localize_many, window_centre

__all__ = ["Localizer", "Prediction", "VideoMaps", "localize_many", "resolve_device", "set_threads",
           "window_centre"]
