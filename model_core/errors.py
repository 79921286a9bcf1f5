"""Error types that carry a user-facing message.

Every problem caused by the user's input (a file that is not media, an annotation file with
bad fields, a checkpoint from elsewhere) is raised as a subclass of :class:`InputError`.
The CLI turns these into a one-line message on stderr and exit status 2; the viewer shows
them in a dialog. Anything else is an internal error (exit 1).
"""
from __future__ import annotations

import os
from typing import Iterable


class InputError(Exception):
    """Bad input from the user. ``str(err)`` is the message shown, naming the file."""

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class MediaError(InputError):
    """A media file that cannot be probed or decoded (missing, empty, truncated, odd)."""


class CheckpointError(InputError):
    """A checkpoint that is not ours, truncated, or from an incompatible version."""


class BrokenInstallError(InputError):
    """A library that cannot be imported: a broken or mismatched install (see install_check)."""


class AnnotationError(InputError):
    """An annotation file with one or more problems; ``problems`` lists every one.

    Each problem is a string that starts with its location (video, segment, field, or line
    number) so a user can fix all of them in one pass.
    """

    def __init__(self, path: str | os.PathLike | None, problems: Iterable[str]):
        self.problems = list(problems) or ["unknown problem"]
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''}: " if n > 1 else ""
        shown = "; ".join(self.problems[:20])
        more = f"; ... and {n - 20} more" if n > 20 else ""
        super().__init__(path, head + shown + more)


class DeviceError(InputError):
    """A live input that cannot be used: no camera, no microphone, PortAudio missing, or a
    device that stopped delivering (unplugged mid-stream). ``str(err)`` is one line naming
    the device and the problem; live mode shows it and retries."""
