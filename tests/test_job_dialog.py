"""The job dialogs' Browse buttons: a chosen path lands in its field and the dialog checks
its choices again; a cancelled file dialog changes nothing."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def test_browse_into_sets_the_field_only_when_a_path_was_chosen(qtbot):
    from PySide6.QtWidgets import QLineEdit

    from avsol_viewer.jobs.dialog import browse_into

    edit = QLineEdit("before")
    qtbot.addWidget(edit)
    calls = []
    browse_into(edit, "", lambda: calls.append(1))          # cancelled
    assert edit.text() == "before" and calls == []
    browse_into(edit, "/data/set", lambda: calls.append(1))
    assert edit.text() == "/data/set" and calls == [1]
    browse_into(edit, "/data/other")                          # nothing to call after
    assert edit.text() == "/data/other"


def test_the_eval_dialogs_folder_browse_updates_what_it_found(qtbot, settings, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from avsol_viewer.evaluate.eval_dialog import EvalDialog

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    d = EvalDialog(str(a), ["m/dnm.pt"], settings=settings)
    qtbot.addWidget(d)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: ""))
    d._browse_folder()
    assert d.folder.text() == str(a)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(b)))
    d._browse_folder()
    assert d.folder.text() == str(b)
    assert d.out.text() == str(tmp_path / "b-report.json")   # the report follows the browsed folder
