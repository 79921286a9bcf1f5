"""Tools › Evaluate folder…: the dialog that asks for an :class:`EvalRequest`.

The folder's annotations are found the way ``avsol eval`` finds them
(``model_core.evaluation.load_eval_set``: ``avsol-e.json`` first, else AVE's
``Annotations.txt``) and shown with their video count, or chosen by hand; the
checkpoints start as the models the viewer has loaded. Nothing runs here.

With the viewer's settings, the dialog refills from what was evaluated last (folder,
annotations, checkpoints, rule, device, batch) and remembers it on Evaluate. The report
path follows the folder (``<folder name>-report.json`` in
:func:`~avsol_viewer.output_folder.default_output_dir`: the last report folder, else next to
the data set, never inside it nor the install folder) until the user edits it, and an
existing report is replaced only when the user agrees.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import (QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QFormLayout, QLabel, QLineEdit,
                               QListWidget, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from avsol_viewer.asks import confirm_overwrite
from avsol_viewer.evaluate.eval_job import EvalRequest
from avsol_viewer.jobs.dialog import browse_into, field_row, run_buttons
from avsol_viewer.output_folder import FollowingField, default_output_dir, ensure_folder, remember_output

DEFAULT_REPORT = "avsol-report.json"
RULES = ("median", "fixed", "top-gt")


def default_report(settings, folder: str) -> str:
    """Where the report of evaluating ``folder`` goes by default."""
    name = Path(os.path.abspath(folder)).name if folder else ""
    return str(default_output_dir(settings, "evaluate", folder or None) /
               (f"{name}-report.json" if name else DEFAULT_REPORT))


def describe_folder(folder: str, annotations: str | None = None) -> str:
    """What ``avsol eval`` would evaluate in ``folder`` (one line), or why it cannot."""
    from model_core.errors import InputError
    from model_core.evaluation.dataset import load_eval_set

    try:
        s = load_eval_set(folder, annotations)
    except InputError as exc:
        return f"⚠ {exc}"
    found = sum(v.path is not None for v in s.videos)
    return (f"{s.mode} annotations {s.annotations.name}: {len(s.videos)} videos ({found} found), "
            f"{s.n_items} items, {len(s.classes)} classes")


class EvalDialog(QDialog):
    """Folder, annotations, checkpoints, threshold rule, report path, device, batch size."""

    def __init__(self, folder: str = "", checkpoints=(), parent=None, settings=None):
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Evaluate folder")
        self.resize(620, 420)
        self.folder = QLineEdit(folder)
        self.annotations = QLineEdit()
        self.annotations.setPlaceholderText("found in the folder")
        self.found = QLabel("")
        self.found.setWordWrap(True)
        self.ckpts = QListWidget()
        self.ckpts.addItems([str(c) for c in checkpoints])
        self.out = QLineEdit()
        self.rule = QComboBox()
        self.rule.addItems(list(RULES))
        self.level = QDoubleSpinBox()
        self.level.setRange(0, 0.99)
        self.level.setSingleStep(0.05)
        self.level.setValue(0.5)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.batch = QSpinBox()
        self.batch.setRange(1, 4096)
        self.batch.setValue(16)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_folder)
        pick_ann = QPushButton("Choose…")
        pick_ann.clicked.connect(self._browse_annotations)
        add, remove = QPushButton("Add…"), QPushButton("Remove")
        add.clicked.connect(self._add_checkpoints)
        remove.clicked.connect(lambda: [self.ckpts.takeItem(self.ckpts.row(i)) for i in self.ckpts.selectedItems()])
        out_browse = QPushButton("…")
        out_browse.clicked.connect(self._browse_out)
        form = QFormLayout()
        form.addRow("Folder", field_row(self.folder, browse))
        form.addRow("Annotations", field_row(self.annotations, pick_ann))
        form.addRow("", self.found)
        ck = QVBoxLayout()
        ck.addWidget(self.ckpts)
        ck.addWidget(field_row(add, remove))
        box = QWidget()
        box.setLayout(ck)
        form.addRow("Checkpoints", box)
        form.addRow("Threshold rule", field_row(self.rule, self.level))
        form.addRow("Report", field_row(self.out, out_browse))
        form.addRow("Device / batch", field_row(self.device, self.batch))
        buttons, self.ok = run_buttons(self, "Evaluate")
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self.folder.editingFinished.connect(self._update)
        self.annotations.editingFinished.connect(self._update)
        self.rule.currentTextChanged.connect(lambda t: self.level.setEnabled(t == "fixed"))
        self.level.setEnabled(False)
        if settings is not None:
            self._restore(settings)
        self.report = FollowingField(self.out, lambda: default_report(self.settings, self.folder.text().strip()))
        self.folder.textChanged.connect(self.report.follow)
        self._update()

    def _restore(self, s) -> None:
        """The last evaluation's choices, where they still make sense (the folder and the
        checkpoints must still exist; the annotations go with their folder)."""
        folder = s.value("evaluate/folder")
        if folder and os.path.isdir(folder):
            self.folder.setText(folder)
            self.annotations.setText(s.value("evaluate/annotations"))
        ckpts = [p for p in s.string_list("evaluate/checkpoints") if os.path.isfile(p)]
        if ckpts:
            self.ckpts.clear()
            self.ckpts.addItems(ckpts)
        if s.value("evaluate/rule") in RULES:
            self.rule.setCurrentText(s.value("evaluate/rule"))
        self.level.setValue(s.value("evaluate/level"))
        if self.device.findText(s.value("evaluate/device")) >= 0:
            self.device.setCurrentText(s.value("evaluate/device"))
        self.batch.setValue(s.value("evaluate/batch"))

    def remember(self) -> None:
        """Store this dialog's choices for the next time (and where the report went)."""
        s = self.settings
        if s is None:
            return
        r = self.request()
        s.set_value("evaluate/folder", r.data)
        s.set_value("evaluate/annotations", r.annotations or "")
        s.set_value("evaluate/checkpoints", list(r.checkpoints))
        s.set_value("evaluate/rule", self.rule.currentText())
        s.set_value("evaluate/level", self.level.value())
        s.set_value("evaluate/device", r.device)
        s.set_value("evaluate/batch", r.batch_size)
        remember_output(s, "evaluate", r.out)

    def accept(self) -> None:
        """Evaluate: only once the report's folder exists and an existing report may go."""
        out = self.request().out
        problem = ensure_folder(Path(out).parent)
        if problem:
            self.found.setText(f"⚠ {problem}")
            return
        if not confirm_overwrite(self, [out], "report"):
            return
        self.remember()
        super().accept()

    def _browse_folder(self) -> None:
        browse_into(self.folder, QFileDialog.getExistingDirectory(self, "Folder of videos", self.folder.text()),
                    self._update)

    def _browse_annotations(self) -> None:
        p, _ = QFileDialog.getOpenFileName(self, "Annotations", self.folder.text(),
                                           "AVSOL-E or AVE (*.json Annotations.txt *.txt);;All files (*)")
        browse_into(self.annotations, p, self._update)

    def _add_checkpoints(self) -> None:
        # ours (.pt) and the field's published checkpoints (.pth, .pth.tar), as File › Add model…
        paths, _ = QFileDialog.getOpenFileNames(self, "Checkpoints", self.folder.text(),
                                                "Models (*.pt *.pth *.pth.tar);;All files (*)")
        self.ckpts.addItems(paths)
        self._update()

    def _browse_out(self) -> None:
        p, _ = QFileDialog.getSaveFileName(self, "Report", self.out.text(), "Report (*.json)")
        if p:
            self.report.set_by_user(p)

    def _update(self) -> None:
        folder = self.folder.text().strip()
        self.found.setText(describe_folder(folder, self.annotations.text().strip() or None) if folder else "")
        self.ok.setEnabled(bool(folder) and os.path.isdir(folder) and self.ckpts.count() > 0
                           and not self.found.text().startswith("⚠"))

    def request(self) -> EvalRequest:
        rule = self.rule.currentText()
        return EvalRequest(
            data=os.path.abspath(self.folder.text().strip()),
            checkpoints=tuple(os.path.abspath(self.ckpts.item(i).text()) for i in range(self.ckpts.count())),
            out=os.path.abspath(self.report.text()),
            annotations=os.path.abspath(self.annotations.text().strip()) if self.annotations.text().strip() else None,
            threshold=f"fixed:{self.level.value():g}" if rule == "fixed" else rule,
            device=self.device.currentText(), batch_size=self.batch.value())
