"""The ``avsol`` CLI as a child process that reports JSON lines (SLEAP's habit).

Batch evaluation and training run out of process: a crash, a CUDA error or an
out-of-memory kill of the child cannot take the window down, and Cancel is a signal.
:class:`CliProcess` starts ``sys.executable -m model_core ARGS`` with ``QProcess`` (the
same interpreter and the same ``model_core`` as the viewer's; in a frozen bundle, the
bundle's ``avsol`` program), reads stdout as it comes
(``readyReadStandardOutput``; no polling loop) and emits one :attr:`CliProcess.event` per
line, parsed into the job protocol's typed event (:func:`model_core.jobs.events.parse`);
stderr is kept as its last lines, shown when the child fails.

Cancel sends SIGTERM, which ``avsol eval`` and ``avsol train`` handle like Ctrl-C
(finish the batch, keep what is done, exit 130); if the child has not ended after
``kill_after_ms`` it is killed.
"""
from __future__ import annotations

import collections
import os
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

import model_core
from model_core.jobs.events import EventError, parse

#: Exit status of a cancelled command (SIGINT / SIGTERM handled), SPEC 9.
CANCELLED = 130
#: The folder that holds the ``model_core`` package the viewer runs: the child imports it too.
CODE_ROOT = str(Path(model_core.__file__).resolve().parents[1])


def cli_command() -> list[str]:
    """How to start ``avsol``: this interpreter with ``-m model_core``, or in a frozen
    bundle (where ``sys.executable`` is the viewer itself) the ``avsol`` program beside it."""
    if getattr(sys, "frozen", False):
        exe = Path(sys.executable).with_name("avsol.exe" if os.name == "nt" else "avsol")
        return [str(exe)]
    return [sys.executable, "-m", "model_core"]


class CliProcess(QObject):
    """One run of ``avsol ARGS`` in a child process.

    Signals
    -------
    event(object) : a :class:`~model_core.jobs.events.Event` read from stdout.
    text(str) : a stdout line that is not an event (kept for the log); a JSON line that is
        not an event of a known kind and version also adds its one-line reason to the tail.
    finished(int, str, list) : exit code (-1 if it crashed or could not start), the
        outcome (``done``, ``cancelled``, ``failed``, ``crashed``) and stderr's last lines.
    """

    event = Signal(object)
    text = Signal(str)
    finished = Signal(int, str, list)

    def __init__(self, parent=None, tail_lines: int = 20, kill_after_ms: int = 15000):
        super().__init__(parent)
        self.proc: QProcess | None = None
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
        self.kill_after_ms = kill_after_ms
        self.cancel_requested = False
        self.args: list[str] = []
        #: the program and its first arguments (tests put a fake CLI here)
        self.command: list[str] = cli_command()
        self._out = b""
        self._err = b""

    # -- running ------------------------------------------------------------------------
    def start(self, args: list[str]) -> None:
        """Start ``python -m model_core ARGS``; ``finished`` follows, whatever happens."""
        if self.running():
            raise RuntimeError("already running")
        self.args = list(args)
        self.cancel_requested = False
        self.stderr_tail.clear()
        self._out = self._err = b""
        p = self.proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        path = env.value("PYTHONPATH", "")
        env.insert("PYTHONPATH", CODE_ROOT + (os.pathsep + path if path else ""))
        env.insert("PYTHONUNBUFFERED", "1")
        env.remove("QT_QPA_PLATFORM")    # the CLI never uses Qt
        p.setProcessEnvironment(env)
        p.readyReadStandardOutput.connect(self._on_stdout)
        p.readyReadStandardError.connect(self._on_stderr)
        p.finished.connect(self._on_finished)
        p.errorOccurred.connect(self._on_error)
        p.start(self.command[0], [*self.command[1:], *self.args])

    def running(self) -> bool:
        return self.proc is not None and self.proc.state() != QProcess.ProcessState.NotRunning

    def cancel(self) -> None:
        """SIGTERM (the CLI stops after its current batch and keeps what it did); a kill
        if it has not ended after ``kill_after_ms``."""
        if not self.running():
            return
        self.cancel_requested = True
        self.proc.terminate()
        proc = self.proc
        QTimer.singleShot(self.kill_after_ms, lambda: proc.kill() if proc.state() != QProcess.ProcessState.NotRunning else None)

    def wait(self, ms: int = 30000) -> bool:
        """Block until the child ends (tests and closing only)."""
        return self.proc is None or self.proc.waitForFinished(ms)

    # -- reading ------------------------------------------------------------------------
    def _on_stdout(self) -> None:
        self._out += bytes(self.proc.readAllStandardOutput())
        *lines, self._out = self._out.split(b"\n")
        for raw in lines:
            self._line(raw)

    def _line(self, raw: bytes) -> None:
        line = raw.decode("utf-8", "replace").strip()
        if not line:
            return
        if line.startswith("{"):
            try:
                event = parse(line, "avsol")
            except EventError as exc:
                self.stderr_tail.append(str(exc))
            else:
                self.event.emit(event)
                return
        self.text.emit(line)

    def _on_stderr(self) -> None:
        self._err += bytes(self.proc.readAllStandardError())
        *lines, self._err = self._err.split(b"\n")
        for raw in lines:
            # a terminal bar's carriage returns: keep the last state of the line
            text = raw.decode("utf-8", "replace").split("\r")[-1].rstrip()
            if text:
                self.stderr_tail.append(text)

    def _flush(self) -> None:
        if self.proc is not None:
            self._out += bytes(self.proc.readAllStandardOutput())
            self._err += bytes(self.proc.readAllStandardError())
        if self._out:
            self._line(self._out)
            self._out = b""
        if self._err.strip():
            self.stderr_tail.append(self._err.decode("utf-8", "replace").split("\r")[-1].rstrip())
            self._err = b""

    def _on_finished(self, code: int, status) -> None:
        self._flush()
        if status == QProcess.ExitStatus.CrashExit:
            outcome, code = ("cancelled" if self.cancel_requested else "crashed"), -1
        elif code == 0:
            outcome = "done"
        elif code == CANCELLED or (self.cancel_requested and code in (-15, 143)):
            outcome = "cancelled"
        else:
            outcome = "failed"
        self.finished.emit(code, outcome, list(self.stderr_tail))

    def _on_error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.stderr_tail.append(f"could not start {self.command[0]}: {self.proc.errorString()}")
            self.finished.emit(-1, "crashed", list(self.stderr_tail))
