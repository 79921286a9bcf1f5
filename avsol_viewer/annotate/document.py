"""The editable annotation set the annotate mode works on.

Why here: the Qt-free editable document of issue 30 (``model_core.annotate``) is being
written at the same time; until it lands, this small stand-in keeps the viewer's duties in
one place and only uses the project's own mechanisms: the AVSOL-E reader/writer
(:mod:`model_core.formats.avsol_e`, which validates before it writes, atomically), the
output lock (:class:`model_core.outputs.OutputLock`: a second writer is refused with the
first one's pid) and the atomic JSON writer for the autosave.

Every edit replaces one segment's box list (:class:`SetBoxes`, do/undo): moves, resizes,
relabels, sounding/silent toggles, deletes and copy-forward are all that one command, so
undo cannot miss a case.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from model_core.atomic import write_json
from model_core.formats.annotations import AvsolE, Box, Segment, VideoAnnotation
from model_core.formats.avsol_e import avsol_e_from_dict, avsol_e_to_dict, load_avsol_e, save_avsol_e
from model_core.outputs import OutputLock

#: the annotator name used for boxes of a file that names none (SPEC 4's plain ``sounding``)
DEFAULT_ANNOTATOR = "annotator 1"
AUTOSAVE_SUFFIX = ".autosave.json"


@dataclass(frozen=True)
class EditBox:
    """One box being edited: fractions of the frame, label, sounding or silent, who drew it."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str | None = None
    sounding: bool = True
    annotator: str = DEFAULT_ANNOTATOR

    def clipped(self) -> "EditBox":
        x1, x2 = sorted((min(1.0, max(0.0, self.x1)), min(1.0, max(0.0, self.x2))))
        y1, y2 = sorted((min(1.0, max(0.0, self.y1)), min(1.0, max(0.0, self.y2))))
        return replace(self, x1=x1, y1=y1, x2=x2, y2=y2)


@dataclass
class SegmentState:
    """A 1 s segment: its boxes, and whether the annotator said "no sounding object visible"."""

    start: float
    end: float
    frame_time: float
    boxes: tuple[EditBox, ...] = ()
    no_object: bool = False
    touched: bool = False   # loaded from the file or edited: counts as annotated

    @property
    def done(self) -> bool:
        return self.touched or bool(self.boxes) or self.no_object


@dataclass(frozen=True)
class SetBoxes:
    """The one edit command: segment ``index`` of ``video`` goes from ``old`` to ``new``
    (box list and no-object flag), and back on undo."""

    video: str
    index: int
    old: tuple[tuple[EditBox, ...], bool]
    new: tuple[tuple[EditBox, ...], bool]
    text: str = "edit boxes"

    def do(self, doc: "AnnotationDocument") -> None:
        doc._set(self.video, self.index, *self.new)

    def undo(self, doc: "AnnotationDocument") -> None:
        doc._set(self.video, self.index, *self.old)


