"""Read the AVE data set (Tian et al. 2018) as a folder (SPEC 4).

Layout: ``Annotations.txt``, ``trainSet.txt``, ``valSet.txt``, ``testSet.txt`` and the
videos ``<youtube_id>.mp4`` (in the folder itself, or in ``videos/`` or ``AVE/`` below it,
as the public archive and ``avsol synth`` lay them out). Each line is
``Category&VideoID&Quality&Start&End``.

Why the reader is careful:
- class names contain commas ("Race car, auto racing"), so lines are split on ``&`` only;
- copies in circulation differ: some start with a header line, some do not, some have CRLF
  line ends, a BOM or trailing blank lines; the header is *detected*;
- the public file has 4143 rows for 4097 videos: a video may have several rows (several
  events), so every row is kept and grouped by video;
- it has a zero-length row (Start == End): accepted, with a warning;
- a listed video that is not in the folder is reported by name (``missing_videos``), never
  silently dropped, so two evaluations can be checked for comparability.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from model_core import data_layout as layout
from model_core.errors import AnnotationError
from model_core.formats._common import read_text

#: AVE videos are 10 s long, cut in ten 1 s segments.
DURATION = 10
#: A file this much short of a whole second still has that second's segment (containers
#: end a frame or an audio packet early: a 10 s clip often probes as 9.96-9.99 s).
SEGMENT_TOLERANCE = 0.05


@dataclass(frozen=True)
class AveRow:
    """One line of an AVE annotation file: an event of ``category`` on [start, end) s."""

    category: str
    video_id: str
    quality: str
    start: float
    end: float
    line: int  # 1-based line number in Annotations.txt, for messages


@dataclass(frozen=True)
class AveDataset:
    """An AVE folder, read and checked.

    Attributes
    ----------
    root : Path
        The folder given.
    video_dir : Path
        Where the ``<id>.mp4`` files were looked for.
    classes : tuple of str
        Sorted unique categories of ``Annotations.txt`` (28 in the public set).
    rows : tuple of AveRow
        Every annotation row, in file order.
    videos : dict of str to tuple of AveRow
        Rows grouped by video id, in order of first appearance.
    splits : dict of str to tuple of str
        ``"train"``, ``"val"``, ``"test"`` to video ids; a split whose file is absent is
        missing from the dict (and named in ``warnings``).
    missing_videos : tuple of str
        Ids listed in the annotations (or a split) with no ``<id>.mp4`` in ``video_dir``.
    warnings : tuple of str
        Things accepted but worth telling the user (zero-length rows, absent split files,
        split entries not in the annotations, header detected ...).
    """

    root: Path
    video_dir: Path
    classes: tuple[str, ...]
    rows: tuple[AveRow, ...]
    videos: dict = field(hash=False)
    splits: dict = field(hash=False)
    missing_videos: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def video_path(self, video_id: str) -> Path | None:
        """Path of ``<video_id>.mp4``, or None if it is not in the folder."""
        p = self.video_dir / f"{video_id}.mp4"
        return p if p.is_file() else None

    def video_file(self, video_id: str) -> str:
        """The file name used for this video in maps files and AVSOL-E (``<id>.mp4``)."""
        return f"{video_id}.mp4"

    def category(self, video_id: str) -> str:
        """The category of the video's first row (``KeyError`` if not annotated)."""
        return self.videos[video_id][0].category

    def split_of(self, video_id: str) -> str | None:
        for name, ids in self.splits.items():
            if video_id in ids:
                return name
        return None

    def event_segments(self, video_id: str, duration: float | None = None) -> list[bool]:
        """Per 1 s segment k (covering [k, k+1)), whether any event of the video covers it.

        Which segments exist is :func:`segment_count` (the one rule the viewer, ``avsol
        eval`` and training share); ``duration`` None (file not probed): every annotated
        segment. An event row covers [Start, End): with integer times (the public file),
        segments Start .. End-1. A zero-length row covers nothing. ``KeyError`` if not
        annotated.
        """
        return event_flags(self.videos[video_id], duration)

    def present_videos(self) -> list[str]:
        """Annotated video ids whose file is in the folder, in order."""
        missing = set(self.missing_videos)
        return [v for v in self.videos if v not in missing]


