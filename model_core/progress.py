"""Terminal progress for the CLI (eval, train, synth, infer): one mechanism.

On a terminal, a bar drawn by tqdm (a well-kept library: redraw rate, ETA, width, and
``write`` for lines that must not break the bar). Not on a terminal (a log file, a pipe,
the GUI's child process, tests): plain lines at most every ``every`` seconds and at the
end, so logs stay readable. tqdm is imported only to draw a bar; where it is missing the
plain lines are used on a terminal too. JSON-line progress for the GUI is separate (each
command's ``--jsonl``).
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

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