class AnnotationDocument:
    """An AVSOL-E set open for editing, written to ``path``.

    ``load`` raises :class:`~model_core.errors.AnnotationError` for a malformed file (every
    problem listed); nothing is written until :meth:`save`, which takes the output lock
    first (refused while another process writes the same file).
    """

    def __init__(self, path: str | os.PathLike, annotator: str = DEFAULT_ANNOTATOR,
                 classes: list[str] | None = None):
        self.path = Path(path)
        self.annotator = annotator
        self.classes: list[str] = list(classes or [])
        self.categories: dict[str, str] = {}
        self.videos: dict[str, list[SegmentState]] = {}
        self._lock: OutputLock | None = None
        self.dirty = False

    # -- loading ------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike, annotator: str = DEFAULT_ANNOTATOR) -> "AnnotationDocument":
        """The set in ``path`` (validated), or an empty one when it does not exist yet."""
        doc = cls(path, annotator)
        if doc.path.exists():
            doc._load(load_avsol_e(doc.path))
        return doc

    def _load(self, obj: AvsolE) -> None:
        self.classes = list(obj.classes)
        self.videos, self.categories = {}, {}
        for v in obj.videos:
            self.categories[v.video] = v.category
            self.videos[v.video] = [self._segment_state(s) for s in v.segments]

    @staticmethod
    def _segment_state(s: Segment) -> SegmentState:
        def edit(b: Box, sounding: bool, who: str) -> EditBox:
            return EditBox(b.x1, b.y1, b.x2, b.y2, b.label, sounding, who)

        boxes: list[EditBox] = []
        if s.annotators is not None:
            for k, votes in enumerate(s.annotators):
                boxes += [edit(b, True, f"annotator {k + 1}") for b in votes]
        else:
            boxes += [edit(b, True, DEFAULT_ANNOTATOR) for b in s.sounding]
        boxes += [edit(b, False, DEFAULT_ANNOTATOR) for b in s.silent]
        return SegmentState(s.start, s.end, s.frame_time, tuple(boxes), no_object=not s.event, touched=True)

    def ensure_video(self, video: str, duration: float, category: str | None = None) -> list[SegmentState]:
        """The segments of ``video``: those in the file, else one per whole second of ``duration``."""
        if video not in self.videos:
            n = max(1, int(duration + 1e-6))
            self.videos[video] = [SegmentState(float(k), float(k + 1), k + 0.5) for k in range(n)]
            self.categories[video] = category or (self.classes[0] if self.classes else "unknown")
        return self.videos[video]

    # -- editing ------------------------------------------------------------------------
    def segment(self, video: str, index: int) -> SegmentState:
        return self.videos[video][index]

    def command(self, video: str, index: int, boxes, no_object: bool | None = None,
                text: str = "edit boxes") -> SetBoxes:
        """The command taking segment ``index`` to ``boxes`` (not applied yet)."""
        s = self.segment(video, index)
        new_flag = s.no_object if no_object is None else no_object
        return SetBoxes(video, index, (s.boxes, s.no_object),
                        (tuple(b.clipped() for b in boxes), new_flag), text)

    def _set(self, video: str, index: int, boxes, no_object: bool) -> None:
        s = self.videos[video][index]
        s.boxes, s.no_object, s.touched = tuple(boxes), bool(no_object), True
        for b in boxes:
            if b.label and b.label not in self.classes:
                self.classes.append(b.label)
        self.dirty = True

    def progress(self, video: str) -> tuple[int, int]:
        """(segments annotated, segments) of ``video``; (0, 0) when it is not in the set."""
        segs = self.videos.get(video, [])
        return sum(s.done for s in segs), len(segs)

    def annotators(self) -> list[str]:
        names = {self.annotator}
        for segs in self.videos.values():
            for s in segs:
                names.update(b.annotator for b in s.boxes)
        return sorted(names)

    # -- writing ------------------------------------------------------------------------
    def to_avsol_e(self) -> AvsolE:
        """The set as validated data classes: one annotator's boxes as ``sounding``, several
        as SPEC 4's ``annotators`` form; a "no sounding object" segment is a background one."""
        videos = []
        for name, segs in self.videos.items():
            out = []
            for s in segs:
                if not s.done:
                    continue
                sounding = [b for b in s.boxes if b.sounding]
                silent = tuple(Box(b.x1, b.y1, b.x2, b.y2, b.label) for b in s.boxes if not b.sounding)
                who = sorted({b.annotator for b in sounding})
                event = not s.no_object
                if s.no_object:
                    out.append(Segment(s.start, s.end, s.frame_time, False, (), silent))
                elif len(who) > 1:
                    groups = tuple(tuple(Box(b.x1, b.y1, b.x2, b.y2, b.label) for b in sounding if b.annotator == w)
                                   for w in who)
                    out.append(Segment(s.start, s.end, s.frame_time, event, (), silent, groups))
                else:
                    out.append(Segment(s.start, s.end, s.frame_time, event,
                                       tuple(Box(b.x1, b.y1, b.x2, b.y2, b.label) for b in sounding), silent))
            videos.append(VideoAnnotation(name, self.categories.get(name, "unknown"), tuple(out)))
        classes = list(self.classes)
        for v in videos:
            if v.category not in classes:
                classes.append(v.category)
        return AvsolE(tuple(classes), tuple(videos))

    def lock(self) -> None:
        """Take the output lock (once); raises InputError naming the holder's pid."""
        if self._lock is None:
            self._lock = OutputLock(self.path, "annotations file").acquire()

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def save(self) -> None:
        """Validate and write atomically (the project's reader checks it first), then drop the autosave."""
        self.lock()
        save_avsol_e(self.to_avsol_e(), self.path)
        self.dirty = False
        try:
            self.autosave_path.unlink()
        except FileNotFoundError:
            pass

    # -- autosave -----------------------------------------------------------------------
    @property
    def autosave_path(self) -> Path:
        return self.path.with_name(self.path.name + AUTOSAVE_SUFFIX)

    def autosave(self) -> None:
        """Write the current state beside the output (temporary file + rename)."""
        write_json(self.autosave_path, avsol_e_to_dict(self.to_avsol_e()))

    def has_recovery(self) -> bool:
        a = self.autosave_path
        return a.exists() and (not self.path.exists() or a.stat().st_mtime >= self.path.stat().st_mtime)

    def recover(self) -> None:
        """Replace the state by the autosave's (validated like any set)."""
        from model_core.formats._common import read_json

        self._load(avsol_e_from_dict(read_json(self.autosave_path), self.autosave_path))
        self.dirty = True
