"""Issue 25 findings 5 and 8: outputs land where the user means, dialogs remember.

Where an output goes by default (one rule, ``avsol_viewer.output_folder``): the last
folder used, else beside the data set, else the user folder; never the install folder.
Output fields follow their input until the user edits them. Evaluate and Train refill
from the settings and ask before replacing a file; quitting while a child runs asks.
Every question is answered by patching ``avsol_viewer.asks.ask_yes_no``; the user folder
and the settings are temporary (``$AVSOL_OUTPUT_DIR``, the ``settings`` fixture), so
nothing here writes into the real home.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def user_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "user"
    monkeypatch.setenv("AVSOL_OUTPUT_DIR", str(d))
    return d


@pytest.fixture
def answers(monkeypatch):
    """Every yes/no question asked, answered from ``answers.reply`` (default: No)."""
    from avsol_viewer import asks

    class Answers(list):
        reply = False

    got = Answers()

    def ask(parent, title, text, default=False):
        got.append((title, text))
        return got.reply

    monkeypatch.setattr(asks, "ask_yes_no", ask)
    return got


def _ave_folder(path: Path) -> Path:
    """An AVE-format folder as far as the dialogs look (Annotations.txt, a split file)."""
    path.mkdir(parents=True)
    (path / "Annotations.txt").write_text("Category&VideoID&Quality&StartTime&EndTime\n")
    (path / "trainSet.txt").write_text("")
    return path


# -- the one rule ---------------------------------------------------------------------------
def test_default_output_dir_order_and_never_the_install_folder(settings, tmp_path, user_dir):
    from avsol_viewer.constants import resources_dir
    from avsol_viewer.output_folder import default_output_dir, in_install_folder, remember_output

    data = _ave_folder(tmp_path / "sets" / "ave")
    # nothing remembered: beside the data set (its parent), not inside it
    assert default_output_dir(settings, "evaluate", data) == tmp_path / "sets"
    # no data set: the user folder (not made until something is written)
    assert default_output_dir(settings, "export") == user_dir and not user_dir.exists()
    # the demo inside the install folder: its parent is the install's too, so the user folder
    demo = resources_dir() / "demo"
    assert in_install_folder(demo) and in_install_folder(resources_dir())
    assert not in_install_folder(tmp_path)
    assert default_output_dir(settings, "train", demo) == user_dir
    # remembered: this kind's last folder first, then any kind's
    (tmp_path / "reports").mkdir()
    remember_output(settings, "evaluate", tmp_path / "reports" / "r.json")
    assert default_output_dir(settings, "evaluate", data) == tmp_path / "reports"
    assert default_output_dir(settings, "export") == tmp_path / "reports"      # "last", any kind
    (tmp_path / "videos").mkdir()
    remember_output(settings, "export", tmp_path / "videos" / "x.mp4")
    assert default_output_dir(settings, "export") == tmp_path / "videos"
    assert default_output_dir(settings, "evaluate", data) == tmp_path / "reports"
    # a remembered folder that is gone, or inside the install folder, is skipped
    settings.set_value("outputs/evaluate", str(tmp_path / "gone"))
    settings.set_value("outputs/last", str(demo))
    assert default_output_dir(settings, "evaluate", data) == tmp_path / "sets"


def test_settings_read_ints_and_lists_back(settings):
    settings.set_value("evaluate/batch", 64)
    settings.set_value("evaluate/checkpoints", ["/one.pt"])
    settings.sync()
    from avsol_viewer.settings import ViewerSettings

    again = ViewerSettings(settings.file_name)
    assert again.value("evaluate/batch") == 64 and isinstance(again.value("evaluate/batch"), int)
    assert again.string_list("evaluate/checkpoints") == ["/one.pt"]      # INI gives one str for a list of one
    assert again.value("train/epochs") == 10                             # the default


# -- Evaluate ---------------------------------------------------------------------------------
def test_eval_report_path_follows_the_folder_until_edited(qtbot, settings, tmp_path):
    from PySide6.QtCore import Qt

    from avsol_viewer.evaluate.eval_dialog import EvalDialog

    a, b = tmp_path / "sets" / "a", tmp_path / "other" / "b"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    d = EvalDialog(str(a), ["m/dnm.pt"], settings=settings)
    qtbot.addWidget(d)
    assert d.out.text() == str(tmp_path / "sets" / "a-report.json")
    d.folder.setText(str(b))                                   # typed (or browsed): the report follows
    assert d.out.text() == str(tmp_path / "other" / "b-report.json")
    qtbot.keyClicks(d.out, "x")                                # the user edits it: it stays
    edited = str(tmp_path / "other" / "b-report.jsonx")
    d.folder.setText(str(a))
    assert d.out.text() == edited and d.request().out == edited
    d.out.clear()
    qtbot.keyClicks(d.out, "r")
    d.out.selectAll()
    qtbot.keyClick(d.out, Qt.Key.Key_Backspace)                # emptied by the user: follows again
    d.folder.setText(str(b))
    assert d.out.text() == str(tmp_path / "other" / "b-report.json")
    d.report.set_by_user(str(tmp_path / "mine.json"))          # a Browse result stays too
    d.folder.setText(str(a))
    assert d.request().out == str(tmp_path / "mine.json")


def test_eval_dialog_remembers_and_asks_before_replacing_a_report(qtbot, settings, tmp_path, answers):
    from avsol_viewer.evaluate.eval_dialog import EvalDialog

    data = tmp_path / "set"
    data.mkdir()
    ckpts = [tmp_path / "avc.pt", tmp_path / "dnm.pt"]
    for c in ckpts:
        c.write_bytes(b"x")
    d = EvalDialog(str(data), [str(c) for c in ckpts], settings=settings)
    qtbot.addWidget(d)
    d.rule.setCurrentText("fixed")
    d.level.setValue(0.3)
    d.device.setCurrentText("cpu")
    d.batch.setValue(7)
    reports = tmp_path / "reports"
    d.report.set_by_user(str(reports / "r.json"))              # a folder not made yet
    d.accept()
    assert d.result() == d.DialogCode.Accepted and reports.is_dir() and answers == []
    # next time (another video open, other models loaded): the last evaluation's choices
    ckpts[0].unlink()                                          # gone since: dropped
    again = EvalDialog(str(tmp_path), ["other.pt"], settings=settings)
    qtbot.addWidget(again)
    r = again.request()
    assert r.data == str(data) and r.checkpoints == (str(ckpts[1]),)
    assert (r.threshold, r.device, r.batch_size) == ("fixed:0.3", "cpu", 7)
    assert r.out == str(reports / "set-report.json")           # the last report's folder, named for the set
    # a report already there: replaced only when the user says so
    Path(r.out).write_text("{}")
    again.accept()
    assert answers and "set-report.json" in answers[-1][1] and again.result() != again.DialogCode.Accepted
    answers.reply = True
    again.accept()
    assert again.result() == again.DialogCode.Accepted


# -- Train -----------------------------------------------------------------------------------
def test_train_on_the_demo_writes_to_the_user_folder(qtbot, settings, user_dir):
    from avsol_viewer.constants import resources_dir
    from avsol_viewer.train.train_dialog import TrainDialog

    t = TrainDialog(str(resources_dir() / "demo"), settings=settings)
    qtbot.addWidget(t)
    r = t.request()
    assert t.ok.isEnabled()
    assert r.out_dir == str(user_dir / "demo-runs")
    assert r.args("dnm")[r.args("dnm").index("--out") + 1] == str(user_dir / "demo-runs" / "dnm.pt")
    # the training cache would go into DATA/.avsol-cache: inside the install, so beside the checkpoints
    assert r.cache == str(user_dir / "demo-runs" / ".avsol-cache")
    assert r.args("dnm")[r.args("dnm").index("--cache") + 1] == r.cache


def test_train_dialog_follows_remembers_and_asks_before_replacing(qtbot, settings, tmp_path, answers):
    from avsol_viewer.train.train_dialog import TrainDialog

    a = _ave_folder(tmp_path / "sets" / "a")
    b = _ave_folder(tmp_path / "sets" / "b")
    t = TrainDialog(str(a), settings=settings)
    qtbot.addWidget(t)
    assert t.request().out_dir == str(tmp_path / "sets" / "a-runs") and t.request().cache is None
    t.folder.setText(str(b))
    assert t.request().out_dir == str(tmp_path / "sets" / "b-runs")
    t.heads["avc"].setChecked(True)
    t.epochs.setValue(3)
    t.config.setCurrentText("tiny")
    runs = tmp_path / "runs" / "b-runs"
    runs.mkdir(parents=True)
    (runs / "avc.last.pt").write_bytes(b"x")                   # a resumable run: a fresh one replaces it
    t.runs.set_by_user(str(runs))
    t.accept()
    assert len(answers) == 1 and "avc.last.pt" in answers[0][1] and t.result() != t.DialogCode.Accepted
    answers.reply = True
    t.accept()
    assert t.result() == t.DialogCode.Accepted
    again = TrainDialog("", settings=settings)
    qtbot.addWidget(again)
    r = again.request()
    assert (r.data, r.heads, r.epochs, r.config) == (str(b), ("avc", "dnm"), 3, "tiny")
    assert r.out_dir == str(tmp_path / "runs" / "b-runs")      # the last one's folder, named for the set
    # nothing there to replace: no question
    n = len(answers)
    again.folder.setText(str(a))
    again.accept()
    assert len(answers) == n and again.result() == again.DialogCode.Accepted


# -- quitting ----------------------------------------------------------------------------------
def test_quitting_while_training_asks_first(make_viewer, answers, monkeypatch):
    v = make_viewer()
    job = v.win.training.job
    stopped = []
    v.win.close_hooks.append(lambda: stopped.append(True))    # what closing does: stop children, save
    monkeypatch.setattr(job, "running", lambda: True)          # a child is running (none is started here)
    monkeypatch.setattr(job, "cancel", lambda: stopped.append("cancel"))
    monkeypatch.setattr(job.process, "wait", lambda ms: True)
    assert not v.win.close()                                   # "No": the window stays, the child runs
    assert v.win.isVisible() and not stopped
    assert answers == [("Quit AVSOL Studio?", "Training is running: stop it (resumable) and quit?")]
    answers.reply = True
    assert v.win.close() and stopped == ["cancel", True]     # the training stopped (resumable), then the rest
    assert len(answers) == 2                                   # one question, not one per installer
    monkeypatch.setattr(job, "running", lambda: False)


def test_quitting_with_nothing_running_asks_nothing(make_viewer, answers):
    v = make_viewer()
    assert v.win.close() and answers == []


# -- Export, Record ----------------------------------------------------------------------------
def test_export_and_record_default_to_the_user_folder(make_viewer, index_clip, tmp_path, user_dir, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from avsol_viewer.export.export_dialog import ExportDialog

    v = make_viewer()
    assert v.win.open_path(index_clip)
    dlg = ExportDialog(v.win.context)
    assert dlg.values()["out_path"] == str(user_dir / "index-overlay.mp4")   # not beside the footage
    dlg.close()
    asked = []

    def save_name(parent, title, default, *filters):
        asked.append(default)
        return str(tmp_path / "takes" / "take1.mp4"), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_name)
    live = v.win.live
    monkeypatch.setattr(live, "record", lambda path: True)
    live.session = object()                                    # as if live already (no devices here)
    try:
        live.ask_record()
    finally:
        live.session = None
    assert Path(asked[0]).parent == user_dir and Path(asked[0]).name.startswith("live-")
    assert user_dir.is_dir()                                   # made for the file dialog to open in
    assert v.win.settings.value("outputs/record") == str(tmp_path / "takes")


def test_export_dialog_asks_before_replacing(make_viewer, index_clip, tmp_path, answers):
    from avsol_viewer.export.export_dialog import ExportDialog

    v = make_viewer()
    assert v.win.open_path(index_clip)
    target = tmp_path / "out.mp4"
    target.write_bytes(b"old")
    dlg = ExportDialog(v.win.context)
    dlg.path.setText(str(target))
    dlg._accept()
    assert answers and "out.mp4" in answers[0][1] and dlg.result() != dlg.DialogCode.Accepted
    answers.reply = True
    dlg._accept()
    assert dlg.result() == dlg.DialogCode.Accepted and target.read_bytes() == b"old"
    assert os.path.isdir(tmp_path)


def test_the_menus_on_the_demo_propose_user_folders(make_viewer, user_dir, monkeypatch):
    """The issue's walk: the demo is open (its folder is the last folder), Tools › Evaluate
    and Tools › Train propose the demo, and their outputs go to the user folder, never
    under ``resources/demo``."""
    from avsol_viewer.constants import resources_dir
    from avsol_viewer.evaluate import commands as eval_commands
    from avsol_viewer.evaluate.eval_dialog import EvalDialog
    from avsol_viewer.train import commands as train_commands
    from avsol_viewer.train.train_dialog import TrainDialog

    v = make_viewer()
    demo = resources_dir() / "demo"
    v.win.settings.set_last_folder(demo)
    shown = []
    for cls in (EvalDialog, TrainDialog):
        monkeypatch.setattr(cls, "exec", lambda self: shown.append(self) or 0)   # the user cancels
    eval_commands.ask_evaluate(v.win.context)
    train_commands.ask_train(v.win.context)
    ev, tr = shown
    assert ev.request().data == str(demo) and ev.request().out == str(user_dir / "demo-report.json")
    assert tr.request().data == str(demo) and tr.request().out_dir == str(user_dir / "demo-runs")
    for d in shown:
        d.deleteLater()


def test_screenshot_and_contact_sheet_default_to_the_user_folder(make_viewer, user_dir, monkeypatch):
    """The other two outputs of the window follow the same rule: not the open video's
    folder (here the install's demo), not the working directory."""
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    from avsol_viewer.constants import resources_dir
    from avsol_viewer.evaluate import commands

    v = make_viewer()
    v.win.settings.set_last_folder(resources_dir() / "demo")
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda parent, title, default, *f: asked.append(default) or ("", ""))
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (3, True))
    v.win.ask_save_screenshot()
    commands.ask_contact_sheet(v.win.context)
    assert asked == [str(user_dir / "avsol.png"), str(user_dir / "worst.png")]
