"""The items of an evaluation as a sortable, filterable table (one row per item and head).

:class:`ItemsModel` holds the report's item rows (``ItemResult.to_row()`` dicts, as the
report and the ``item`` JSON lines carry them) and shows video, time, class, size, head,
cIoU, hit and failure label; a row that is not scored shows its status (``failed`` /
``missing``) in the failure column and its error as the tooltip. :class:`ItemsFilter`
sorts numerically (a hidden sort key per cell) and filters by head, failure label, class,
size and free text. A row that ``model_core.metrics.rescore`` marked ``gt_changed: true``
(its ground truth was corrected after the report was scored) shows "(GT changed)"
after its failure label, says so in the tooltip, and the failure filter offers
:data:`GT_CHANGED` to show only those rows: a corrected item's new number is not the
model's doing, and a reader comparing runs must see which ones moved for that reason.
The row dicts are read directly (``ItemResult.from_row`` drops the key). "Failure" means anything but ``ok``: a wrong object, a miss, a
diffuse map, a false alarm, or a row that could not be scored.

A report row that breaks the schema is shown with status ``invalid`` (the panel passes a
sanitized copy, ``report_schema.sanitized_row``). Whatever a row holds, no exception
leaves :meth:`ItemsModel.data` or the filter's callbacks: Qt calls them from C++, where a
Python exception is printed and the view is left half-updated (a later reset can then
crash in libshiboken). A cell that cannot be drawn shows its raw text.
"""
from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

COLUMNS = ("video", "time", "class", "size", "head", "cIoU", "hit", "failure")
SORT_ROLE = Qt.ItemDataRole.UserRole
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
ANY = "(any)"
#: Colours of the failure column (the colour-blind-safe palette of the viewer's boxes).
#: The failure filter's choice that keeps the rows whose ground truth changed.
GT_CHANGED = "GT changed"
COLOURS = {"ok": "#2a9d8f", "failed": "#e76f51", "missing": "#e9c46a", "invalid": "#e76f51"}


def failure_of(row: dict[str, Any]) -> str:
    """What the failure column says: the taxonomy label, or the status of an unscored row."""
    status = row.get("status", "scored")
    if status != "scored":
        return str(status)
    return str(row.get("failure") or "-")


def gt_changed(row: dict[str, Any]) -> bool:
    """Whether a rescore against corrected annotations marked the row (only ``true`` counts)."""
    return row.get("gt_changed") is True


def is_failure(row: dict[str, Any]) -> bool:
    """Anything but a success: an error row or a label other than ``ok``."""
    return failure_of(row) not in ("ok", "-")


def _cell(row: dict[str, Any], col: str) -> tuple[str, Any]:
    """(text, sort key) of a cell; a value of the wrong type shows as its text."""
    try:
        return _typed_cell(row, col)
    except Exception:  # noqa: BLE001 - a hand-edited row: show what it holds, never raise into Qt
        v = row.get(col.lower() if col != "cIoU" else "ciou")
        return ("" if v is None else str(v)), -1.0


def _typed_cell(row: dict[str, Any], col: str) -> tuple[str, Any]:
    if col == "time":
        t = row.get("time")
        return ("" if t is None else f"{t:.2f}", -1.0 if t is None else float(t))
    if col == "cIoU":
        c = row.get("ciou")
        return ("" if c is None else f"{c:.3f}", -1.0 if c is None else float(c))
    if col == "hit":
        h = row.get("hit")
        return ("" if h is None else ("yes" if h else "no"), -1 if h is None else int(h))
    if col == "failure":
        text = failure_of(row)
        return text + (f" ({GT_CHANGED})" if gt_changed(row) else ""), text
    if col == "class":
        text = row.get("class") or ""
        return (text + (" (bg)" if row.get("kind") == "background" else "")), text
    value = row.get(col)
    return ("" if value is None else str(value)), ("" if value is None else str(value))


