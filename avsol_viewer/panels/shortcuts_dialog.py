"""Help > Shortcuts: every action of the window that has a keyboard shortcut, in a table.

Built from the actions themselves, so the list can never disagree with the keys.
"""
from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout


def shortcut_rows(window) -> list[tuple[str, str]]:
    """(command, key) for each action of ``window`` with a shortcut, in a stable order."""
    rows = []
    seen = set()
    for action in window.findChildren(QAction):
        keys = action.shortcuts()
        if not keys or action in seen:
            continue
        seen.add(action)
        text = action.text().replace("&", "")
        rows.append((text, ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys)))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(window)
        table = QTableWidget(len(rows), 2, self)
        table.setHorizontalHeaderLabels(["Command", "Shortcut"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, (text, keys) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(text))
            table.setItem(r, 1, QTableWidgetItem(keys))
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(table)
        lay.addWidget(buttons)
        self.resize(440, 520)
