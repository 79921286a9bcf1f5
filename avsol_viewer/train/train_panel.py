"""A training run, live: loss per step and validation metrics per epoch (pyqtgraph),
progress, Cancel, Resume, and one click to load the checkpoints into the viewer.

The curves are fed by the child's events (:mod:`model_core.jobs.events`: ``Step``, the loss
terms; ``Epoch``, the train means and the ``val`` dict); nothing here computes a metric. The
status, bar, Cancel and Resume are the viewer's one job panel
(:class:`~avsol_viewer.jobs.panel.JobPanel`). Each head gets its
colour and title from :mod:`avsol_viewer.maps.head_style`, the same as in the viewer and
the success curves (a run writes ``OUT/<head>.pt``, so its checkpoint is named after its
head); the loss plot's x axis is the optimiser step, the validation plot's the epoch. Each
curve of one head differs from the others in line style AND symbol, so no two legend
entries look alike, and the axes show plain numbers (pyqtgraph's automatic SI prefix
turned a loss of 0.004 into "4 (x0.001)").
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QPushButton, QSplitter, QVBoxLayout, QWidget

from avsol_viewer.jobs.panel import JobOwner, JobPanel
from avsol_viewer.maps.head_style import head_colour, head_label
from model_core.jobs.events import Epoch, Event, Step

#: Validation metrics in [0, 1] drawn per epoch (when the run reports them), with their
#: line styles and symbols; the validation loss goes on the loss plot, at the epoch's last
#: step (dashed, round symbols; the training loss is a plain solid line).
VAL_METRICS = (("avc_acc", Qt.PenStyle.SolidLine, "o"), ("cls_acc", Qt.PenStyle.DashLine, "t"),
               ("ciou@0.5", Qt.PenStyle.DotLine, "s"))


def _plot(x: str, y: str) -> pg.PlotWidget:
    p = pg.PlotWidget()
    p.setLabel("bottom", x)
    p.setLabel("left", y)
    for side in ("left", "bottom"):
        p.getAxis(side).enableAutoSIPrefix(False)
    p.showGrid(x=True, y=True, alpha=0.2)
    p.addLegend(offset=(-10, 10), brush=pg.mkBrush(20, 20, 20, 190))
    p.setMenuEnabled(False)
    p.setMinimumHeight(150)
    return p


class CurveWidget(QWidget):
    """Loss per step and validation metrics per epoch, one colour per head.

    The two plots are built when first shown or drawn on, not with the window: they are a
    measurable part of the viewer's start-up (``benchmarks/README.md``) for a panel most
    sessions never open."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.steps: dict[str, tuple[list, list]] = {}
        self.val: dict[tuple[str, str], tuple[list, list]] = {}
        self._items: dict[tuple, pg.PlotDataItem] = {}
        self._plots: tuple[pg.PlotWidget, pg.PlotWidget] | None = None
        self._split = QSplitter(Qt.Orientation.Horizontal)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self._split)

    def _ensure_plots(self) -> tuple[pg.PlotWidget, pg.PlotWidget]:
        if self._plots is None:
            loss = _plot("step", "loss (solid: train, dashed: val)")
            val = _plot("epoch", "validation")
            val.setYRange(0, 1, padding=0.05)
            self._split.addWidget(loss)
            self._split.addWidget(val)
            self._plots = (loss, val)
        return self._plots

    @property
    def loss_plot(self) -> pg.PlotWidget:
        return self._ensure_plots()[0]

    @property
    def val_plot(self) -> pg.PlotWidget:
        return self._ensure_plots()[1]

    def built(self) -> bool:
        """Whether the plots exist yet."""
        return self._plots is not None

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._ensure_plots()
        super().showEvent(event)

    def clear(self) -> None:
        if self._plots is not None:
            self.loss_plot.clear()
            self.val_plot.clear()
        self.steps.clear()
        self.val.clear()
        self._items.clear()

    @staticmethod
    def _colour(head: str) -> str:
        return head_colour(head, head)

    def add_event(self, head: str, event: Event) -> None:
        """One event of ``avsol train --jsonl``."""
        if isinstance(event, Step) and event.loss is not None:
            xs, ys = self.steps.setdefault(head, ([], []))
            if xs and event.step <= xs[-1]:        # a resumed run restarts from its last save
                keep = sum(1 for s in xs if s < event.step)
                del xs[keep:], ys[keep:]
            xs.append(event.step)
            ys.append(float(event.loss))
            self._draw(("loss", head), self.loss_plot, xs, ys, f"{head_label(head, head)} train",
                       pg.mkPen(self._colour(head), width=2))
        elif isinstance(event, Epoch):
            v = event.val.get("loss")
            if isinstance(v, (int, float)) and event.step is not None:
                xs, ys = self.val.setdefault((head, "loss"), ([], []))
                if xs and event.step <= xs[-1]:
                    keep = sum(1 for s in xs if s < event.step)
                    del xs[keep:], ys[keep:]
                xs.append(event.step)
                ys.append(float(v))
                self._draw(("val", head, "loss"), self.loss_plot, xs, ys, f"{head_label(head, head)} val",
                           pg.mkPen(self._colour(head), width=2, style=Qt.PenStyle.DashLine), symbol="o")
            for name, style, symbol in VAL_METRICS:
                v = event.val.get(name)
                if not isinstance(v, (int, float)):
                    continue
                xs, ys = self.val.setdefault((head, name), ([], []))
                if xs and event.epoch <= xs[-1]:
                    keep = sum(1 for e in xs if e < event.epoch)
                    del xs[keep:], ys[keep:]
                xs.append(event.epoch)
                ys.append(float(v))
                self._draw(("val", head, name), self.val_plot, xs, ys, f"{head_label(head, head)} {name}",
                           pg.mkPen(self._colour(head), width=2, style=style), symbol=symbol)

    def _draw(self, key, plot, xs, ys, name, pen, symbol=None) -> None:
        item = self._items.get(key)
        if item is None:
            self._items[key] = plot.plot(xs, ys, name=name, pen=pen, symbol=symbol, symbolSize=7,
                                         symbolBrush=pen.color(), symbolPen=None)
        else:
            item.setData(xs, ys)


