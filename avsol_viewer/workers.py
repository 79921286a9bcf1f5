"""A registry of the viewer's own threads, so that closing a window (and every test) can
check that none is left running.

Qt keeps no list of the threads a program started, and a ``QThread`` destroyed while it
runs aborts the process. Every long-lived or one-off worker of the viewer derives from
:class:`TrackedThread`; :func:`running_threads` lists those still running, which the
window's ``closeEvent`` and the tests' autouse fixture assert is empty.
"""
from __future__ import annotations

from avsol_viewer import qt_compat  # noqa: F401 - before any Qt drawing (see qt_compat)

import weakref

from PySide6.QtCore import QThread

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
