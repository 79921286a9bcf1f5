"""Metrics of SPEC 5 (pure numpy + OpenCV's resize): GT masks, cIoU and friends, the
failure taxonomy, per-item scoring and the report of SPEC 9.

- :mod:`.masks`: boxes -> 224 x 224 masks, consensus map, map resizing / normalisation;
- :mod:`.localization`: thresholds, cIoU, success rate, AUC, pointing, pixel AP / ROC-AUC;
- :mod:`.taxonomy`: one failure label per item;
- :mod:`.items`: score items -> :class:`ItemResult`;
- :mod:`.report`: aggregate -> report dict; JSON / CSV writing;
- :mod:`.matching`: match a maps file to annotations (``avsol metrics``).
"""
from model_core.metrics.items import FAILED, MISSING, SCORED, ItemResult, score_items, size_bucket, unscored_items
from model_core.metrics.report import build_report, head_summary, sort_worst_first, write_report

__all__ = ["FAILED", "MISSING", "SCORED", "ItemResult", "build_report", "head_summary",
           "score_items", "size_bucket", "sort_worst_first", "unscored_items", "write_report"]
