"""Tools › Train model…, split ask / do (SLEAP): :func:`ask_train` shows the dialog,
:func:`train` runs the request (tests call it), :func:`load_trained` loads the written
checkpoints into the viewer next to the others. State: ``window.training``."""
from __future__ import annotations

from avsol_viewer.train.train_job import TrainJob, TrainRequest
from avsol_viewer.train.train_panel import TrainPanel


class Training:
    """The window's training state: the panel in its dock and the job."""

    def __init__(self, window):
        self.panel = TrainPanel()
        self.dock = window.add_bottom_tab("Training", self.panel, "training_dock")
        self.job = TrainJob(window)
        self.panel.attach(self.job)
        self.panel.load_requested.connect(lambda paths: load_trained(window, paths))


def install_train_action(window) -> None:
    """Tools › Train model… (and View › the Training panel)."""
    from avsol_viewer.evaluate.commands import tools_menu
    from avsol_viewer.playback.transport import make_action

    from avsol_viewer.asks import install_quit_confirmation

    window.training = Training(window)
    install_quit_confirmation(window)         # "Training is running: stop it (resumable) and quit?"
    window.close_hooks.append(window.training.panel.shutdown)
    a = window.actions_by_name
    a["train"] = make_action(window, "&Train model…", "Ctrl+Shift+T", lambda: ask_train(window))
    tools_menu(window).addAction(a["train"])
    view = next(act.menu() for act in window.menuBar().actions() if act.text().replace("&", "") == "View")
    view.addAction(window.training.dock.toggleViewAction())


def ask_train(window) -> None:
    from avsol_viewer.train.train_dialog import TrainDialog

    if window.training.job.running():
        window._error("A training is running", "Cancel it first (Training panel).")
        return
    dlg = TrainDialog(window.settings.last_folder() or "", window, settings=window.settings)
    if dlg.exec():
        train(window, dlg.request())


def train(window, request: TrainRequest) -> TrainJob:
    """Run ``avsol train`` for each head of ``request`` in a child process, curves live."""
    t = window.training
    t.dock.show()
    t.dock.raise_()
    t.panel.started(request)
    t.job.start(request)
    return t.job


def load_trained(window, paths) -> None:
    """Load the trained checkpoints into the viewer, next to the models already loaded."""
    for p in paths:
        window.load_checkpoint(p)
