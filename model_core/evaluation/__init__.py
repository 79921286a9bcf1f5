"""Batch evaluation (``avsol eval``): checkpoints over a folder of annotated videos.

- :mod:`.dataset`: DATA folder -> videos and their items (AVSOL-E or AVE);
- :mod:`.options`: a run's settings (:class:`EvalOptions`), declared once for code and ``avsol eval``;
- :mod:`.runner`: decode each video once for every head, score, log, report;
- :mod:`.store`: the append-only items log behind ``--resume``;
- :mod:`.distributed`: sharding across ``torchrun`` ranks, merge on rank 0;
- :mod:`.progress`: progress bar / plain lines / JSON lines.

Importing this package does not import torch (the runner does when it loads models).
"""
from model_core.evaluation.dataset import EvalSet, EvalVideo, load_eval_set
from model_core.evaluation.runner import EvalOptions, EvalResult, evaluate_video, head_names, run_eval

__all__ = ["EvalOptions", "EvalResult", "EvalSet", "EvalVideo", "evaluate_video", "head_names",
           "load_eval_set", "run_eval"]
