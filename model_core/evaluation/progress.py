"""Progress of an evaluation: a bar on a terminal, plain lines otherwise, JSON lines for
the GUI.

Human progress goes to stderr: a one-line bar redrawn in place when stderr is a terminal,
otherwise a plain line at most every few seconds (and at the end), so logs stay readable.
With ``jsonl`` every event also goes to stdout as one JSON object per line, flushed at
once (the viewer reads them from a child process): ``{"event": "progress", "done", "total",
"items", "video", "elapsed_s", "eta_s"}``, ``{"event": "item", ...row}``, ``{"event":
"error", "video", "status", "error"}``, ``{"event": "done", "report": path}``.
"""
from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

PLAIN_EVERY_S = 5.0
BAR_WIDTH = 28


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Progress:
    """Reports one rank's progress over ``total`` videos.

    Parameters
    ----------
    total : videos to go through (including those already done by a resumed run).
    jsonl : also write JSON-line events to ``out``.
    quiet : no human output (non-zero ranks).
    """

    def __init__(self, total: int, jsonl: bool = False, quiet: bool = False,
                 err: TextIO | None = None, out: TextIO | None = None, label: str = "eval"):
        self.total, self.jsonl, self.quiet, self.label = total, jsonl, quiet, label
        self.err = err if err is not None else sys.stderr
        self.out = out if out is not None else sys.stdout
        self.tty = bool(getattr(self.err, "isatty", lambda: False)())
        self.t0 = time.monotonic()
        self._last_plain = -1e9
        self._resumed = 0
        self.done = 0
        self.items = 0

    def emit(self, event: str, **fields: Any) -> None:
        """One JSON line on stdout (with ``jsonl``)."""
        if self.jsonl:
            self.out.write(json.dumps({"event": event, **fields}, ensure_ascii=False) + "\n")
            self.out.flush()

    def resumed(self, videos: int, items: int) -> None:
        """Account for work an earlier run already did."""
        self._resumed = videos
        self.done, self.items = videos, items
        if videos and not self.quiet:
            self.err.write(f"{self.label}: resuming, {videos} of {self.total} videos already done\n")
            self.err.flush()
        self.emit("progress", done=self.done, total=self.total, items=self.items, resumed=videos)

    def eta(self) -> float | None:
        new = self.done - self._resumed
        if new <= 0:
            return None
        return (time.monotonic() - self.t0) / new * (self.total - self.done)

    def advance(self, video: str, items: int) -> None:
        """One more video done (with ``items`` rows over every head)."""
        self.done += 1
        self.items += items
        elapsed = time.monotonic() - self.t0
        eta = self.eta()
        self.emit("progress", done=self.done, total=self.total, items=self.items, video=video,
                  elapsed_s=round(elapsed, 2), eta_s=None if eta is None else round(eta, 1))
        if self.quiet:
            return
        if self.tty:
            frac = self.done / self.total if self.total else 1.0
            fill = int(round(frac * BAR_WIDTH))
            self.err.write(f"\r{self.label} [{'#' * fill}{'.' * (BAR_WIDTH - fill)}] "
                           f"{self.done}/{self.total} videos  {_clock(elapsed)} elapsed, "
                           f"{_clock(eta)} left ")
            if self.done >= self.total:
                self.err.write("\n")
            self.err.flush()
        elif elapsed - self._last_plain >= PLAIN_EVERY_S or self.done >= self.total:
            self._last_plain = elapsed
            self.err.write(f"{self.label}: {self.done}/{self.total} videos, {self.items} items, "
                           f"{elapsed:.1f} s elapsed, {_clock(eta)} left\n")
            self.err.flush()

    def warn(self, message: str) -> None:
        if not self.quiet:
            self.err.write(("\n" if self.tty else "") + f"{self.label}: {message}\n")
            self.err.flush()
