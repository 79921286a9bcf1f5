"""Tools › Train model…, split ask / do (SLEAP): :func:`ask_train` shows the dialog,
:func:`train` runs the request (tests call it), :func:`load_trained` loads the written
checkpoints into the viewer next to the others. Each takes the window's
:class:`~avsol_viewer.context.WindowContext`; the state is the feature ``"training"``."""
from __future__ import annotations

from avsol_viewer.jobs.feature import JobFeature
from avsol_viewer.train.train_job import TrainJob, TrainRequest
from avsol_viewer.train.train_panel import TrainPanel


class Training(JobFeature):
    """The window's training state: the panel in its dock and the job."""

    def __init__(self, ctx):
        super().__init__(ctx, "Training", "training_dock", TrainPanel(), TrainJob(ctx.widget))
        self.panel.load_requested.connect(lambda paths: load_trained(ctx, paths))


def install_train_action(ctx) -> Training:
    """Tools › Train model… (and View › the Training panel)."""
    from avsol_viewer.asks import install_quit_confirmation
    from avsol_viewer.evaluate.commands import tools_menu

    training = ctx.register("training", Training(ctx))
    install_quit_confirmation(ctx)            # "Training is running: stop it (resumable) and quit?"
    ctx.on_close(training.panel.shutdown)
    ctx.add_action("train", "&Train model…", "Ctrl+Shift+T", lambda: ask_train(ctx), menu=tools_menu(ctx))
    ctx.menu("View").addAction(training.dock.toggleViewAction())
    return training


def ask_train(ctx) -> None:
    from avsol_viewer.train.train_dialog import TrainDialog

    if ctx.feature("training").job.running():
        ctx.error("A training is running", "Cancel it first (Training panel).")
        return
    dlg = TrainDialog(ctx.settings.last_folder() or "", ctx.widget, settings=ctx.settings)
    if dlg.exec():
        train(ctx, dlg.request())


def train(ctx, request: TrainRequest) -> TrainJob:
    """Run ``avsol train`` for each head of ``request`` in a child process, curves live."""
    return ctx.feature("training").run(request)


def load_trained(ctx, paths) -> None:
    """Load the trained checkpoints into the viewer, next to the models already loaded."""
    for p in paths:
        ctx.load_checkpoint(p)
