"""Tools › Train model…: the dialog that asks for a :class:`TrainRequest`. Nothing runs here.

With the viewer's settings, the dialog refills from the last training (dataset, heads,
epochs, batch size, device, preset) and remembers it on Train. The checkpoint folder
follows the dataset (``<dataset name>-runs`` in
:func:`~avsol_viewer.output_folder.default_output_dir`: the last one's folder, else next to
the dataset, never the install folder, so the bundled demo trains into a user folder)
until the user edits it, and checkpoints already there are replaced only when the user
agrees (a fresh run would also replace their resumable ``.last.pt``).
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QLabel, QLineEdit,
                               QPushButton, QSpinBox, QVBoxLayout)

from avsol_viewer.asks import confirm_overwrite
from avsol_viewer.jobs.dialog import browse_into, field_row, run_buttons
from avsol_viewer.output_folder import FollowingField, default_output_dir, in_install_folder, remember_output
from avsol_viewer.train.train_job import HEADS, TrainRequest


def default_out_dir(settings, folder: str) -> str:
    """Where the checkpoints of training on ``folder`` go by default."""
    name = Path(os.path.abspath(folder)).name if folder else ""
    return str(default_output_dir(settings, "train", folder or None) / (f"{name}-runs" if name else "runs"))


def describe_dataset(folder: str) -> str:
    """What ``avsol train`` would read in ``folder`` (one line), or why it cannot."""
    from model_core.data_layout import AVE_ANNOTATIONS, SPLIT_FILES

    p = Path(folder)
    if not (p / AVE_ANNOTATIONS).is_file():
        return "⚠ no Annotations.txt here: train needs an AVE-format folder (e.g. one written by avsol synth)"
    splits = [n for n in SPLIT_FILES.values() if (p / n).is_file()]
    return f"AVE-format folder ({', '.join(splits) or 'no split files'})"


class TrainDialog(QDialog):
    """Dataset folder, heads, epochs, batch size, device, model preset, output folder."""

    def __init__(self, folder: str = "", parent=None, settings=None):
        from model_core.train.options import PRESETS

        super().__init__(parent)
        self.settings = settings
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
        heads = field_row(*self.heads.values())
        for b in self.heads.values():
            b.toggled.connect(self._update)
        form = QFormLayout()
        form.addRow("Dataset", field_row(self.folder, browse))
        form.addRow("", self.found)
        form.addRow("Heads", heads)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch)
        form.addRow("Device", self.device)
        form.addRow("Model preset", self.config)
        out_browse = QPushButton("…")
        out_browse.clicked.connect(self._browse_out)
        form.addRow("Checkpoints to", field_row(self.out, out_browse))
        buttons, self.ok = run_buttons(self, "Train")
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self.folder.editingFinished.connect(self._update)
        if settings is not None:
            self._restore(settings)
        self.runs = FollowingField(self.out, lambda: default_out_dir(self.settings, self.folder.text().strip()))
        self.folder.textChanged.connect(self.runs.follow)
        self._update()

    def _restore(self, s) -> None:
        """The last training's choices (its dataset only if it still exists)."""
        folder = s.value("train/folder")
        if folder and os.path.isdir(folder):
            self.folder.setText(folder)
        heads = [h for h in s.value("train/heads").split(",") if h in self.heads]
        if heads:
            for h, box in self.heads.items():
                box.setChecked(h in heads)
        self.epochs.setValue(s.value("train/epochs"))
        self.batch.setValue(s.value("train/batch"))
        for combo, key in ((self.device, "train/device"), (self.config, "train/config")):
            if combo.findText(s.value(key)) >= 0:
                combo.setCurrentText(s.value(key))

    def remember(self) -> None:
        """Store this dialog's choices for the next time (and where the checkpoints went)."""
        s = self.settings
        if s is None:
            return
        r = self.request()
        s.set_value("train/folder", r.data)
        s.set_value("train/heads", ",".join(r.heads))
        s.set_value("train/epochs", r.epochs)
        s.set_value("train/batch", r.batch_size)
        s.set_value("train/device", r.device)
        s.set_value("train/config", r.config)
        remember_output(s, "train", r.out_dir)

    def replaced(self) -> list[str]:
        """The files a fresh run of this request would replace: each head's checkpoint and
        its resumable ``.last.pt`` and best-so-far ``.best.pt``."""
        r = self.request()
        return [str(p) for h in r.heads for p in (Path(r.checkpoint(h)), Path(r.out_dir) / f"{h}.last.pt",
                                                              Path(r.out_dir) / f"{h}.best.pt")]

    def accept(self) -> None:
        """Train: only once the user agrees to replace checkpoints already there."""
        if not confirm_overwrite(self, self.replaced(), "checkpoints"):
            return
        self.remember()
        super().accept()

    def _browse(self) -> None:
        browse_into(self.folder, QFileDialog.getExistingDirectory(self, "Dataset folder", self.folder.text()),
                    self._update)

    def _browse_out(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Checkpoints folder", str(Path(self.runs.text()).parent))
        if d:
            self.runs.set_by_user(d)

    def _update(self) -> None:
        folder = self.folder.text().strip()
        self.found.setText(describe_dataset(folder) if folder else "")
        self.ok.setEnabled(bool(folder) and os.path.isdir(folder) and not self.found.text().startswith("⚠")
                           and any(b.isChecked() for b in self.heads.values()))

    def request(self) -> TrainRequest:
        folder = self.folder.text().strip()
        return TrainRequest(data=os.path.abspath(folder), heads=tuple(h for h, b in self.heads.items() if b.isChecked()),
                            epochs=self.epochs.value(), out_dir=os.path.abspath(self.runs.text()),
                            batch_size=self.batch.value(), device=self.device.currentText(),
                            config=self.config.currentText(), cache=self._cache_folder(folder))

    def _cache_folder(self, folder: str) -> str | None:
        """``avsol train`` caches decoded samples in ``DATA/.avsol-cache`` by default; a
        dataset inside the install folder (the bundled demo) caches beside the checkpoints."""
        if folder and in_install_folder(folder):
            return str(Path(os.path.abspath(self.runs.text())) / ".avsol-cache")
        return None
