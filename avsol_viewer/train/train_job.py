"""One training from the menu: ``avsol train --jsonl`` in a child process per head.

:class:`TrainRequest` is what the dialog asks (tests pass it straight to
:meth:`TrainJob.start`). Heads train one after the other, each to ``OUT/<head>.pt``.
Cancel is SIGTERM: the CLI keeps ``<head>.last.pt`` (saved every ``--save-every`` steps
and at each epoch's end) and exits 130; :meth:`TrainJob.resume` reruns the unfinished
heads with ``--resume``, so a cancelled run continues where its last save left it. The child
process, Cancel and the panel's signals are the viewer's one job base
(:class:`~avsol_viewer.jobs.job.CliJob`); the child's lines are read as the job protocol's
typed events (:mod:`model_core.jobs.events`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import Signal

from avsol_viewer.jobs.job import CliJob, Rate
from avsol_viewer.maps.head_style import head_label
from model_core.jobs.events import Event, Log, Progress, Start, Step

HEADS = ("avc", "cls", "dnm")


@dataclass(frozen=True)
class TrainRequest:
    """The options of ``avsol train`` the menu command sets."""

    data: str
    heads: tuple[str, ...]
    epochs: int
    out_dir: str
    batch_size: int = 32
    device: str = "auto"
    config: str = "demo"
    resume: bool = False
    cache: str | None = None                                # --cache (default DATA/.avsol-cache)
    # None: the command's declared default (a test's or a slow machine's settings)
    threads: int | None = None                              # --threads
    log_every: int | None = None                            # --log-every
    save_every: int | None = None                           # --save-every

    def checkpoint(self, head: str) -> str:
        return str(Path(self.out_dir) / f"{head}.pt")

    def args(self, head: str) -> list[str]:
        """The ``avsol train`` command line of ``head`` (without the program), written from
        the command's declared options so that every option sent exists."""
        from model_core.options.spec import to_argv
        from model_core.options.train import TrainCommand

        given = {name: value for name, value in (("log_every", self.log_every), ("save_every", self.save_every))
                 if value is not None}
        return to_argv(TrainCommand(data=self.data, head=head, epochs=self.epochs, out=self.checkpoint(head),
                                    device=self.device, batch_size=self.batch_size, config=self.config,
                                    resume=self.resume, cache=self.cache, threads=self.threads, jsonl=True,
                                    **given))


class TrainJob(CliJob):
    """Runs a :class:`TrainRequest`, head by head.

    Signals (besides :class:`~avsol_viewer.jobs.job.Job`'s)
    -------
    head_started(str) : a head's child has started.
    head_event(str, object) : an event of that head's child (``Start``, ``Step``, ``Epoch``, ...).
    finished(str, list, str) : outcome (``done``, ``cancelled``, ``failed``, ``crashed``),
        the checkpoints written so far, and the failed child's last stderr lines.
    """

    head_started = Signal(str)
    head_event = Signal(str, object)
    finished = Signal(str, list, str)

    cancelling_text = "cancelling: the run stops and keeps its last save…"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.request: TrainRequest | None = None
        self.todo: list[str] = []
        self.head: str | None = None
        self.done: list[str] = []
        self.rate = Rate()

    def start(self, request: TrainRequest) -> None:
        """Train ``request.heads`` in turn (a resumed request skips the heads already done)."""
        Path(request.out_dir).mkdir(parents=True, exist_ok=True)
        if not request.resume:
            self.done = []
        self.request = request
        self.todo = [h for h in request.heads if request.checkpoint(h) not in self.done]
        self._next()

    def _next(self) -> None:
        self.head = self.todo.pop(0)
        self.rate.reset()
        self.head_started.emit(self.head)
        self.status_changed.emit(f"training {self.head}: starting (reading the data set, building the feature cache)…")
        self.start_process(self.request.args(self.head))

    def cancel(self) -> None:
        self.todo = []
        super().cancel()

    def can_resume(self) -> bool:
        return self.request is not None and self.outcome not in (None, "done")

    def resume(self) -> None:
        """Continue a cancelled or failed run: the unfinished heads, with ``--resume``."""
        if self.request is None or self.running():
            return
        self.start(replace(self.request, resume=True))

    def on_event(self, event: Event) -> None:
        head = self.head or ""
        self.head_event.emit(head, event)
        if isinstance(event, Start):
            resumed = f", resumed from {event.resumed_from}" if event.resumed_from else ""
            self.status_changed.emit(f"training {head}: {event.train_segments} segments, {event.epochs} "
                                     f"epochs on {event.device}{resumed}")
            self.progressed.emit(event.step, max(1, event.total_steps or 1), None, "%p%")
        elif isinstance(event, Step):
            self.progressed.emit(event.step, event.total_steps, self.rate.eta(event.step, event.total_steps),
                                 f"{head_label(head, head)}: step %v/%m, loss {event.loss or 0:.4f}")
        elif isinstance(event, Progress) and event.stage == "cache":
            self.status_changed.emit(f"training {head}: feature cache {event.done}/{event.total} videos")
        elif isinstance(event, Log):
            self.status_changed.emit(f"{head}: {event.text}")

    def on_exit(self, outcome: str, message: str) -> bool | None:
        if outcome == "done":
            self.done.append(self.request.checkpoint(self.head))
            if self.todo:
                self._next()
                return False
        super().on_exit(outcome, message)
        self.finished.emit(outcome, list(self.done), message)
        return None
