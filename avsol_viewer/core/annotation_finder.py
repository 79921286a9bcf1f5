"""Annotations of the open video: found beside it, or loaded from a file the user picks.

Looked for in the video's folder and its parent (``avsol synth`` puts videos in
``OUT/videos/`` and the annotations in ``OUT/``), in the order the data folder's rule
gives (:func:`model_core.data_layout.annotation_files`: an ``avsol-e.json`` that lists the
video's file name, then an AVE ``Annotations.txt`` with rows for the video's stem).
AVSOL-E gives sounding and silent boxes per 1 s segment; AVE gives only which 1 s
segments hold the event (shaded on the spectrogram, no boxes).

A file found automatically that fails to parse does not stop the video from opening: the
problem becomes a note for the status bar. A file the user loads explicitly raises.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from model_core.data_layout import AVSOL_E_FILE, annotation_files
from model_core.errors import AnnotationError, InputError
from model_core.formats.annotations import Segment


@dataclass(frozen=True)
class VideoSegments:
    """The annotated segments of one video and where they came from."""

    source: str                     # annotation file
    kind: str                       # "avsol-e" or "ave"
    category: str | None
    segments: tuple[Segment, ...]

    def at(self, t: float) -> tuple[int, Segment] | None:
        """The segment holding time ``t`` (``start <= t < end``) and its position."""
        for k, seg in enumerate(self.segments):
            if seg.start <= t < seg.end:
                return k, seg
        return None

    @property
    def has_boxes(self) -> bool:
        return any(s.sounding_boxes or s.silent for s in self.segments)


def _from_avsol_e(path: Path, video: Path) -> VideoSegments | None:
    from model_core.formats import load_avsol_e

    doc = load_avsol_e(path)
    entry = doc.get(video.name)
    if entry is None:  # a hand-written file may name the video by its stem
        entry = next((v for v in doc.videos if Path(v.video).stem == video.stem), None)
    if entry is None:
        return None
    return VideoSegments(str(path), "avsol-e", entry.category, tuple(entry.segments))


def _from_ave(path: Path, video: Path, duration: float) -> VideoSegments | None:
    from model_core.formats._common import read_text
    from model_core.formats.ave import event_flags, parse_annotation_lines, segments_from_flags

    rows, problems, _warnings = parse_annotation_lines(read_text(path), path)
    if problems:
        raise AnnotationError(path, problems)
    mine = [r for r in rows if r.video_id == video.stem]
    if not mine:
        return None
    # the one segmentation rule (shared with avsol eval and training)
    segs = segments_from_flags(event_flags(mine, duration if duration > 0 else None))
    return VideoSegments(str(path), "ave", mine[0].category, segs)


def load_annotations(path: str | os.PathLike, video: str | os.PathLike,
                     duration: float = 10.0) -> VideoSegments:
    """Read ``path`` (AVSOL-E JSON or AVE ``Annotations.txt``) for ``video``.

    Raises
    ------
    AnnotationError, InputError
        The file is unreadable or invalid, or does not list the video.
    """
    path, video = Path(path), Path(video)
    if path.suffix.lower() == ".json":
        found = _from_avsol_e(path, video)
    else:
        found = _from_ave(path, video, duration)
    if found is None:
        raise InputError(path, f"has no annotations for {video.name}")
    return found


def find_annotations(video: str | os.PathLike, duration: float = 10.0) -> tuple[VideoSegments | None, str]:
    """Annotations found beside ``video``, and a note (empty, or why a file was skipped)."""
    video = Path(video).resolve()
    notes = []
    for candidate in annotation_files(video.parent, video.parent.parent):
        try:
            found = (_from_avsol_e(candidate, video) if candidate.name == AVSOL_E_FILE
                     else _from_ave(candidate, video, duration))
        except InputError as exc:
            notes.append(f"annotations skipped: {exc}")
            continue
        if found is not None:
            return found, "; ".join(notes)
    return None, "; ".join(notes)
