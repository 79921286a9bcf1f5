"""A training run, live: loss per step and validation metrics per epoch (pyqtgraph),
progress, Cancel, Resume, and one click to load the checkpoints into the viewer.

The curves are fed by the child's JSON lines (``step``: the loss terms; ``epoch``: the
train means and the ``val`` dict); nothing here computes a metric. Each head gets its
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
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSplitter, QVBoxLayout, QWidget

from avsol_viewer.maps.head_style import head_colour, head_label

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

    def add_event(self, head: str, msg: dict) -> None:
        """One JSON line of ``avsol train --jsonl``."""
        kind = msg.get("event")
        if kind == "step" and "loss" in msg:
            xs, ys = self.steps.setdefault(head, ([], []))
            if xs and msg["step"] <= xs[-1]:        # a resumed run restarts from its last save
                keep = sum(1 for s in xs if s < msg["step"])
                del xs[keep:], ys[keep:]
            xs.append(msg["step"])
            ys.append(float(msg["loss"]))
            self._draw(("loss", head), self.loss_plot, xs, ys, f"{head_label(head, head)} train",
                       pg.mkPen(self._colour(head), width=2))
        elif kind == "epoch":
            v = (msg.get("val") or {}).get("loss")
            if isinstance(v, (int, float)) and "step" in msg:
                xs, ys = self.val.setdefault((head, "loss"), ([], []))
                if xs and msg["step"] <= xs[-1]:
                    keep = sum(1 for s in xs if s < msg["step"])
                    del xs[keep:], ys[keep:]
                xs.append(msg["step"])
                ys.append(float(v))
                self._draw(("val", head, "loss"), self.loss_plot, xs, ys, f"{head_label(head, head)} val",
                           pg.mkPen(self._colour(head), width=2, style=Qt.PenStyle.DashLine), symbol="o")
            for name, style, symbol in VAL_METRICS:
                v = (msg.get("val") or {}).get(name)
                if not isinstance(v, (int, float)):
                    continue
                xs, ys = self.val.setdefault((head, name), ([], []))
                if xs and msg["epoch"] <= xs[-1]:
                    keep = sum(1 for e in xs if e < msg["epoch"])
                    del xs[keep:], ys[keep:]
                xs.append(msg["epoch"])
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


class TrainPanel(QWidget):
    """Progress, curves and the run's buttons; ``load_requested(list)`` asks the window to
    load the checkpoints written."""

    load_requested = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.job = None
        self.checkpoints: list[str] = []
        self.status = QLabel("No training yet: Tools › Train model…")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bar = QProgressBar()
        self.bar.setVisible(False)
        self.cancel_button, self.resume_button = QPushButton("Cancel"), QPushButton("Resume")
        self.load_button = QPushButton("Load into viewer")
        for b in (self.cancel_button, self.resume_button, self.load_button):
            b.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button.clicked.connect(self.resume)
        self.load_button.clicked.connect(lambda: self.load_requested.emit(list(self.checkpoints)))
        self.curves = CurveWidget()
        # the status on its own line, the bar with the whole width left of the buttons: the
        # bar's text ("dnm: step 1234/5000, loss 0.0123") is never clipped
        top = QHBoxLayout()
        top.addWidget(self.bar, 1)
        top.addStretch(0)
        for b in (self.cancel_button, self.resume_button, self.load_button):
            top.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.status)
        lay.addLayout(top)
        lay.addWidget(self.curves, 1)

    def attach(self, job) -> None:
        if self.job is job:
            return
        self.job = job
        job.head_started.connect(self._on_head)
        job.event.connect(self._on_event)
        job.finished.connect(self._on_finished)

    def started(self, request) -> None:
        if not request.resume:
            self.curves.clear()
        self.checkpoints = []
        self.bar.setVisible(True)
        self.bar.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        self.resume_button.setEnabled(False)
        self.load_button.setEnabled(False)
        self.status.setStyleSheet("")

    def _on_head(self, head: str) -> None:
        self.status.setText(f"training {head}: starting (reading the data set, building the feature cache)…")

    def _on_event(self, head: str, msg: dict) -> None:
        self.curves.add_event(head, msg)
        kind = msg.get("event")
        if kind == "start":
            self.bar.setRange(0, max(1, int(msg.get("total_steps", 1))))
            self.bar.setValue(int(msg.get("step", 0)))
            resumed = f", resumed from {msg['resumed_from']}" if msg.get("resumed_from") else ""
            self.status.setText(f"training {head}: {msg.get('train_segments')} segments, {msg.get('epochs')} "
                                f"epochs on {msg.get('device')}{resumed}")
        elif kind == "step":
            self.bar.setValue(int(msg.get("step", 0)))
            text = f"{head_label(head, head)}: step %v/%m, loss {msg.get('loss', 0):.4f}"
            self.bar.setFormat(text)
            wide = self.bar.fontMetrics().horizontalAdvance(text.replace("%v", "000000").replace("%m", "000000"))
            if self.bar.minimumWidth() < wide + 24:
                self.bar.setMinimumWidth(wide + 24)
        elif kind == "cache":
            self.status.setText(f"training {head}: feature cache {msg.get('done')}/{msg.get('total')} videos")
        elif kind == "log":
            self.status.setText(f"{head}: {msg.get('text')}")

    def _on_finished(self, outcome: str, checkpoints: list, message: str) -> None:
        self.checkpoints = list(checkpoints)
        self.bar.setVisible(False)
        self.cancel_button.setEnabled(False)
        self.load_button.setEnabled(bool(checkpoints))
        self.resume_button.setEnabled(outcome != "done")
        names = ", ".join(checkpoints) or "none"
        if outcome == "done":
            self.status.setText(f"done: {names}")
        elif outcome == "cancelled":
            self.status.setText(f"cancelled; Resume continues from the last save (written: {names})")
        else:
            self.status.setText(f"training {outcome} (written: {names}):\n{message}")
            self.status.setStyleSheet("color: #e76f51;")

    def cancel(self) -> None:
        if self.job is not None and self.job.running():
            self.status.setText("cancelling: the run stops and keeps its last save…")
            self.job.cancel()

    def resume(self) -> None:
        if self.job is not None and not self.job.running() and self.job.request is not None:
            from dataclasses import replace

            self.started(replace(self.job.request, resume=True))
            self.job.resume()

    def shutdown(self) -> None:
        if self.job is not None and self.job.running():
            self.job.cancel()
            self.job.process.wait(30000)