class TrainPanel(JobOwner, QWidget):
    """The job panel (status, bar, Cancel, Resume, and "Load into viewer") above the curves;
    ``load_requested(list)`` asks the window to load the checkpoints written."""

    load_requested = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.job = None
        self.checkpoints: list[str] = []
        self.job_view = JobPanel("No training yet: Tools › Train model…", stacked=True)
        self.load_button = QPushButton("Load into viewer")
        self.load_button.setEnabled(False)
        self.load_button.clicked.connect(lambda: self.load_requested.emit(list(self.checkpoints)))
        self.job_view.add_button(self.load_button)
        self.job_view.resume_requested.connect(self.resume)
        v = self.job_view
        self.status, self.bar, self.cancel_button, self.resume_button = v.status, v.bar, v.cancel_button, v.resume_button
        self.curves = CurveWidget()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.job_view)
        lay.addWidget(self.curves, 1)

    def attach(self, job) -> None:
        if self.job is job:
            return
        self.job = job
        self.job_view.attach(job)
        job.head_event.connect(self.curves.add_event)
        job.finished.connect(self._on_finished)

    def started(self, request) -> None:
        if not request.resume:
            self.curves.clear()
        self.checkpoints = []
        self.load_button.setEnabled(False)
        self.job_view.begin(self.status.text())

    def _on_finished(self, outcome: str, checkpoints: list, message: str) -> None:
        self.checkpoints = list(checkpoints)
        self.load_button.setEnabled(bool(checkpoints))
        names = ", ".join(checkpoints) or "none"
        if outcome == "done":
            self.job_view.set_status(f"done: {names}")
        elif outcome == "cancelled":
            self.job_view.set_status(f"cancelled; Resume continues from the last save (written: {names})")
        else:
            self.job_view.set_status(f"training {outcome} (written: {names}):\n{message}", failed=True)

    def shutdown(self) -> None:
        if self.job is not None and self.job.running():
            self.job.cancel()
            self.job.process.wait(30000)
