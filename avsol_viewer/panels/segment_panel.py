"""The annotated segment under the playhead and each head's score on it.

Scores come from ``model_core.metrics.score_items`` on the map of the segment's annotated
frame (the frame evaluation scores), so the numbers are the ones ``avsol eval`` reports
for that item: cIoU, pointing-game hit, p(av) and the failure label of SPEC 5.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

COLUMNS = ("Head", "p(av)", "cIoU", "Hit", "Label")


def score_segment(entry, segment, video: str, head: str, category: str | None):
    """The :class:`~model_core.metrics.ItemResult` of one map on one segment."""
    from model_core.metrics import score_items

    return score_items(entry.map[None], [segment], videos=[video], head=head, times=[entry.time],
                       categories=[category], p_avc=[entry.p_avc],
                       silent_audio=[entry.silent_audio])[0]


class SegmentScores:
    """Memo of segment scores per (video, model, audio, segment position)."""

    def __init__(self):
        self._memo: dict[tuple, object] = {}

    def get(self, key: tuple, entry, segment, video: str, head: str, category):
        item = self._memo.get(key)
        if item is None:
            item = score_segment(entry, segment, video, head, category)
            self._memo[key] = item
        return item


def _fmt(v, digits=2) -> str:
    if v is None or (isinstance(v, float) and v != v):  # NaN: a published model has no p(av)
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{v:.{digits}f}"


class SegmentPanel(QWidget):
    """A heading for the segment and a table of the heads' scores."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.heading = QLabel("No annotations")
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setStretchLastSection(True)
        #: the current item's negative-audio figures ("Follows the sound?", SPEC 5)
        self.negatives = QLabel("")
        self.negatives.setWordWrap(True)
        self.negatives.setTextFormat(Qt.TextFormat.RichText)
        lay = QVBoxLayout(self)
        lay.addWidget(self.heading)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.negatives)

    def show_negatives(self, html: str) -> None:
        """The negative-audio figures of the current item (empty: none computed)."""
        self.negatives.setText(html)

    def show_segment(self, heading: str, rows: list[tuple[str, object | None]]) -> None:
        """``rows``: (head label, ItemResult or None while its map is computed)."""
        self.heading.setText(heading)
        self.table.setRowCount(len(rows))
        for r, (label, item) in enumerate(rows):
            if item is None:
                values = (label, "…", "…", "…", "computing")
            else:
                values = (label, _fmt(item.p_avc), _fmt(item.ciou), _fmt(item.hit), item.failure or "–")
            for c, v in enumerate(values):
                cell = QTableWidgetItem(v)
                if c:
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(r, c, cell)
