"""Where a report's items come from: each video's file and each item's annotated segment.

A report names its data folder and annotations (``meta.data``, ``meta.annotations``);
they are read again with the evaluation's own loader
(``model_core.evaluation.load_eval_set``), so the viewer opens the very file ``avsol
eval`` decoded and draws the very boxes it scored. Qt-free; read once per report.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from model_core.errors import InputError


class ReportSource:
    """Video paths and segments of a report's items; ``problem`` says why they are
    unknown (annotations moved, a report without ``meta``)."""

    def __init__(self, report: dict[str, Any]):
        from model_core.metrics.rescore import report_eval_set

        self.meta = report.get("meta", {}) or {}
        self.paths: dict[str, Path | None] = {}
        self.segments: dict[tuple, Any] = {}
        self.problem: str | None = None
        ann = self.meta.get("annotations")
        if not ann:
            self.problem = "the report names no annotations"
            return
        try:
            # the rescoring's own reader: an AVE Annotations.txt through the AVE loader
            evalset = report_eval_set({"meta": self.meta})
        except InputError as exc:
            self.problem = str(exc)
            return
        for v in evalset.videos:
            self.paths[v.name] = v.path
            for s in v.segments:
                self.segments[(v.name, round(s.start, 6), round(s.end, 6))] = s
        self.annotations = ann

    def video_path(self, name: str) -> Path | None:
        return self.paths.get(name)

    def segment(self, row: dict[str, Any]):
        """The annotated segment of an item row, or None."""
        key = (row.get("video"), round(row.get("start") or 0.0, 6), round(row.get("end") or 0.0, 6))
        return self.segments.get(key)


def checkpoint_paths(report: dict[str, Any]) -> dict[str, str]:
    """Head name -> checkpoint path, for the heads of an ``avsol eval`` report."""
    out = {}
    for c in (report.get("meta", {}) or {}).get("checkpoints", []) or []:
        if isinstance(c, dict) and c.get("name") and c.get("path"):
            out[c["name"]] = c["path"]
    return out
