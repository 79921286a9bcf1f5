"""Data classes for AVSOL-E v1 annotations (SPEC 4): boxes per 1 s segment of a video.

They are frozen so that a loaded annotation set can be shared between threads (the viewer's
workers, the evaluation loop) without copies. Every instance handed out by the readers in
this package has been validated: boxes lie in [0, 1] with ``x1 < x2`` and ``y1 < y2``,
segments have ``start < end`` and ``start <= frame_time <= end``, and background segments
(``event`` false) carry no sounding boxes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Literal


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in fractions of the frame: ``0 <= x1 < x2 <= 1``, same for y.

    Fractions keep one annotation valid for every resolution of the same video; metrics
    turn them into pixel slices of a 224 x 224 mask (SPEC 5).
    """

    x1: float
    y1: float
    x2: float
    y2: float
    label: str | None = None

    @property
    def coords(self) -> tuple[float, float, float, float]:
        """``(x1, y1, x2, y2)``, the form the field's evaluation code takes."""
        return (self.x1, self.y1, self.x2, self.y2)

    @property
    def area(self) -> float:
        """Share of the frame covered by the box (0..1)."""
        return (self.x2 - self.x1) * (self.y2 - self.y1)


GtKind = Literal["union", "annotators"]


@dataclass(frozen=True)
class Segment:
    """One annotated 1 s segment of a video: one evaluation item (a frame + its audio).

    Attributes
    ----------
    start, end : float
        Segment bounds in seconds of the video.
    frame_time : float
        Time of the annotated frame (the audio window is centred on it, SPEC 3).
    event : bool
        False for a background segment: no audio-visual event, no sounding boxes.
    sounding : tuple of Box
        Objects producing the sound (empty when ``annotators`` is given).
    silent : tuple of Box
        Visible objects that make no sound (for silent-object confusion, SPEC 5).
    annotators : tuple of tuple of Box, or None
        Several annotators' boxes, one inner tuple per annotator, given *instead of*
        ``sounding``; the GT map is then the consensus ``min(1, sum_j b_j / 2)``.
    """

    start: float
    end: float
    frame_time: float
    event: bool = True
    sounding: tuple[Box, ...] = ()
    silent: tuple[Box, ...] = ()
    annotators: tuple[tuple[Box, ...], ...] | None = None

    @property
    def sounding_boxes(self) -> tuple[Box, ...]:
        """Every sounding box: ``sounding``, or all annotators' boxes flattened.

        What the pointing game, the union mask of pixel AP / ROC-AUC and the size
        breakdown use whichever form the segment has.
        """
        if self.annotators is None:
            return self.sounding
        return tuple(box for votes in self.annotators for box in votes)

    def gt_boxes_for_metrics(self) -> tuple[GtKind, tuple]:
        """How to build the GT map G of cIoU (SPEC 5).

        Returns
        -------
        ("union", boxes)
            G is the union of ``boxes`` (a tuple of :class:`Box`).
        ("annotators", groups)
            G = min(1, sum_j b_j / 2) where b_j is the union mask of ``groups[j]``
            (a tuple of tuples of :class:`Box`, one per annotator).
        """
        if self.annotators is None:
            return ("union", self.sounding)
        return ("annotators", self.annotators)


@dataclass(frozen=True)
class VideoAnnotation:
    """The annotated segments of one video, named as its file (``"RUhOCu3LNXM.mp4"``)."""

    video: str
    category: str
    segments: tuple[Segment, ...] = ()


@dataclass(frozen=True)
class AvsolE:
    """A whole AVSOL-E v1 file: the class list and the annotated videos, in file order."""

    classes: tuple[str, ...]
    videos: tuple[VideoAnnotation, ...]
    _index: dict = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        index: dict[str, VideoAnnotation] = {}
        for v in self.videos:
            index.setdefault(v.video, v)
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.videos)

    def __contains__(self, video: object) -> bool:
        return video in self._index

    def __getitem__(self, video: str) -> VideoAnnotation:
        """The annotation of ``video`` (its file name); ``KeyError`` if absent."""
        return self._index[video]

    def get(self, video: str) -> VideoAnnotation | None:
        """The annotation of ``video``, or None."""
        return self._index.get(video)

    @property
    def video_names(self) -> tuple[str, ...]:
        return tuple(v.video for v in self.videos)

    def items(self) -> Iterator[tuple[VideoAnnotation, Segment]]:
        """Every evaluation item as ``(video, segment)``, in file order."""
        for v in self.videos:
            for s in v.segments:
                yield v, s

    @property
    def n_items(self) -> int:
        return sum(len(v.segments) for v in self.videos)
