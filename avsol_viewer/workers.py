"""A registry of the viewer's own threads, so that closing a window (and every test) can
check that none is left running.

Qt keeps no list of the threads a program started, and a ``QThread`` destroyed while it
runs aborts the process. Every long-lived or one-off worker of the viewer derives from
:class:`TrackedThread`; :func:`running_threads` lists those still running, which the
window's ``closeEvent`` and the tests' autouse fixture assert is empty.
"""
from __future__ import annotations

from avsol_viewer import qt_compat  # noqa: F401 - before any Qt drawing (see qt_compat)

import threading
import weakref
from typing import Generic, TypeVar

from PySide6.QtCore import QThread

T = TypeVar("T")

_LIVE: "weakref.WeakSet[TrackedThread]" = weakref.WeakSet()


class TrackedThread(QThread):
    """A ``QThread`` that registers itself in the viewer's thread registry."""

    def __init__(self, name: str, parent=None):
        super().__init__(parent)
        self.setObjectName(name)
        _LIVE.add(self)

    def stop_and_wait(self, timeout_ms: int = 30000) -> bool:
        """Ask the thread to stop (:meth:`request_stop`), then wait for it; True if it ended."""
        self.request_stop()
        return self.wait(timeout_ms) if self.isRunning() else True

    def request_stop(self) -> None:  # pragma: no cover - overridden
        """Subclasses wake their loop and make it return."""
        self.requestInterruption()


class MailboxThread(TrackedThread, Generic[T]):
    """A worker fed through a one-slot mailbox: a newer request replaces one not taken yet
    (latest wins), so a thread that cannot keep up computes only what is still wanted
    (scrubbing, scrolling) and never works through a queue of stale requests.

    The GUI thread calls :meth:`post`; the worker's ``run`` loops on :meth:`take` (which
    returns None once :meth:`request_stop` was called, ending the loop) and, between the
    steps of a long job, checks :meth:`superseded` to drop work nobody waits for.
    """

    def __init__(self, name: str, parent=None):
        super().__init__(name, parent)
        self._cond = threading.Condition()
        self._mailbox: T | None = None
        self._stopping = False

    def post(self, item: T) -> None:
        """Replace the pending request with ``item`` and wake the worker (any thread)."""
        with self._cond:
            self._mailbox = item
            self._cond.notify()

    def request_stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()

    def take(self) -> T | None:
        """Wait for a request and take it out of the mailbox; None when the thread must stop."""
        with self._cond:
            while self._mailbox is None and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            item, self._mailbox = self._mailbox, None
            return item

    def superseded(self) -> bool:
        """A newer request waits, or the thread must stop: work in hand may be dropped."""
        with self._cond:
            return self._mailbox is not None or self._stopping


def running_threads() -> list[QThread]:
    """The viewer's threads that are still running."""
    out = []
    for t in list(_LIVE):
        try:
            if t.isRunning():
                out.append(t)
        except RuntimeError:  # the C++ object is gone: not running
            pass
    return out
