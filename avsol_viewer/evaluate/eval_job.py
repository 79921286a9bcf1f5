"""One batch evaluation: ``avsol eval --jsonl`` in a child process, its events turned
into rows, progress and an outcome.

:class:`EvalRequest` is what the dialog asks (and what tests pass straight to
:meth:`EvalJob.start`). The child writes the report itself - also when cancelled, with
what it did - and keeps its items log, so :meth:`EvalJob.resume` (``--resume``) redoes
nothing already done. Rows stream in as ``item`` events; when the child ends, the
report on disk (if any) is read and becomes the authoritative set of rows.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from avsol_viewer.cli_process import CliProcess


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
    extra: tuple[str, ...] = field(default_factory=tuple)   # more CLI options, verbatim

    def args(self) -> list[str]:
        """The ``avsol eval`` command line (without the program), written from the command's
        declared options so that every option sent exists."""
        from model_core.options.eval import EvalCommand
        from model_core.options.spec import to_argv

        return to_argv(EvalCommand(data=self.data, checkpoint=list(self.checkpoints), out=self.out,
                                   annotations=self.annotations or None, threshold=self.threshold,
                                   device=self.device, batch_size=self.batch_size, resume=self.resume,
                                   csv=self.csv or None, jsonl=True)) + list(self.extra)


class EvalJob(QObject):
    """Runs one :class:`EvalRequest` (and its resumptions).

    Signals
    -------
    progress(int, int, object) : videos done, videos total, ETA in seconds (None unknown).
    rows_added(list) : item rows received (``item`` events).
    error_row(dict) : a video that could not be evaluated (``error`` event).
    finished(str, object, str) : outcome (``done``, ``cancelled``, ``failed``, ``crashed``),
        the report dict read from disk (None if there is none) and a message (the child's
        last stderr lines when it failed).
    """

    progress = Signal(int, int, object)
    rows_added = Signal(list)
    error_row = Signal(dict)
    finished = Signal(str, object, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.request: EvalRequest | None = None
        self.rows: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.done = self.total = 0
        self.eta: float | None = None
        self.outcome: str | None = None
        self.report: dict | None = None
        self.message = ""
        self._stamp: tuple | None = None
        self.process = CliProcess(self)
        self.process.event.connect(self._on_event)
        self.process.finished.connect(self._on_finished)

    def start(self, request: EvalRequest) -> None:
        """Start the child; rows received before are kept only when ``request.resume``."""
        if not request.resume:
            self.rows, self.errors = [], []
        self.request = request
        self.outcome, self.report, self.message, self.eta = None, None, "", None
        Path(request.out).parent.mkdir(parents=True, exist_ok=True)
        self._stamp = _stamp(request.out)
        self.process.start(request.args())

    def resume(self) -> None:
        """Continue the last request with ``--resume``."""
        if self.request is None or self.running():
            return
        self.start(replace(self.request, resume=True))

    def cancel(self) -> None:
        self.process.cancel()

    def running(self) -> bool:
        return self.process.running()

    def _on_event(self, msg: dict) -> None:
        kind = msg.get("event")
        if kind == "progress":
            self.done, self.total = int(msg.get("done", 0)), int(msg.get("total", 0))
            self.eta = msg.get("eta_s")
            self.progress.emit(self.done, self.total, self.eta)
        elif kind == "item":
            row = {k: v for k, v in msg.items() if k != "event"}
            self.rows.append(row)
            self.rows_added.emit([row])
        elif kind == "error":
            self.errors.append(msg)
            self.error_row.emit(msg)

    def _on_finished(self, code: int, outcome: str, tail: list) -> None:
        from model_core.errors import InputError
        from model_core.metrics.rescore import read_report

        self.outcome = outcome
        self.message = "\n".join(tail[-12:]) if outcome in ("failed", "crashed") else ""
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