def annotated_segments(rows) -> int:
    """Segments the annotation rows describe: AVE's 10, or more when a row ends later."""
    ends = [r.end for r in rows]
    return max(DURATION, math.ceil(max(ends) - 1e-9)) if ends else DURATION


def segment_count(duration: float | None, annotated: int | None = DURATION) -> int:
    """How many 1 s segments of a video exist: THE segmentation rule of AVE-style data.

    Segment ``k`` covers ``[k, k + 1)`` s, its frame is at ``k + 0.5`` and its audio is the
    1 s of the segment. A segment exists when the file covers it (to
    :data:`SEGMENT_TOLERANCE`: the frame and nearly all the audio are there) and the
    annotations describe it (``annotated``: AVE's 10, see :func:`annotated_segments`; None:
    no cap). A shorter file has fewer segments (a 7.5 s file: 7); a longer file's seconds
    past the annotations are neither events nor background (nobody looked), so they are
    not segments. ``duration`` None (unknown): ``annotated``.

    The viewer (``avsol_viewer``'s annotation finder), ``avsol eval`` (AVE mode) and
    training (its positives and feature cache) all count segments here.
    """
    if duration is None:
        if annotated is None:
            raise ValueError("segment_count needs a duration or an annotated count")
        return int(annotated)
    whole = max(0, int(math.floor(duration + SEGMENT_TOLERANCE)))
    return whole if annotated is None else min(int(annotated), whole)


def event_flags(rows, duration: float | None = None) -> list[bool]:
    """Per existing segment k (:func:`segment_count`), whether one of ``rows`` covers it."""
    n = segment_count(duration, annotated_segments(rows))
    return [any(r.start < k + 1 and k < r.end for r in rows) for k in range(n)]


def segments_from_flags(flags) -> tuple:
    """AVSOL-E-style :class:`~model_core.formats.annotations.Segment` objects for per-second
    event flags: ``[k, k + 1)``, frame at ``k + 0.5``, no boxes."""
    from model_core.formats.annotations import Segment

    return tuple(Segment(float(k), float(k + 1), k + 0.5, bool(f)) for k, f in enumerate(flags))


