"""argparse types and the parser every command uses.

:func:`finite` and :func:`integer` refuse NaN, infinities and values outside a sane range
at parse time, so a bad number is one line before any work; :class:`OneLineParser` makes
every parse error one line on stderr instead of a usage block. Qt-free and torch-free:
imported by the CLI before anything heavy.
"""
from __future__ import annotations

import argparse
import math
from typing import Callable, NoReturn


def finite(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
           hi_open: bool = False) -> Callable[[str], float]:
    """An argparse ``type``: a finite float in [lo, hi] (``lo_open``/``hi_open``: open ends)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        if lo is not None and (value <= lo if lo_open else value < lo):
            raise argparse.ArgumentTypeError(f"must be {'>' if lo_open else '>='} {lo:g}, got {text}")
        if hi is not None and (value >= hi if hi_open else value > hi):
            raise argparse.ArgumentTypeError(f"must be {'<' if hi_open else '<='} {hi:g}, got {text}")
        return value

    parse.__name__ = "number"     # argparse names the type in its message: "invalid number value"
    return parse


def integer(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an integer in [lo, hi]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if lo is not None and value < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {value}")
        if hi is not None and value > hi:
            raise argparse.ArgumentTypeError(f"must be <= {hi}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit 2), not a usage block."""

    def error(self, message: str) -> NoReturn:  # noqa: D401 - argparse's API
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
