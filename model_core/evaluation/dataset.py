"""What ``avsol eval DATA`` evaluates: the names of :mod:`model_core.formats.eval_set`,
kept importable from here.

Reading a data folder's videos and annotated items is a data format's work, which the
metrics (``avsol metrics`` rescoring a report) need as much as the evaluation, so it lives
in the bottom layer (``formats``; the layers contract in ``pyproject.toml``).
"""
from model_core.formats.eval_set import AVE_NOTE, EvalSet, EvalVideo, load_eval_set

__all__ = ["AVE_NOTE", "EvalSet", "EvalVideo", "load_eval_set"]
