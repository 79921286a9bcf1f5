"""The viewer's one job base: a long task with a status, progress, Cancel and maybe Resume.

:class:`Job` is what the one job panel (:mod:`.panel`) shows, whatever runs underneath:

- :class:`CliJob`: an ``avsol`` command in a child process
  (:class:`~avsol_viewer.jobs.cli_process.CliProcess`, QProcess), reporting the job
  protocol's events (:mod:`model_core.jobs.events`). Evaluate and Train subclass it and
  read the events as typed records, never dicts by string key.
- :class:`ThreadJob`: a worker thread with a ``progress(done, total)`` signal (the overlay
  export), so its progress is shown by the same panel.

A job says what it does through three signals; the panel owns no knowledge of evaluation,
training or export.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal

from avsol_viewer.jobs.cli_process import CliProcess
from model_core.jobs.events import Event


class Rate:
    """Seconds left at this run's pace: (time since the first progress) / (units done since)
    x (units left). A resumed run's earlier work does not count toward the pace."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.first: tuple[float, int] | None = None

    def reset(self) -> None:
        self.first = None

    def eta(self, done: int, total: int) -> float | None:
        now = self.clock()
        if self.first is None or done < self.first[1]:
            self.first = (now, done)
            return None
        t0, d0 = self.first
        if done == d0:
            return None
        return (now - t0) / (done - d0) * max(0, total - done)


class Job(QObject):
    """A long task the job panel shows.

    Signals
    -------
    status_changed(str) : a line saying what the job does now.
    progressed(int, int, object, str) : units done, units total, seconds left (None:
        unknown), the bar's text (Qt's ``%v``/``%m`` stand for done/total).
    ended(str, str) : outcome (``done``, ``cancelled``, ``failed``, ``crashed``) and, when it
        failed or crashed, the last lines it wrote.
    """

    status_changed = Signal(str)
    progressed = Signal(int, int, object, str)
    ended = Signal(str, str)

    #: the status while a cancel takes effect
    cancelling_text = "cancelling…"

    def running(self) -> bool:
        raise NotImplementedError

    def cancel(self) -> None:
        raise NotImplementedError

    def can_resume(self) -> bool:
        """Whether :meth:`resume` would continue the last run (the panel's Resume button)."""
        return False

    def resume(self) -> None:
        """Continue the last run where it stopped (jobs that can)."""


class CliJob(Job):
    """An ``avsol ... --jsonl`` child process whose stdout lines are the job protocol's events.

    Subclasses handle :meth:`on_event` (a typed event) and :meth:`on_exit` (the outcome, with
    the child's last stderr lines when it failed); :attr:`event` also carries every event to
    other listeners (the training curves).
    """

    event = Signal(object)

    #: stderr lines kept for the message of a failed or crashed child
    TAIL = 12

    def __init__(self, parent=None):
        super().__init__(parent)
        self.outcome: str | None = None
        self.message = ""
        self.process = CliProcess(self)
        self.process.event.connect(self._on_event)
        self.process.finished.connect(self._on_finished)

    def start_process(self, args: list[str]) -> None:
        """Run ``avsol ARGS``; :meth:`on_exit` and :attr:`ended` follow, whatever happens."""
        self.outcome, self.message = None, ""
        self.process.start(args)

    def running(self) -> bool:
        return self.process.running()

    def cancel(self) -> None:
        """SIGTERM: the command stops after its current batch and keeps what it did."""
        self.process.cancel()

    def _on_event(self, event: Event) -> None:
        self.on_event(event)
        self.event.emit(event)

    def on_event(self, event: Event) -> None:
        """One event of the child."""

    def _on_finished(self, code: int, outcome: str, tail: list) -> None:
        message = "\n".join(tail[-self.TAIL:]) if outcome in ("failed", "crashed") else ""
        if self.on_exit(outcome, message) is False:
            return                       # the job goes on (the next head of a training)
        self.ended.emit(self.outcome or outcome, self.message)

    def on_exit(self, outcome: str, message: str) -> bool | None:
        """The child ended; False when the job starts another child instead of ending."""
        self.outcome, self.message = outcome, message
        return None


class ThreadJob(Job):
    """A worker thread shown by the job panel: its ``progress(done, total)`` drives the bar
    (``text``: the bar's format), Cancel calls its ``request_stop()``; the owner, who knows
    what the worker's own result signals mean, calls :meth:`end`."""

    def __init__(self, worker, text: str = "%v/%m", parent=None):
        super().__init__(parent)
        self.worker, self.text = worker, text
        self.rate = Rate()
        self._ended = False
        worker.progress.connect(self._on_progress)

    def _on_progress(self, done: int, total: int) -> None:
        self.progressed.emit(done, total, self.rate.eta(done, total), self.text)

    def running(self) -> bool:
        return not self._ended and self.worker.isRunning()

    def cancel(self) -> None:
        self.worker.request_stop()

    def end(self, outcome: str, message: str = "") -> None:
        if not self._ended:
            self._ended = True
            self.ended.emit(outcome, message)
