"""Progress of an evaluation: a bar on a terminal, plain lines otherwise, JSON lines for
the GUI.

Human progress goes to stderr through the CLI's one progress mechanism
(:class:`model_core.progress.ProgressBar`: a tqdm bar on a terminal, otherwise a plain
line at most every few seconds and at the end, so logs stay readable).
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

from model_core.progress import ProgressBar


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
        self.t0 = time.monotonic()
        self._bar: ProgressBar | None = None
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
        self._open_bar()
        self.emit("progress", done=self.done, total=self.total, items=self.items, resumed=videos)

    def _open_bar(self) -> ProgressBar:
        if self._bar is None:
            self._bar = ProgressBar(self.total, self.label, "videos", stream=self.err, initial=self._resumed,
                                    quiet=self.quiet)
        return self._bar

    @property
    def tty(self) -> bool:
        """True when a terminal bar is drawn."""
        return self._open_bar().is_bar

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
        bar = self._open_bar()
        bar.update_to(self.done, detail=f"{self.items} items")
        if self.done >= self.total:
            bar.close()

    def warn(self, message: str) -> None:
        self._open_bar().write(f"{self.label}: {message}")
