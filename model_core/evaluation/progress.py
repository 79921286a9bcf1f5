"""Progress of an evaluation, as the job protocol's events (:mod:`model_core.jobs.events`).

The runner says what happened (a video done, a video that failed, its rows, a warning);
:class:`Progress` turns that into events and sends them to the CLI's sinks
(:mod:`model_core.jobs.sinks`): always the human one on stderr (a bar on a terminal, plain
lines otherwise), and with ``jsonl`` the JSON-line one on stdout, which the viewer reads from
its child process.
"""
from __future__ import annotations

import time
from typing import TextIO

from model_core.jobs.events import Error, Event, Item, Log
from model_core.jobs.events import Progress as ProgressEvent
from model_core.jobs.sinks import HumanSink, JsonlSink, Sink


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
        self.human = HumanSink(label, "videos", stream=err, quiet=quiet)
        self.sinks: list[Sink] = [self.human] + ([JsonlSink(out)] if jsonl else [])
        self.t0 = time.monotonic()
        self._resumed = 0
        self.done = 0
        self.items = 0

    def emit(self, event: Event) -> None:
        """``event`` to every sink."""
        for sink in self.sinks:
            sink(event)

    def resumed(self, videos: int, items: int) -> None:
        """Account for work an earlier run already did (the first event of a run)."""
        self._resumed = videos
        self.done, self.items = videos, items
        self.emit(ProgressEvent(done=self.done, total=self.total, items=self.items, resumed=videos))

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
        self.emit(ProgressEvent(done=self.done, total=self.total, items=self.items, video=video,
                                elapsed_s=round(elapsed, 2), eta_s=None if eta is None else round(eta, 1)))
        if self.done >= self.total:
            self.human.close()            # the last video: the bar's line ends here

    def rows(self, rows: list[dict]) -> None:
        """A video's rows as ``item`` events (for the viewer's table; the human sink shows none)."""
        if self.jsonl:
            for row in rows:
                self.emit(Item(row=row))

    def failed(self, video: str, status: str, error: str | None) -> None:
        """A video that could not be evaluated; the run goes on."""
        self.emit(Error(video=video, status=status, error=error))

    def warn(self, message: str) -> None:
        self.emit(Log(text=message, level="warning"))