def _lines(text: str) -> list[str]:
    """Lines split on LF, CRLF or CR only (``str.splitlines`` also splits on form feeds
    and Unicode separators, which would shift the line numbers in messages)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _is_file_stem(video_id: str) -> bool:
    """Whether ``<video_id>.mp4`` names a file inside the folder (no separators, no
    control characters), so an annotation line can never point outside it."""
    return (bool(video_id) and video_id not in (".", "..") and video_id.isprintable()
            and not any(ch in video_id for ch in "/\\"))


def _parse_time(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _looks_like_header(fields: list[str]) -> bool:
    """A header names its columns: non-numeric times and a 'category'/'video' column."""
    if len(fields) != 5 or _parse_time(fields[3]) is not None or _parse_time(fields[4]) is not None:
        return False
    return "category" in fields[0].lower() or "video" in fields[1].lower()


def parse_annotation_lines(text: str, path: str | os.PathLike) -> tuple[list[AveRow], list[str], list[str]]:
    """Parse AVE lines; returns ``(rows, problems, warnings)``.

    Problems name the file and line (``Annotations.txt:12: ...``); blank lines anywhere
    are skipped; a header is recognised only on the first non-blank line.
    """
    name = Path(path).name
    rows: list[AveRow] = []
    problems: list[str] = []
    warnings: list[str] = []
    for lineno, fields in _records(text):
        where = f"{name}:{lineno}"
        if len(fields) != 5:
            problems.append(f"{where}: expected 5 fields 'Category&VideoID&Quality&Start&End', "
                            f"got {len(fields)}")
            continue
        category, video_id, quality, s_text, e_text = fields
        bad = []
        if not category:
            bad.append("empty category")
        if not video_id:
            bad.append("empty video id")
        elif not _is_file_stem(video_id):
            bad.append(f"video id {video_id!r} is not a file name")
        start, end = _parse_time(s_text), _parse_time(e_text)
        if start is None:
            bad.append(f"start {s_text!r} is not a number")
        if end is None:
            bad.append(f"end {e_text!r} is not a number")
        if start is not None and end is not None:
            if start < 0 or end > DURATION:
                bad.append(f"times {s_text}..{e_text} are outside the {DURATION} s video")
            elif start > end:
                bad.append(f"start {s_text} > end {e_text}")
        if bad or start is None or end is None:      # a None time is named in bad
            problems.append(f"{where}: {'; '.join(bad)}")
            continue
        if start == end:
            warnings.append(f"{where}: zero-length event ({video_id}, {s_text}..{e_text}) covers no segment")
        rows.append(AveRow(category, video_id, quality, start, end, lineno))
    return rows, problems, warnings


def _records(text: str):
    """(line number, fields split on '&') of every non-blank line, without a header line.

    Only the first non-blank line can be a header; copies in circulation differ, so it is
    detected, not assumed.
    """
    first = True
    for lineno, raw in enumerate(_lines(text), start=1):
        line = raw.strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split("&")]
        if first:
            first = False
            if _looks_like_header(fields):
                continue
        yield lineno, fields


def _parse_split(path: Path, problems: list[str]) -> list[str]:
    """Video ids of a split file: lines in the annotation format, or bare ids."""
    text = read_text(path)
    ids: list[str] = []
    for lineno, fields in _records(text):
        if len(fields) == 5 and _is_file_stem(fields[1]):
            ids.append(fields[1])
        elif len(fields) == 1 and " " not in fields[0] and _is_file_stem(fields[0]):
            ids.append(fields[0])
        else:
            problems.append(f"{path.name}:{lineno}: expected 'Category&VideoID&Quality&Start&End' "
                            f"or a video id")
    return ids


def load_ave(root: str | os.PathLike, video_dir: str | os.PathLike | None = None) -> AveDataset:
    """Read an AVE folder.

    Parameters
    ----------
    root : path-like
        Folder holding ``Annotations.txt`` and the split files.
    video_dir : path-like, optional
        Where the videos are; by default :func:`model_core.data_layout.video_folder`
        (``root/videos``, ``root/AVE``, whichever holds videos, or ``root`` itself).

    Raises
    ------
    AnnotationError
        Folder or ``Annotations.txt`` missing or unreadable, or bad lines (every bad line
        of every file listed with ``file:line``).
    """
    from model_core.input_protection import why_missing

    root = Path(root)
    if not root.is_dir():
        raise AnnotationError(root, [why_missing(root, "AVE folder not found") if not root.exists()
                                     else "not a folder"])
    ann_path = root / layout.AVE_ANNOTATIONS
    rows, problems, warnings = parse_annotation_lines(read_text(ann_path), ann_path)
    if not rows and not problems:
        problems.append(f"{layout.AVE_ANNOTATIONS}: no annotation rows")
    videos: dict[str, list[AveRow]] = {}
    for r in rows:
        videos.setdefault(r.video_id, []).append(r)
    for vid, vrows in videos.items():
        cats = sorted({r.category for r in vrows})
        if len(cats) > 1:
            warnings.append(f"{layout.AVE_ANNOTATIONS}: video {vid} has rows of several categories "
                            f"{cats}; its category is taken from line {vrows[0].line}")
    splits: dict[str, tuple[str, ...]] = {}
    for split, fname in layout.SPLIT_FILES.items():
        p = root / fname
        if not p.exists():
            warnings.append(f"{fname}: not found; no {split} split")
            continue
        ids = list(dict.fromkeys(_parse_split(p, problems)))
        unknown = [v for v in ids if v not in videos]
        if unknown:
            warnings.append(f"{fname}: {len(unknown)} video(s) not in {layout.AVE_ANNOTATIONS}: "
                            + ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else ""))
        splits[split] = tuple(ids)
    if problems:
        raise AnnotationError(root, problems)
    if video_dir is not None:
        vdir = Path(video_dir)
        if not vdir.is_dir():
            raise AnnotationError(vdir, ["videos folder not found"])
    else:
        vdir = layout.video_folder(root)
    listed = list(dict.fromkeys([*videos, *(v for ids in splits.values() for v in ids)]))
    present = {p.stem for p in vdir.glob("*.mp4")} if vdir.is_dir() else set()
    missing = tuple(v for v in listed if v not in present)
    if missing:
        warnings.append(f"{len(missing)} listed video(s) missing from {vdir}: "
                        + ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else ""))
    return AveDataset(
        root=root,
        video_dir=vdir,
        classes=tuple(sorted({r.category for r in rows})),
        rows=tuple(rows),
        videos={k: tuple(v) for k, v in videos.items()},
        splits=splits,
        missing_videos=missing,
        warnings=tuple(warnings),
    )
