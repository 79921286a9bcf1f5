"""Per-head summary, per-class / per-size breakdown and the success-rate curves of an
evaluation (SPEC 5): the numbers of the report's ``heads`` section, drawn.

The numbers come from ``model_core.metrics.report.head_summary`` - the same function
that writes the report - so what the panel shows while an evaluation runs (computed from
the rows received so far) is what the report will say about those rows. The curve per
head is the success rate over cIoU thresholds 0, 0.05, ..., 1 whose trapezoid area is
the AUC (``model_core.metrics.localization.success_curve``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)
from PySide6.QtCore import Qt

from avsol_viewer.maps.head_style import head_colour, head_label
from model_core.metrics import localization as L

#: (column title, summary key) of the per-head table.
SUMMARY = (("cIoU@0.5", "ciou@0.5"), ("AUC", "auc"), ("pointing", "pointing"), ("pixel AP", "pixel_ap"),
           ("mean cIoU", "mean_ciou"), ("scored", "n_items"), ("missing", "n_missing"), ("failed", "n_failed"))
BREAKDOWN = (("cIoU@0.5", "ciou@0.5"), ("AUC", "auc"), ("pointing", "pointing"), ("mean cIoU", "mean_ciou"),
             ("localized", "n_localized"), ("scored", "n_items"), ("missing", "n_missing"), ("failed", "n_failed"))
#: (column title, key) of the audio-dependence table (``avsol eval --negatives``, SPEC 5).
NEGATIVES = (("ROC-AUC", "roc_auc"), ("false alarm", "false_alarm"), ("pIA", "pia"), ("map IoU", "map_iou"),
             ("map change", "map_change"), ("items", "n_items"))


def summaries_from_rows(rows: list[dict[str, Any]], heads: list[str]) -> dict[str, dict[str, Any]]:
    """``report["heads"]`` as the report would compute it from ``rows``."""
    from model_core.metrics.items import ItemResult
    from model_core.metrics.report import head_summary

    by_head: dict[str, list] = {h: [] for h in heads}
    for r in rows:
        by_head.setdefault(r.get("head"), []).append(ItemResult.from_row(r))
    return {h: head_summary(items) for h, items in by_head.items()}


def curves_from_rows(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Per head, the success rate at each cIoU threshold of ``L.AUC_THRESHOLDS``."""
    cious: dict[str, list[float]] = {}
    for r in rows:
        if r.get("status", "scored") == "scored" and r.get("ciou") is not None:
            cious.setdefault(r["head"], []).append(r["ciou"])
    return {h: L.success_curve(np.asarray(c, np.float64)) for h, c in cious.items()}


def _fmt(v) -> str:
    """A summary number as text; anything else (a hand-edited report) as itself, never an
    exception from inside a Qt slot."""
    if v is None:
        return "n/a"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    return str(v) if isinstance(v, int) else f"{v:.3f}"


def _fill(table: QTableWidget, rows: list[tuple[str, dict]], columns) -> None:
    table.setRowCount(len(rows))
    table.setColumnCount(len(columns))
    table.setHorizontalHeaderLabels([c for c, _ in columns])
    table.setVerticalHeaderLabels([name for name, _ in rows])
    for i, (_, d) in enumerate(rows):
        for j, (_, key) in enumerate(columns):
            item = QTableWidgetItem(_fmt(d.get(key)))
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(i, j, item)


def _table() -> QTableWidget:
    t = QTableWidget()
    t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.horizontalHeader().setStretchLastSection(True)
    t.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return t


