"""One training from the menu: ``avsol train --jsonl`` in a child process per head.

:class:`TrainRequest` is what the dialog asks (tests pass it straight to
:meth:`TrainJob.start`). Heads train one after the other, each to ``OUT/<head>.pt``.
Cancel is SIGTERM: the CLI keeps ``<head>.last.pt`` (saved every ``--save-every`` steps
and at each epoch's end) and exits 130; :meth:`TrainJob.resume` reruns the unfinished
heads with ``--resume``, so a cancelled run continues where its last save left it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from avsol_viewer.cli_process import CliProcess

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
    extra: tuple[str, ...] = field(default_factory=tuple)   # more CLI options, verbatim (tests)

    def checkpoint(self, head: str) -> str:
        return str(Path(self.out_dir) / f"{head}.pt")

    def args(self, head: str) -> list[str]:
        """The ``avsol train`` command line of ``head`` (without the program), written from
        the command's declared options so that every option sent exists."""
        from model_core.options.spec import to_argv
        from model_core.options.train import TrainCommand

        return to_argv(TrainCommand(data=self.data, head=head, epochs=self.epochs, out=self.checkpoint(head),
                                    device=self.device, batch_size=self.batch_size, config=self.config,
                                    resume=self.resume, cache=self.cache, jsonl=True)) + list(self.extra)


class TrainJob(QObject):
    """Runs a :class:`TrainRequest`, head by head.

    Signals
    -------
    head_started(str) : a head's child has started.
    event(str, dict) : a JSON line of that head's child (``start``, ``step``, ``epoch``, ...).
    finished(str, list, str) : outcome (``done``, ``cancelled``, ``failed``, ``crashed``),
        the checkpoints written so far, and the failed child's last stderr lines.
    """

    head_started = Signal(str)
    event = Signal(str, dict)
    finished = Signal(str, list, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.request: TrainRequest | None = None
        self.todo: list[str] = []
        self.head: str | None = None
        self.done: list[str] = []
        self.outcome: str | None = None
        self.process = CliProcess(self)
        self.process.event.connect(lambda msg: self.event.emit(self.head or "", msg))
        self.process.finished.connect(self._on_finished)

    def start(self, request: TrainRequest) -> None:
        """Train ``request.heads`` in turn (a resumed request skips the heads already done)."""
        Path(request.out_dir).mkdir(parents=True, exist_ok=True)
        if not request.resume:
            self.done = []
        self.request = request
        self.todo = [h for h in request.heads if request.checkpoint(h) not in self.done]
        self.outcome = None
        self._next()

    def _next(self) -> None:
        self.head = self.todo.pop(0)
        self.head_started.emit(self.head)
        self.process.start(self.request.args(self.head))

    def running(self) -> bool:
        return self.process.running()

    def cancel(self) -> None:
        self.todo = []
        self.process.cancel()

    def resume(self) -> None:
        """Continue a cancelled or failed run: the unfinished heads, with ``--resume``."""
        if self.request is None or self.running():
            return
        self.start(replace(self.request, resume=True))

    def _on_finished(self, code: int, outcome: str, tail: list) -> None:
        if outcome == "done":
            self.done.append(self.request.checkpoint(self.head))
            if self.todo:
                self._next()
                return
        self.outcome = outcome
        message = "\n".join(tail[-12:]) if outcome in ("failed", "crashed") else ""
        self.finished.emit(outcome, list(self.done), message)
