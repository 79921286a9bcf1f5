"""Where a command's events go: the CLI's two sinks.

A sink is a callable taking one :class:`~model_core.jobs.events.Event`. The commands (train,
eval, synth, infer) send every event to their sinks and format nothing themselves:

- :class:`JsonlSink` (``--jsonl``): one JSON line per event on stdout, flushed at once, for
  the viewer's child processes and for scripts.
- :class:`HumanSink`: what a person reads. On a terminal, a bar drawn by tqdm (a well-kept
  library: redraw rate, ETA, width, and ``write`` for lines that must not break the bar).
  Not on a terminal (a log file, a pipe, tests): plain lines at most every ``every`` seconds
  and at the end, so logs stay readable. tqdm is imported only to draw a bar; where it is
  missing the plain lines are used on a terminal too.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from model_core.jobs.events import Done, Epoch, Error, Event, Log, Progress, Start, Step

Sink = Callable[[Event], None]

#: Seconds between plain progress lines.
PLAIN_EVERY_S = 5.0


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _tqdm():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


class ProgressBar:
    """Progress of ``total`` ``unit``s under ``label`` on ``stream`` (default stderr).

    Parameters
    ----------
    total : work to do (may be changed by :meth:`update_to`).
    label : what is running (``eval``, ``train``, ...), the bar's prefix.
    unit : what is counted (``videos``, ``frames``, ``steps``).
    initial : already done (a resumed run).
    quiet : nothing at all (``--quiet``, non-zero ranks).
    every : seconds between plain lines.
    """

    def __init__(self, total: int, label: str, unit: str, *, stream: TextIO | None = None,
                 initial: int = 0, quiet: bool = False, every: float = PLAIN_EVERY_S):
        self.total, self.label, self.unit, self.quiet, self.every = int(total), label, unit, quiet, every
        self.stream = stream if stream is not None else sys.stderr
        self.done = int(initial)
        self._initial = int(initial)
        self.t0 = time.monotonic()
        self._last = -1e9
        self._bar = None
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        tqdm = _tqdm() if tty and not quiet else None
        if tqdm is not None:
            self._bar = tqdm(total=self.total, initial=self.done, desc=label, unit=f" {unit}",
                             file=self.stream, dynamic_ncols=True, leave=True, mininterval=0.2)

    @property
    def is_bar(self) -> bool:
        """True when a terminal bar is drawn (else plain lines)."""
        return self._bar is not None

    def eta(self) -> float | None:
        """Seconds left at the rate of this run (what a resumed run did before does not count)."""
        new = self.done - self._initial
        if new <= 0:
            return None
        return (time.monotonic() - self.t0) / new * max(0, self.total - self.done)

    def update_to(self, done: int, total: int | None = None, detail: str = "") -> None:
        """``done`` of ``total`` now; ``detail`` is shown beside the count."""
        if total is not None and int(total) != self.total:
            self.total = int(total)
            if self._bar is not None:
                self._bar.total = self.total
        step = int(done) - self.done
        self.done = int(done)
        if self.quiet:
            return
        if self._bar is not None:
            if detail:
                self._bar.set_postfix_str(detail, refresh=False)
            self._bar.update(step)
            return
        now = time.monotonic()
        if now - self._last >= self.every or self.done >= self.total:
            self._last = now
            extra = f", {detail}" if detail else ""
            self.stream.write(f"{self.label}: {self.done}/{self.total} {self.unit}{extra}, "
                              f"{now - self.t0:.1f} s elapsed, {_clock(self.eta())} left\n")
            self.stream.flush()

    def write(self, line: str) -> None:
        """A line of its own (a warning, an epoch summary) without breaking the bar."""
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class JsonlSink:
    """``--jsonl``: each event as one JSON line on ``stream`` (default: stdout at the time of
    the event, so a test's captured stdout gets it), flushed at once."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream

    def __call__(self, event: Event) -> None:
        out = self.stream if self.stream is not None else sys.stdout
        out.write(event.to_json() + "\n")
        out.flush()


class HumanSink:
    """The events as a person reads them on ``stream`` (default stderr).

    ``progress`` events (the command's own ``unit``s) drive a :class:`ProgressBar`; a training
    run's ``step`` events drive a bar on a terminal and are one line each otherwise (every
    ``--log-every`` steps, as the run chose). ``start``, ``epoch``, ``log``, ``error`` and ``done``
    are lines of their own; a feature-cache ``progress`` is a line every 25 videos.
    ``total`` opens the bar at once (before the first event); ``quiet`` writes nothing. The
    bar ends with ``done`` or :meth:`close`, not when ``done`` reaches ``total``: a total may
    be an estimate that grows (infer's frame count).
    """

    def __init__(self, label: str, unit: str, *, stream: TextIO | None = None, quiet: bool = False,
                 total: int | None = None, every: float = PLAIN_EVERY_S):
        self.label, self.unit, self.quiet, self.every = label, unit, quiet, every
        self.stream = stream if stream is not None else sys.stderr
        self.bar: ProgressBar | None = None
        if total is not None:
            self._open(total)

    def _open(self, total: int, initial: int = 0) -> ProgressBar:
        if self.bar is None:
            self.bar = ProgressBar(total, self.label, self.unit, stream=self.stream, initial=initial,
                                   quiet=self.quiet, every=self.every)
        return self.bar

    def write(self, line: str) -> None:
        """A line of its own, above the bar if one is drawn."""
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(line)
        else:
            self.stream.write(line + "\n")
            self.stream.flush()

    def __call__(self, event: Event) -> None:
        if isinstance(event, Progress):
            self._progress(event)
        elif isinstance(event, Start):
            bar = self._open(event.total_steps or 0, event.step)
            self.write(start_line(event))
            if not bar.is_bar:        # plain: the step lines are the progress
                self.bar = None
        elif isinstance(event, Step):
            if self.bar is not None and self.bar.is_bar:
                self.bar.update_to(event.step, event.total_steps,
                                   f"epoch {event.epoch} loss {event.loss or 0:.4f} "
                                   f"{event.samples_per_s or 0:.1f} samples/s")
            else:
                self.write(step_line(event))
        elif isinstance(event, Error):
            self.write(f"{self.label}: {event.video}: {event.status}: {event.error}")
        elif isinstance(event, (Epoch, Log, Done)):
            line = epoch_line(event) if isinstance(event, Epoch) else log_line(event) if isinstance(
                event, Log) else done_line(event)
            if line:
                self.write(line)
            if isinstance(event, Done):
                self.close()

    def _progress(self, event: Progress) -> None:
        if event.stage == "cache":
            if event.done == event.total or event.done % 25 == 0:
                self.write(f"feature cache: {event.done}/{event.total} videos")
            return
        bar = self._open(event.total, event.resumed or 0)
        if event.resumed is not None:             # where a resumed run starts
            if event.resumed:
                self.write(f"{self.label}: resuming, {event.resumed} of {event.total} {self.unit} already done")
            return
        bar.update_to(event.done, event.total, "" if event.items is None else f"{event.items} items")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> "HumanSink":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def start_line(e: Start) -> str:
    return (f"training head {e.head} on {e.train_segments} segments ({e.val_segments} val), {e.epochs} "
            f"epochs x {e.steps_per_epoch} steps, batch {e.batch_size}, {e.device}"
            + (f" x {e.world_size}" if e.world_size > 1 else ""))


def step_line(e: Step) -> str:
    return (f"epoch {e.epoch} step {e.step}/{e.total_steps} loss {e.loss or 0:.4f} "
            f"lr {e.lr or 0:.2e} {e.samples_per_s or 0:.1f} samples/s")


def epoch_line(e: Epoch) -> str:
    val = " ".join(f"{k} {v:.4f}" for k, v in e.val.items() if isinstance(v, float))
    return f"epoch {e.epoch}/{e.epochs} train loss {e.train.get('loss', 0):.4f}" + (f" | val {val}" if val else "")


def log_line(e: Log) -> str:
    return ("warning: " if e.level == "warning" else "") + e.text


def done_line(e: Done) -> str | None:
    """Training's last line; the summaries of eval (it reads the report), synth and infer
    (a done without steps) are the command's own."""
    if e.out is None or e.steps is None:
        return None
    return f"wrote {e.out} ({e.steps} steps, {e.seconds or 0:.1f} s)"
