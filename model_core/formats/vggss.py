"""Import VGG-SS (Chen et al. 2021) annotations into AVSOL-E v1 (SPEC 4, ``avsol import``).

``vggss.json`` is a list of ``{"file": "<ytid>_<start>", "class": ..., "bbox": [[x1, y1,
x2, y2], ...]}`` with coordinates in [0, 1]. The public file is not clean: it has sentinel
coordinates near -2.9e16, zero-area boxes and entries left with no usable box after
clipping. The field's evaluation code (EZ-VSL) clips every box to [0, 1] and paints
``mask[int(224*y1):int(224*y2), int(224*x1):int(224*x2)]``, so a degenerate box paints
nothing; we clip the same way and drop degenerate boxes (and entries left with none), which
gives the same GT maps while keeping AVSOL-E's invariant ``x1 < x2, y1 < y2``. Each entry
affected is reported on one line; the import never crashes on an entry.

Time convention: each entry is a 10 s clip (``<file>.mp4``) annotated on its middle
frame, so it becomes one 1 s segment [4.5, 5.5] with ``frame_time`` 5.0 and ``event`` true.
"""
from __future__ import annotations

import os
from typing import Any

from model_core.errors import AnnotationError
from model_core.formats._common import (
    VIDEO_EXTENSIONS, ImportReport, as_number, check_folder, clip_unit, read_json,
)
from model_core.formats.annotations import AvsolE, Box, Segment, VideoAnnotation

#: The annotated frame of a VGG-SS clip and the 1 s segment around it.
FRAME_TIME = 5.0
SEGMENT = (4.5, 5.5)
UNKNOWN_CLASS = "unknown"


def clean_box(raw: Any) -> tuple[Box | None, str | None]:
    """Clip one ``[x1, y1, x2, y2]`` to [0, 1]; returns ``(box or None, note or None)``.

    The note says what was repaired (clipped) or why the box was dropped.
    """
    if not isinstance(raw, (list, tuple)) or len(raw) != 4:
        return None, "not 4 numbers"
    values = [v for v in (as_number(x) for x in raw) if v is not None]
    if len(values) != 4:
        return None, "not 4 finite numbers"
    clipped = [clip_unit(v) for v in values]
    x1, y1, x2, y2 = (c for c, _ in clipped)
    changed = any(flag for _, flag in clipped)
    if x1 >= x2 or y1 >= y2:
        why = "outside the frame" if changed else "zero area" if (x1 == x2 or y1 == y2) else "x2 < x1 or y2 < y1"
        return None, why
    return Box(x1, y1, x2, y2), ("clipped to [0, 1]" if changed else None)


def _fmt(raw: Any) -> str:
    """A short rendering of a raw box for the report."""
    if isinstance(raw, (list, tuple)):
        parts = [f"{v:.4g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else repr(v)[:20]
                 for v in list(raw)[:6]]
        return "[" + ", ".join(parts) + (", ...]" if len(raw) > 6 else "]")
    return repr(raw)[:40]


def import_vggss(path: str | os.PathLike, videos_dir: str | os.PathLike | None = None
                 ) -> tuple[AvsolE, ImportReport]:
    """Convert ``vggss.json`` to AVSOL-E.

    Parameters
    ----------
    path : path-like
        The VGG-SS JSON file.
    videos_dir : path-like, optional
        Folder of the clips. A clip found there with another video extension (``.mkv``
        ...) is named as found; clips missing from it are listed in the report.

    Returns
    -------
    (AvsolE, ImportReport)
        One video per kept entry, named ``<file>.mp4``; classes are the sorted ``class``
        values of the kept entries (``"unknown"`` for an entry without one).

    Raises
    ------
    AnnotationError
        The file is missing, not UTF-8, not JSON, not a list, or has no usable entry.
    """
    data = read_json(path)
    folder = check_folder(videos_dir, "videos")
    if not isinstance(data, list):
        raise AnnotationError(path, ["expected a JSON list of {\"file\", \"class\", \"bbox\"} entries"])
    report = ImportReport(read=len(data), missing_videos=[] if folder is not None else None)
    videos: list[VideoAnnotation] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(data):
        file = entry.get("file") if isinstance(entry, dict) else None
        where = f"entry[{i}]" + (f" {file!r}" if isinstance(file, str) else "")
        if not isinstance(entry, dict):
            report.lines.append(f"{where}: dropped: not an object")
            continue
        if not isinstance(file, str) or not file.strip() or not file.isprintable() or "/" in file or "\\" in file:
            report.lines.append(f"{where}: dropped: 'file' is missing or not a file name")
            continue
        if file in seen:
            report.lines.append(f"{where}: dropped: duplicate of entry[{seen[file]}]")
            continue
        notes: list[str] = []
        category = entry.get("class")
        if not isinstance(category, str) or not category.strip():
            notes.append(f"no 'class', set to {UNKNOWN_CLASS!r}")
            category = UNKNOWN_CLASS
        raw_boxes = entry.get("bbox")
        if not isinstance(raw_boxes, list):
            report.lines.append(f"{where}: dropped: 'bbox' is missing or not a list")
            continue
        boxes: list[Box] = []
        for j, raw in enumerate(raw_boxes):
            box, note = clean_box(raw)
            if box is not None:
                boxes.append(box)
            if note is not None:
                notes.append(f"bbox[{j}] {_fmt(raw)} " + (note if box is not None else f"dropped ({note})"))
        if not boxes:
            why = "; ".join(notes) if notes else "no boxes"
            report.lines.append(f"{where}: dropped: no usable box ({why})")
            continue
        seen[file] = i
        name = report.media_name(folder, file, f"{file}.mp4", VIDEO_EXTENSIONS)
        report.note_repairs(where, notes)
        segment = Segment(SEGMENT[0], SEGMENT[1], FRAME_TIME, True, tuple(boxes))
        videos.append(VideoAnnotation(name, category, (segment,)))
    report.finish(len(videos), path, folder, f"no usable entry among {report.read}")
    classes = tuple(sorted({v.category for v in videos}))
    return AvsolE(classes, tuple(videos)), report
