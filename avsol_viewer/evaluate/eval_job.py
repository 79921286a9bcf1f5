"""One batch evaluation: ``avsol eval --jsonl`` in a child process, its events turned
into rows, progress and an outcome.

:class:`EvalRequest` is what the dialog asks (and what tests pass straight to
:meth:`EvalJob.start`). The child writes the report itself - also when cancelled, with
what it did - and keeps its items log, so :meth:`EvalJob.resume` (``--resume``) redoes
nothing already done. Rows stream in as ``item`` events (:mod:`model_core.jobs.events`);
when the child ends, the report on disk (if any) is read and becomes the authoritative set
of rows. The child process, Cancel and the panel's signals are the viewer's one job base
(:class:`~avsol_viewer.jobs.job.CliJob`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal

from avsol_viewer.jobs.job import CliJob
from model_core.jobs.events import Error, Event, Item, Progress


@dataclass(frozen=True)
class EvalRequest:
    """The options of ``avsol eval`` the menu command sets."""

    data: str
    checkpoints: tuple[str, ...]
    out: str
    annotations: str | None = None
    threshold: str = "median"
    device: str = "auto"
    batch_size: int = 16
    resume: bool = False
    csv: str | None = None
    threads: int | None = None          # --threads (None: torch's choice)

    def args(self) -> list[str]:
        """The ``avsol eval`` command line (without the program), written from the command's
        declared options so that every option sent exists."""
        from model_core.options.eval import EvalCommand
        from model_core.options.spec import to_argv

        return to_argv(EvalCommand(data=self.data, checkpoint=list(self.checkpoints), out=self.out,
                                   annotations=self.annotations or None, threshold=self.threshold,
                                   device=self.device, batch_size=self.batch_size, resume=self.resume,
                                   csv=self.csv or None, threads=self.threads, jsonl=True))


class EvalJob(CliJob):
    """Runs one :class:`EvalRequest` (and its resumptions).

    Signals (besides :class:`~avsol_viewer.jobs.job.Job`'s)
    -------
    progress(int, int, object) : videos done, videos total, ETA in seconds (None unknown).
    rows_added(list) : item rows received (``item`` events).
    error_row(object) : a video that could not be evaluated (an ``Error`` event).
    finished(str, object, str) : outcome (``done``, ``cancelled``, ``failed``, ``crashed``),
        the report dict read from disk (None if there is none) and a message (the child's
        last stderr lines when it failed).
    """

    progress = Signal(int, int, object)
    rows_added = Signal(list)
    error_row = Signal(object)
    finished = Signal(str, object, str)

    cancelling_text = "cancelling: the current video finishes, what is done is kept…"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.request: EvalRequest | None = None
        self.rows: list[dict[str, Any]] = []
        self.errors: list[Error] = []
        self.done = self.total = 0
        self.eta: float | None = None
        self.report: dict | None = None
        self._stamp: tuple | None = None

    def start(self, request: EvalRequest) -> None:
        """Start the child; rows received before are kept only when ``request.resume``."""
        if not request.resume:
            self.rows, self.errors = [], []
        self.request = request
        self.report, self.eta = None, None
        Path(request.out).parent.mkdir(parents=True, exist_ok=True)
        self._stamp = _stamp(request.out)
        self.start_process(request.args())

    def can_resume(self) -> bool:
        """A run that stopped before its report was complete (cancelled, failed, crashed)."""
        complete = bool(self.report and self.report.get("meta", {}).get("complete"))
        return self.request is not None and not complete

    def resume(self) -> None:
        """Continue the last request with ``--resume``."""
        if self.request is None or self.running():
            return
        self.start(replace(self.request, resume=True))

    def on_event(self, event: Event) -> None:
        if isinstance(event, Progress) and event.stage is None:
            self.done, self.total, self.eta = event.done, event.total, event.eta_s
            self.progress.emit(self.done, self.total, self.eta)
            self.progressed.emit(self.done, self.total, self.eta, f"{self.done}/{self.total} videos")
        elif isinstance(event, Item):
            self.rows.append(event.row)
            self.rows_added.emit([event.row])
        elif isinstance(event, Error):
            self.errors.append(event)
            self.error_row.emit(event)

    def on_exit(self, outcome: str, message: str) -> None:
        from model_core.errors import InputError
        from model_core.metrics.rescore import read_report

        super().on_exit(outcome, message)
        out = self.request.out if self.request else None
        # a report the child did not (re)write is an older run's: never shown as this one's
        if out and outcome != "crashed" and _stamp(out) not in (None, self._stamp):
            try:
                self.report = read_report(out)
                self.rows = list(self.report["items"])
            except InputError as exc:
                self.message = (self.message + "\n" + str(exc)).strip()
        self.finished.emit(outcome, self.report, self.message)


def _stamp(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