class SummaryView(QWidget):
    """The per-head table, the breakdown (per class or per size, one head) and the curves."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.heads: dict[str, dict[str, Any]] = {}
        self.summary = _table()
        self.breakdown = _table()
        self.by = QComboBox()
        self.by.addItems(["per class", "per size"])
        self.head_box = QComboBox()
        self.by.currentIndexChanged.connect(self._fill_breakdown)
        self.head_box.currentIndexChanged.connect(self._fill_breakdown)
        self._plot: pg.PlotWidget | None = None   # built when first shown or drawn on
        self.curves: dict[str, pg.PlotDataItem] = {}

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Breakdown"))
        bar.addWidget(self.by)
        bar.addWidget(self.head_box, 1)
        lower = QWidget()
        lay = QVBoxLayout(lower)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.breakdown)
        split = QSplitter(Qt.Orientation.Horizontal)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.summary)
        left.addWidget(lower)
        #: per head and negative kind: shown only when the report has ``negatives``
        self.negatives = _table()
        self.negatives.setToolTip("Audio dependence (avsol eval --negatives): ROC-AUC 0.5 means the head "
                                  "ignores the sound; the cls head's p_avc is uncalibrated (compare it by "
                                  "ROC-AUC)")
        self.negatives.hide()
        left.addWidget(self.negatives)
        split.addWidget(left)
        self._split = split
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(split)

    @property
    def plot(self) -> pg.PlotWidget:
        """The success-rate curves (see :meth:`_ensure_plot`)."""
        return self._ensure_plot()

    def _ensure_plot(self) -> pg.PlotWidget:
        """Built on first use, not with the window: each pyqtgraph plot is a measurable part
        of the viewer's start-up (``benchmarks/README.md``), for a panel most sessions never
        open."""
        if self._plot is None:
            p = pg.PlotWidget()
            p.setLabel("bottom", "cIoU threshold")
            p.setLabel("left", "success rate")
            p.setXRange(0, 1, padding=0.02)
            p.setYRange(0, 1, padding=0.02)
            p.showGrid(x=True, y=True, alpha=0.2)
            p.addLegend(offset=(-10, 10))
            p.setMenuEnabled(False)
            p.setMouseEnabled(False, False)
            p.setMinimumHeight(140)
            self._split.addWidget(p)
            self._split.setStretchFactor(0, 3)
            self._split.setStretchFactor(1, 2)
            self._plot = p
        return self._plot

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._ensure_plot()
        super().showEvent(event)

    def show_summaries(self, heads: dict[str, dict[str, Any]], rows: list[dict[str, Any]]) -> None:
        """Show ``report["heads"]`` and the curves of ``rows``."""
        self.heads = heads
        _fill(self.summary, [(head_label(name), h) for name, h in heads.items()], SUMMARY)
        current = self.head_box.currentText()
        self.head_box.blockSignals(True)
        self.head_box.clear()
        self.head_box.addItems(list(heads))
        if current in heads:
            self.head_box.setCurrentText(current)
        self.head_box.blockSignals(False)
        self._fill_breakdown()
        neg = [(f"{name} · {kind}", s) for name, h in heads.items() for kind, s in h.get("negatives", {}).items()]
        _fill(self.negatives, neg, NEGATIVES)
        self.negatives.setVisible(bool(neg))
        self._draw_curves(curves_from_rows(rows), list(heads))

    def _fill_breakdown(self) -> None:
        h = self.heads.get(self.head_box.currentText())
        if h is None:
            _fill(self.breakdown, [], BREAKDOWN)
            return
        part = h.get("per_class" if self.by.currentIndex() == 0 else "per_size", {})
        _fill(self.breakdown, [(k, v) for k, v in part.items() if v.get("n_total", 1)], BREAKDOWN)

    def _draw_curves(self, curves: dict[str, np.ndarray], order: list[str]) -> None:
        """Redraw every curve (a handful of 21-point lines: cheaper than bookkeeping)."""
        for item in self.curves.values():
            self.plot.removeItem(item)
        self.curves.clear()
        for name in order:
            if name not in curves:
                continue
            auc = self.heads.get(name, {}).get("auc")
            colour = head_colour(name)  # the head's colour in the viewer and the training curves
            label = head_label(name)
            self.curves[name] = self.plot.plot(
                L.AUC_THRESHOLDS, curves[name], name=f"{label} (AUC {auc:.3f})" if auc is not None else label,
                pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=4, symbolBrush=colour, symbolPen=None)
