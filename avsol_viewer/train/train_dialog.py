"""Tools › Train model…: the dialog that asks for a :class:`TrainRequest`. Nothing runs here."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from avsol_viewer.train.train_job import HEADS, TrainRequest


def describe_dataset(folder: str) -> str:
    """What ``avsol train`` would read in ``folder`` (one line), or why it cannot."""
    p = Path(folder)
    if not (p / "Annotations.txt").is_file():
        return "⚠ no Annotations.txt here: train needs an AVE-format folder (e.g. one written by avsol synth)"
    splits = [n for n in ("trainSet.txt", "valSet.txt", "testSet.txt") if (p / n).is_file()]
    return f"AVE-format folder ({', '.join(splits) or 'no split files'})"


class TrainDialog(QDialog):
    """Dataset folder, heads, epochs, batch size, device, model preset, output folder."""

    def __init__(self, folder: str = "", parent=None):
        from model_core.train.options import PRESETS

        super().__init__(parent)
        self.setWindowTitle("Train model")
        self.setMinimumWidth(520)
        self.folder = QLineEdit(folder)
        self.found = QLabel("")
        self.found.setWordWrap(True)
        self.heads = {h: QCheckBox(h) for h in HEADS}
        self.heads["dnm"].setChecked(True)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100000)
        self.epochs.setValue(10)
        self.batch = QSpinBox()
        self.batch.setRange(1, 65536)
        self.batch.setValue(32)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.config = QComboBox()
        self.config.addItems(list(PRESETS))
        self.config.setCurrentText("demo")
        self.out = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QWidget()
        rl = QHBoxLayout(row)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.folder, 1)
        rl.addWidget(browse)
        heads = QWidget()
        hl = QHBoxLayout(heads)
        hl.setContentsMargins(0, 0, 0, 0)
        for b in self.heads.values():
            hl.addWidget(b)
            b.toggled.connect(self._update)
        form = QFormLayout()
        form.addRow("Dataset", row)
        form.addRow("", self.found)
        form.addRow("Heads", heads)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch)
        form.addRow("Device", self.device)
        form.addRow("Model preset", self.config)
        form.addRow("Checkpoints to", self.out)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Train")
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self.folder.editingFinished.connect(self._update)
        self._update()

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Dataset folder", self.folder.text())
        if d:
            self.folder.setText(d)
            self.out.clear()
            self._update()

    def _update(self) -> None:
        folder = self.folder.text().strip()
        if folder and not self.out.text().strip():
            self.out.setText(str(Path(folder) / "runs"))
        self.found.setText(describe_dataset(folder) if folder else "")
        self.ok.setEnabled(bool(folder) and os.path.isdir(folder) and not self.found.text().startswith("⚠")
                           and any(b.isChecked() for b in self.heads.values()))

    def request(self) -> TrainRequest:
        folder = self.folder.text().strip()
        return TrainRequest(data=os.path.abspath(folder), heads=tuple(h for h, b in self.heads.items() if b.isChecked()),
                            epochs=self.epochs.value(), out_dir=os.path.abspath(self.out.text().strip() or str(Path(folder) / "runs")),
                            batch_size=self.batch.value(), device=self.device.currentText(),
                            config=self.config.currentText())
