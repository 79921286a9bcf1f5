"""Helpers shared by the readers and importers: reading files, numbers, box clipping.

Every failure to read user input becomes an :class:`~model_core.errors.AnnotationError`
naming the file, so the CLI and the viewer can show it instead of a traceback.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from model_core.errors import AnnotationError
from model_core import media_extensions as extensions

#: Coordinates this far outside [0, 1] are rounding noise and are clipped silently.
TOLERANCE = 1e-6

#: Extensions tried, in order, when a media folder is searched for a video or a picture of
#: a given stem: the project's one list (model_core.media_extensions).
VIDEO_EXTENSIONS = extensions.VIDEO
IMAGE_EXTENSIONS = extensions.IMAGE


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes; a missing or unreadable file is an AnnotationError."""
    from model_core.input_protection import input_problem

    p = Path(path)
    problem = input_problem(p, "file")
    if problem is not None and not problem.startswith("empty file"):   # an empty file: its parser says why
        raise AnnotationError(p, [problem])
    try:
        return p.read_bytes()
    except OSError as exc:
        raise AnnotationError(p, [f"cannot read: {exc.strerror or exc}"]) from None


def read_text(path: str | os.PathLike) -> str:
    """The file as UTF-8 text with a leading BOM removed."""
    data = read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AnnotationError(path, [f"not UTF-8 text (byte {exc.start})"]) from None
    return text[1:] if text.startswith("\ufeff") else text


def read_json(path: str | os.PathLike):
    """Parse the file as JSON (strict: NaN and Infinity literals are refused)."""
    text = read_text(path)

    def _refuse(name: str):
        raise ValueError(f"{name} is not valid JSON")

    try:
        return json.loads(text, parse_constant=_refuse)
    except json.JSONDecodeError as exc:
        raise AnnotationError(path, [f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]) from None
    except (ValueError, RecursionError) as exc:
        raise AnnotationError(path, [f"not JSON: {exc}"]) from None


def as_number(value) -> float | None:
    """``value`` as a finite float, or None when it is not a finite JSON number (bools too)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        f = float(value)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def clip_unit(v: float, tolerance: float = TOLERANCE) -> tuple[float, bool]:
    """Clip ``v`` to [0, 1]; the flag says the change was larger than ``tolerance``."""
    c = min(1.0, max(0.0, v))
    return c, abs(c - v) > tolerance


def find_media(folder: Path, stem: str, extensions: tuple[str, ...]) -> str | None:
    """The name of the first ``stem + ext`` present in ``folder``, or None."""
    for ext in extensions:
        if (folder / (stem + ext)).is_file():
            return stem + ext
    return None


def check_folder(path: str | os.PathLike | None, what: str) -> Path | None:
    """``path`` as a Path after checking it is an existing folder (None passes through)."""
    if path is None:
        return None
    from model_core.input_protection import why_missing

    p = Path(path)
    if not p.is_dir():
        raise AnnotationError(p, [why_missing(p, f"{what} folder not found") if not p.exists()
                                  else f"{what} is not a folder"])
    return p


@dataclass
class ImportReport:
    """What an importer did to the public file: one line per entry repaired or dropped.

    Attributes
    ----------
    lines : list of str
        One human-readable line per entry affected (``"<entry>: dropped: <why>"``), then
        one line per listed video missing from the videos folder.
    read, written, repaired, dropped : int
        Entries read from the source; written to AVSOL-E; written but changed (boxes
        clipped or dropped); not written at all.
    missing_videos : list of str or None
        With a videos folder, the names of written videos absent from it; else None.
    """

    lines: list[str] = field(default_factory=list)
    read: int = 0
    written: int = 0
    repaired: int = 0
    dropped: int = 0
    missing_videos: list[str] | None = None

    def __iter__(self):
        return iter(self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    def summary(self) -> str:
        """The counts as one line, as ``avsol import`` prints them last."""
        text = (f"entries read: {self.read}, written: {self.written}, "
                f"repaired: {self.repaired}, dropped: {self.dropped}")
        if self.missing_videos is not None:
            text += f", videos missing from folder: {len(self.missing_videos)}"
        return text

    def media_name(self, folder: Path | None, stem: str, listed: str, extensions: tuple[str, ...]) -> str:
        """The video name an entry is written with: the first ``stem + ext`` of
        ``extensions`` present in ``folder``, else ``listed`` (recorded as missing when a
        folder was given, so the user learns which videos to fetch)."""
        if folder is None:
            return listed
        found = find_media(folder, stem, extensions)
        if found is not None:
            return found
        assert self.missing_videos is not None     # a list whenever a folder is given
        self.missing_videos.append(listed)
        return listed

    def note_repairs(self, where: str, notes: list[str]) -> None:
        """Count an entry written with changes and say what changed, in one line."""
        if notes:
            self.repaired += 1
            self.lines.append(f"{where}: repaired: " + "; ".join(notes))

    def finish(self, written: int, source: str | os.PathLike, folder: Path | None, nothing: str) -> None:
        """Set the final counts; with nothing written, raise an AnnotationError naming
        ``source`` (``nothing`` first, then the first reasons); else list the missing
        videos after the entries' lines."""
        self.written = written
        self.dropped = self.read - written
        if not written:
            raise AnnotationError(source, [nothing] + self.lines[:19])
        if self.missing_videos:
            self.lines.extend(f"missing from {folder}: {n}" for n in self.missing_videos)
