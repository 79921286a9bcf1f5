"""Standard output that never interrupts the work.

A consumer that closes stdout early (``avsol eval ... | head -1``) or a full device
(``> /dev/full``) must not stop a command that is halfway through writing its files: the
printed lines are a courtesy, the files are the result. Qt-free, torch-free.
"""
from __future__ import annotations

import os
import sys
from typing import Any, TextIO


class SafeStdout:
    """A wrapper of stdout that survives its reader going away.

    On ``BrokenPipeError`` (``| head -1``) or another ``OSError`` (``> /dev/full``) the
    stream is pointed at ``/dev/null`` and everything after is dropped, so the command
    finishes its work and writes its files. ``error`` holds the first non-pipe error, which
    the CLI reports in one line after the work.
    """

    def __init__(self, stream: TextIO):
        self._stream = stream
        self.closed_early = False
        self.error: OSError | None = None

    def _failed(self, exc: OSError) -> None:
        if not isinstance(exc, BrokenPipeError) and self.error is None:
            self.error = exc
        self.closed_early = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def write(self, text: str) -> int:
        if self.closed_early:
            return len(text)
        try:
            return self._stream.write(text)
        except OSError as exc:
            self._failed(exc)
            return len(text)

    def flush(self) -> None:
        if self.closed_early:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                pass
            return
        try:
            self._stream.flush()
        except OSError as exc:
            self._failed(exc)
            try:
                self._stream.flush()
            except (OSError, ValueError):
                pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def install_safe_stdout() -> SafeStdout:
    """Replace ``sys.stdout`` with a :class:`SafeStdout` (idempotent); return it."""
    if not isinstance(sys.stdout, SafeStdout):
        sys.stdout = SafeStdout(sys.stdout)
    return sys.stdout