class ItemsModel(QAbstractTableModel):
    """Item rows (dicts) as a table; :meth:`append` adds rows while an evaluation runs."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def append(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        n = len(self.rows)
        self.beginInsertRows(QModelIndex(), n, n + len(rows) - 1)
        self.rows.extend(rows)
        self.endInsertRows()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(COLUMNS) and COLUMNS[section] in ("failure", "hit"):
            from avsol_viewer.evaluate.labels import failure_legend

            return ("hit: cIoU at least 0.5" if COLUMNS[section] == "hit" else failure_legend())
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        try:
            return self._data(index, role)
        except Exception:  # noqa: BLE001 - see the module docstring: nothing escapes into Qt
            return None

    def _data(self, index, role):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row, col = self.rows[index.row()], COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return _cell(row, col)[0]
        if role == SORT_ROLE:
            return _cell(row, col)[1]
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            if row.get("error"):
                return str(row.get("error"))
            if col == "failure":  # what the label means, in words
                from avsol_viewer.evaluate.labels import failure_help

                text = failure_help(failure_of(row)) or ""
                if gt_changed(row):
                    text = ("ground truth changed: this item's boxes were corrected after the report "
                            "was scored; its numbers are against the corrected set" + (f"\n{text}" if text else ""))
                return text or None
            return None
        if role == Qt.ItemDataRole.ForegroundRole and col == "failure":
            text = failure_of(row)
            return QColor(COLOURS.get(text, "#f4a261" if is_failure(row) else "#888888"))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in ("time", "cIoU"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class ItemsFilter(QSortFilterProxyModel):
    """Numeric sorting and the panel's filters (head, failure label, class, size, text;
    ``failures_only``)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.criteria: dict[str, str] = {}
        self.text = ""
        self.failures_only = False

    def set_criterion(self, key: str, value: str | None) -> None:
        """``key`` one of ``head``, ``failure``, ``class``, ``size``; None or ANY clears it."""
        if value in (None, "", ANY):
            self.criteria.pop(key, None)
        else:
            self.criteria[key] = value
        self._refilter()

    def set_text(self, text: str) -> None:
        self.text = text.strip().lower()
        self._refilter()

    def set_failures_only(self, on: bool) -> None:
        self.failures_only = bool(on)
        self._refilter()

    def _refilter(self) -> None:
        if hasattr(self, "beginFilterChange"):      # Qt >= 6.10 (invalidateFilter is deprecated)
            self.beginFilterChange()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        try:
            return self._accepts(self.sourceModel().rows[source_row])
        except Exception:  # noqa: BLE001 - never raise into Qt (module docstring)
            return True

    def _accepts(self, row: dict[str, Any]) -> bool:
        for key, value in self.criteria.items():
            if key == "failure" and value == GT_CHANGED:
                if not gt_changed(row):
                    return False
                continue
            have = failure_of(row) if key == "failure" else row.get(key)
            if (have or "") != value:
                return False
        if self.failures_only and not is_failure(row):
            return False
        if self.text and self.text not in f"{row.get('video', '')} {row.get('error') or ''}".lower():
            return False
        return True

    def lessThan(self, left, right) -> bool:
        try:
            a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
            if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                return (a if not math.isnan(a) else -1) < (b if not math.isnan(b) else -1)
            return str(a) < str(b)
        except Exception:  # noqa: BLE001 - never raise into Qt (module docstring)
            return False

    def row_at(self, proxy_row: int) -> dict[str, Any]:
        return self.sourceModel().rows[self.mapToSource(self.index(proxy_row, 0)).row()]

    def next_failure(self, current: int, step: int) -> int | None:
        """The proxy row of the next (``step`` 1) or previous (-1) failure after
        ``current`` in the shown order, wrapping around; None if none is shown."""
        n = self.rowCount()
        for k in range(1, n + 1):
            r = (current + step * k) % n
            if is_failure(self.row_at(r)):
                return r
        return None
