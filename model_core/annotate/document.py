"""An editable AVSOL-E v1 annotation set: videos -> 1 s segments -> boxes.

The reader's data classes (``model_core.formats.annotations``) are frozen so they can be
shared between threads; annotating needs the opposite, so this module keeps a mutable copy
(:class:`AnnotationDocument`) and converts at the edges:

* loading goes through the project's own reader (``avsol_e_from_dict``), so a malformed
  file is one :class:`~model_core.errors.AnnotationError` naming the file and every problem,
  and nothing is written;
* saving builds the JSON, checks it with the same reader BEFORE writing, and writes it
  atomically (``model_core.atomic``); the output is only ever a valid AVSOL-E v1 file;
* a second writer of the same output is refused with the first one's pid through the
  project's one writer lock (``model_core.outputs.lock.OutputLock``, see :meth:`claim`).

Every edit is a small command object (:class:`AddBox`, :class:`MoveBox`, :class:`Relabel`,
:class:`ToggleSounding`, :class:`DeleteBox`, :class:`CopyPrevious`, :class:`MarkNoSounding`)
with ``do()`` / ``undo()``, so the viewer wraps each in a ``QUndoStack`` command. A command
snapshots the one segment it changes (a handful of boxes) before and after, so undo and
redo restore exactly, box identities included, whatever the edit did. Each command records
who (the annotator) and when (UTC).

Several annotators: each box carries its ``annotator`` (None: unnamed, e.g. a set made
before this tool). A segment whose sounding boxes come from two or more annotators is
written in SPEC 4's ``annotators`` form (one list per annotator, named by
``annotator_names``); otherwise in the plain ``sounding`` form with ``annotator`` on each
box. The metrics read either form unchanged.

History of corrections: the boxes present when the set was loaded (or last saved) are the
baseline; saving appends to the set's top-level ``history`` list one entry per baseline
box that was changed or deleted (old box, new box or null, who, when), and one per box
added to an already annotated segment (old null), a field the reader tolerates (unknown
top-level keys are ignored). docs/annotate-format.md describes it.

Autosave and recovery: :mod:`model_core.annotate.autosave`.
"""
from __future__ import annotations

import copy
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from model_core.atomic import write_text
from model_core.errors import AnnotationError
from model_core.formats._common import read_json
from model_core.formats.annotations import AvsolE, Box, Segment, VideoAnnotation
from model_core.formats.avsol_e import FORMAT, VERSION, avsol_e_from_dict

if TYPE_CHECKING:   # imported where a lock is taken
    from model_core.outputs.lock import OutputLock

#: Category given to a video added without one (the reader wants it in ``classes``).
UNLABELLED = "unlabelled"
#: The top-level key holding the history of corrections.
HISTORY_KEY = "history"
#: The top-level key an autosave adds: which output it belongs to and the pending history.
AUTOSAVE_KEY = "autosave"

_ids = itertools.count(1)


def now_utc() -> str:
    """The time stamp commands and history entries record: ISO 8601, UTC, seconds."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class EditBox:
    """One box being edited: [x1, y1, x2, y2] in [0, 1] of the frame.

    ``sounding`` False: a visible object that makes no sound (SPEC 4 ``silent``).
    ``id`` identifies the box across edits (moves keep it; undo restores it); it is not
    written to the file.
    """

    x1: float
    y1: float
    x2: float
    y2: float
    label: str | None = None
    sounding: bool = True
    annotator: str | None = None
    id: int = field(default_factory=lambda: next(_ids), compare=False)

    @property
    def coords(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    def to_dict(self) -> dict:
        """The box as the history records it (and as the file does, plus ``sounding``)."""
        return {"box": list(self.coords), "label": self.label, "sounding": self.sounding,
                "annotator": self.annotator}

    def same_content(self, other: "EditBox") -> bool:
        return (self.coords, self.label, self.sounding, self.annotator) == (
            other.coords, other.label, other.sounding, other.annotator)


def check_coords(coords: Iterable[float]) -> tuple[float, float, float, float]:
    """``coords`` ordered and clipped to [0, 1]; ValueError for an empty or non-finite box.

    A drag may go right-to-left, so corners are sorted; the caller (the viewer) refuses a
    box that would collapse rather than writing a file the reader rejects.
    """
    x1, y1, x2, y2 = (float(c) for c in coords)
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise ValueError("box coordinates must be finite numbers")
    x1, x2 = sorted((min(1.0, max(0.0, x1)), min(1.0, max(0.0, x2))))
    y1, y2 = sorted((min(1.0, max(0.0, y1)), min(1.0, max(0.0, y2))))
    if x1 >= x2 or y1 >= y2:
        raise ValueError("empty box (zero width or height inside the frame)")
    return (x1, y1, x2, y2)


@dataclass
class EditSegment:
    """One 1 s segment: its boxes (every annotator's, sounding and silent) and flags.

    ``no_sounding`` lists the annotators (None: unnamed) who marked "no sounding object
    visible" here. ``annotator_order`` keeps the order of the file's ``annotators`` groups
    (so a round trip writes them in the same order, empty groups included).
    """

    start: float
    end: float
    frame_time: float
    event: bool = True
    boxes: list[EditBox] = field(default_factory=list)
    no_sounding: list[str | None] = field(default_factory=list)
    annotator_order: list[str | None] = field(default_factory=list)
    grouped: bool = False
    #: bumped by every command that changes the segment (the autosave reuses unchanged ones)
    version: int = field(default=0, compare=False)

    def box(self, box_id: int) -> EditBox:
        for b in self.boxes:
            if b.id == box_id:
                return b
        raise KeyError(f"no box {box_id} in segment at {self.frame_time:g} s")

    def boxes_of(self, annotator: str | None, sounding: bool | None = None) -> list[EditBox]:
        """The boxes of one annotator (all of theirs, or only sounding / only silent)."""
        return [b for b in self.boxes if b.annotator == annotator
                and (sounding is None or b.sounding == sounding)]

    @property
    def annotators(self) -> list[str | None]:
        """Everyone with a box or a mark here, in first-seen order."""
        seen: list[str | None] = list(self.annotator_order)
        for who in [b.annotator for b in self.boxes] + list(self.no_sounding):
            if who not in seen:
                seen.append(who)
        return seen

    @property
    def done(self) -> bool:
        """Annotated: a box, a "no sounding object" mark, or a background segment."""
        return bool(self.boxes) or bool(self.no_sounding) or not self.event

    def snapshot(self) -> dict:
        """A deep copy of the mutable state (boxes keep their ids), for undo."""
        return {"event": self.event, "boxes": copy.deepcopy(self.boxes),
                "no_sounding": list(self.no_sounding), "annotator_order": list(self.annotator_order),
                "grouped": self.grouped}

    def restore(self, state: dict) -> None:
        self.event = state["event"]
        self.boxes = copy.deepcopy(state["boxes"])
        self.no_sounding = list(state["no_sounding"])
        self.annotator_order = list(state["annotator_order"])
        self.grouped = state["grouped"]
        self.version += 1


@dataclass
class EditVideo:
    """The segments of one video, named as its file."""

    video: str
    category: str
    segments: list[EditSegment] = field(default_factory=list)

    @property
    def progress(self) -> tuple[int, int]:
        """(segments done, all segments), for the viewer's side list."""
        return sum(s.done for s in self.segments), len(self.segments)


# ----------------------------------------------------------------------------- the document

class AnnotationDocument:
    """An editable AVSOL-E v1 set.

    Attributes
    ----------
    classes : list of str
        The set's class list (video categories; offered as box labels).
    videos : list of EditVideo
        In file order.
    history : list of dict
        Corrections recorded by earlier saves (see the module docstring).
    path : Path or None
        Where it was loaded from / will be saved to.
    extra : dict
        Other top-level keys of the file, kept on save (provenance notes).
    revision : int
        Bumped by every do/undo; the viewer compares it with the saved one for "modified".
    """

    def __init__(self, classes: Iterable[str] = (), videos: Iterable[EditVideo] = (),
                 history: Iterable[dict] = (), path: str | os.PathLike | None = None,
                 extra: dict | None = None):
        self.classes: list[str] = list(classes)
        self.videos: list[EditVideo] = list(videos)
        self.history: list[dict] = list(history)
        self.path = None if path is None else Path(path)
        self.extra: dict = dict(extra or {})
        self.revision = 0
        self.saved_revision = 0
        self.pending_history: list[dict] = []   # carried over by a recovered autosave
        self._lock: OutputLock | None = None
        self._by_name: dict[str, EditVideo] = {}
        self._seg_cache: dict[int, tuple[EditSegment, int, dict]] = {}
        self.mark_baseline()

    # -- building
    @classmethod
    def load(cls, path: str | os.PathLike) -> "AnnotationDocument":
        """Read an AVSOL-E v1 file through the project's reader.

        Raises
        ------
        AnnotationError
            One message naming the file and every problem (nothing is written).
        """
        raw = read_json(path)
        return cls.from_dict(raw, path)

    @classmethod
    def from_dict(cls, raw: Any, path: str | os.PathLike | None = None) -> "AnnotationDocument":
        """Build from a parsed AVSOL-E document, validated by the reader first."""
        obj = avsol_e_from_dict(raw, path)
        extra = {k: v for k, v in raw.items()
                 if k not in ("format", "version", "classes", "videos", HISTORY_KEY, AUTOSAVE_KEY)}
        history = raw.get(HISTORY_KEY)
        if history is not None and not (isinstance(history, list) and all(isinstance(h, dict) for h in history)):
            raise AnnotationError(path, [f"{HISTORY_KEY}: expected a list of objects"])
        doc = cls.from_avsol_e(obj, raw_videos=raw["videos"], path=path, history=history or (), extra=extra)
        return doc

    @classmethod
    def from_avsol_e(cls, obj: AvsolE, raw_videos: list | None = None, path: str | os.PathLike | None = None,
                     history: Iterable[dict] = (), extra: dict | None = None) -> "AnnotationDocument":
        """Build from the reader's data classes (e.g. the VGG-SS or Flickr importers' output).

        ``raw_videos`` (the file's ``videos`` list, already validated) supplies the
        annotation tool's optional fields; without it boxes are unnamed, and an
        ``annotators`` segment's groups are named ``annotator 1``, ``annotator 2``, ...
        (Flickr's votes carry no names; agreement needs them told apart).
        """
        videos = []
        for vi, v in enumerate(obj.videos):
            rv = raw_videos[vi] if raw_videos is not None else None
            segs = []
            for si, s in enumerate(v.segments):
                rs = rv["segments"][si] if rv is not None else {}
                segs.append(_segment_from(s, rs))
            videos.append(EditVideo(v.video, v.category, segs))
        return cls(obj.classes, videos, history, path, extra)

    def add_video(self, video: str, n_segments: int, category: str | None = None) -> EditVideo:
        """Add a video with ``n_segments`` empty 1 s segments [k, k+1), frame at k + 0.5.

        For annotating a folder of videos with no annotations; ``category`` defaults to
        :data:`UNLABELLED` and joins ``classes`` if new. ValueError if the name exists.
        """
        if self.video(video) is not None:
            raise ValueError(f"{video!r} is already in the set")
        category = category or UNLABELLED
        if category not in self.classes:
            self.classes.append(category)
        v = EditVideo(video, category, [EditSegment(float(k), k + 1.0, k + 0.5) for k in range(int(n_segments))])
        self.videos.append(v)
        self.revision += 1
        return v

    # -- reading
    def video(self, name: str) -> EditVideo | None:
        v = self._by_name.get(name)
        if v is None or v.video != name or len(self._by_name) != len(self.videos):
            self._by_name = {}
            for x in self.videos:
                self._by_name.setdefault(x.video, x)
            v = self._by_name.get(name)
        return v

    def segment(self, video: str, index: int) -> EditSegment:
        v = self.video(video)
        if v is None:
            raise KeyError(f"no video {video!r} in the set")
        return v.segments[index]

    @property
    def annotators(self) -> list[str | None]:
        """Every annotator in the set, in first-seen order (None: unnamed)."""
        seen: list[str | None] = []
        for v in self.videos:
            for s in v.segments:
                for who in s.annotators:
                    if who not in seen:
                        seen.append(who)
        return seen

    def labels(self) -> list[str]:
        """Labels to offer: the class list, then box labels in use that are not classes."""
        out = list(self.classes)
        for v in self.videos:
            for s in v.segments:
                for b in s.boxes:
                    if b.label and b.label not in out:
                        out.append(b.label)
        return out

    def new_classes(self) -> list[str]:
        """Labels of the boxes added or changed since the last save (or the load) that are
        not in the class list yet, in first-seen order.

        A save adds them to ``classes`` (:meth:`save`): a label typed for a new object is a
        class of the set from then on, offered to every annotator and kept by the file even
        after the last box with it is deleted. Only edited boxes count, so opening a set and
        saving it without edits writes the same file (a set imported with free-text box
        labels keeps its class list). Blank labels are not classes (the reader refuses an
        empty class name)."""
        have = set(self.classes)
        out: list[str] = []
        for box_id, (video, index, _old) in self._base_box.items():
            new = next((b for b in self.segment(video, index).boxes if b.id == box_id), None)
            if new is not None and new.label and new.label.strip() and new.label not in have:
                have.add(new.label)
                out.append(new.label)
        return out

    def next_unannotated(self, video: str, index: int) -> tuple[str, int] | None:
        """The first segment not done after (video, index), wrapping around; None if all are."""
        order = [(v.video, k) for v in self.videos for k in range(len(v.segments))]
        try:
            start = order.index((video, index)) + 1
        except ValueError:
            start = 0
        for name, k in order[start:] + order[:start]:
            if not self.segment(name, k).done:
                return name, k
        return None

    @property
    def modified(self) -> bool:
        return self.revision != self.saved_revision

    # -- converting
    def to_dict(self, cached: bool = False, history: bool = True) -> dict:
        """The AVSOL-E v1 JSON of the set (history and kept top-level keys included).

        ``cached`` reuses the JSON of segments no command changed since the last call (the
        autosave: ~40 000 segments in a fraction of the time); a save builds everything
        afresh, so even a change made around the commands is written.
        """
        videos = []
        seg_json = self._cached_segment if cached else _segment_to_dict
        for v in self.videos:
            videos.append({"video": v.video, "category": v.category,
                           "segments": [seg_json(s) for s in v.segments]})
        out = {"format": FORMAT, "version": VERSION, "classes": list(self.classes), "videos": videos}
        out.update(self.extra)
        entries = self.history + self.pending_history + (self.corrections() if history else [])
        if entries:
            out[HISTORY_KEY] = entries
        return out

    def _cached_segment(self, seg: EditSegment) -> dict:
        hit = self._seg_cache.get(id(seg))
        if hit is not None and hit[0] is seg and hit[1] == seg.version:
            return hit[2]
        d = _segment_to_dict(seg)
        self._seg_cache[id(seg)] = (seg, seg.version, d)   # the segment kept: its id is not reused
        return d

    def to_avsol_e(self) -> AvsolE:
        """The set as the reader's data classes (what metrics and rescore use)."""
        d = self.to_dict()
        return avsol_e_from_dict(d, self.path)

    # -- history
    def mark_baseline(self) -> None:
        """Take the current boxes as the state corrections are measured from.

        Nothing is copied here (a set of 80 000 boxes would take seconds): the first
        command that changes a box after the baseline records the box as it was
        (:meth:`record_change`); every edit goes through a command, undo and redo included.
        """
        self._base_box: dict[int, tuple[str, int, EditBox | None]] = {}
        self._base_done: dict[tuple[str, int], bool] = {}
        self._touched: dict[int, tuple[str | None, str]] = {}

    def record_change(self, video: str, index: int, before: Iterable[EditBox], was_done: bool,
                      box_ids: Iterable[int], who: str | None, when: str) -> None:
        """Commands call this for the boxes they change: ``before`` is the segment's boxes
        just before the change; the first time a box (and a segment) is seen since the
        baseline, that is its baseline state. Remembers who changed each box last, and when."""
        self._base_done.setdefault((video, index), was_done)
        before = list(before)
        for box_id in box_ids:
            if box_id not in self._base_box:
                old = next((b for b in before if b.id == box_id), None)
                self._base_box[box_id] = (video, index, copy.deepcopy(old))
            self._touched[box_id] = (who, when)

    def corrections(self) -> list[dict]:
        """History entries since the baseline: each baseline box changed or deleted, and each
        box added to a segment that was already annotated (a missed object); boxes drawn in
        a segment nobody had annotated are new work, not corrections, and are not listed."""
        out = []
        for box_id, (video, index, old) in self._base_box.items():
            seg = self.segment(video, index)
            new = next((b for b in seg.boxes if b.id == box_id), None)
            if old is None:
                if new is None or not self._base_done.get((video, index)):
                    continue                     # drawn and undone, or new work in an empty segment
            elif new is not None and new.same_content(old):
                continue                         # changed and changed back
            who, when = self._touched.get(box_id, (None, now_utc()))
            out.append({"video": video, "frame_time": seg.frame_time,
                        "old": None if old is None else old.to_dict(),
                        "new": None if new is None else new.to_dict(), "who": who, "when": when})
        return out

    # -- writing
    def claim(self, output: str | os.PathLike | None = None, label: str = "annotations file"):
        """Take the writer lock on ``output`` for this session (the viewer holds it while open).

        Raises InputError naming the other writer's pid when one holds it.
        """
        from model_core.outputs.lock import OutputLock

        output = Path(output) if output is not None else self.path
        if output is None:
            raise ValueError("no output path to claim")
        if self._lock is not None and self._lock.output != output:
            self.release()
        if self._lock is None:
            self._lock = OutputLock(output, label).acquire()
        return self._lock

    def release(self) -> None:
        """Give the writer lock back (closing the set)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Check the set with the reader, then write it atomically; record corrections.

        Box labels not in the class list join it (:meth:`new_classes`), after the existing
        classes, in the order they are first used.

        The lock is taken for the write if this document does not hold it already (a
        second writer is refused with the first one's pid). Raises AnnotationError,
        naming ``path`` and the problem, when the set is not valid AVSOL-E v1 (the file on
        disk is then untouched).
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("no path to save to")
        d = self.to_dict()
        d["classes"] = classes = list(self.classes) + self.new_classes()   # box labels join the classes
        avsol_e_from_dict(d, target)           # refuse before writing
        held = self._lock is not None and self._lock.output == target
        if not held:
            self.claim(target)
        try:
            write_text(target, dumps_set(d))
        finally:
            if not held:
                self.release()
        self.history = list(d.get(HISTORY_KEY, []))
        self.classes = classes                 # only once written: a refused save changes nothing
        self.pending_history = []
        self.path = target
        self.mark_baseline()
        self.saved_revision = self.revision
        from model_core.annotate.autosave import discard_autosave  # autosave builds on this module

        discard_autosave(target)
        return target


def dumps_set(d: dict) -> str:
    """The set's JSON with one video (and one history entry) per line.

    Readable and diff-friendly like an indented file, but each line comes from json's C
    encoder: an indented dump goes through the pure-Python encoder, seconds on a set of
    thousands of videos. One call per video also lets other threads run between them
    (the autosave's writer thread encodes with it while the GUI thread draws).
    """
    items = []
    for key, value in d.items():
        k = json.dumps(key, ensure_ascii=False)
        if key in ("videos", HISTORY_KEY) and isinstance(value, list) and value:
            inner = ",\n  ".join(json.dumps(x, ensure_ascii=False) for x in value)
            items.append(f"{k}: [\n  {inner}\n ]")
        else:
            items.append(f"{k}: {json.dumps(value, ensure_ascii=False)}")
    return "{" + ",\n ".join(items) + "}\n"


def _box_from(b: Box, raw: Any, sounding: bool, annotator: str | None) -> EditBox:
    if isinstance(raw, dict) and raw.get("annotator") is not None:
        annotator = raw["annotator"]
    return EditBox(b.x1, b.y1, b.x2, b.y2, b.label, sounding, annotator)


def _segment_from(s: Segment, raw: dict) -> EditSegment:
    seg = EditSegment(s.start, s.end, s.frame_time, s.event)
    if s.annotators is None:
        raws = raw.get("sounding") or []
        seg.boxes = [_box_from(b, raws[i] if i < len(raws) else None, True, None) for i, b in enumerate(s.sounding)]
    else:
        seg.grouped = True
        names = raw.get("annotator_names") or [f"annotator {j + 1}" for j in range(len(s.annotators))]
        seg.annotator_order = list(names)
        for j, votes in enumerate(s.annotators):
            seg.boxes += [EditBox(b.x1, b.y1, b.x2, b.y2, b.label, True, names[j]) for b in votes]
    raws = raw.get("silent") or []
    seg.boxes += [_box_from(b, raws[i] if i < len(raws) else None, False, None) for i, b in enumerate(s.silent)]
    seg.no_sounding = list(raw.get("no_sounding") or [])
    return seg


def _box_dict(b: EditBox, with_annotator: bool = True) -> dict:
    out: dict = {"box": list(b.coords)}
    if b.label is not None:
        out["label"] = b.label
    if with_annotator and b.annotator is not None:
        out["annotator"] = b.annotator
    return out


def _segment_to_dict(s: EditSegment) -> dict:
    out: dict = {"start": s.start, "end": s.end, "frame_time": s.frame_time, "event": s.event}
    sounding = [b for b in s.boxes if b.sounding]
    who = []
    for b in sounding:
        if b.annotator not in who:
            who.append(b.annotator)
    if s.grouped or len(who) > 1:
        order = list(s.annotator_order)
        for name in who:
            if name not in order:
                order.append(name)
        names = [n if n is not None else "unnamed" for n in order]
        out["annotators"] = [[_box_dict(b, False) for b in sounding if b.annotator == name] for name in order]
        out["annotator_names"] = names
    else:
        out["sounding"] = [_box_dict(b) for b in sounding]
    silent = [_box_dict(b) for b in s.boxes if not b.sounding]
    if silent:
        out["silent"] = silent
    if s.no_sounding:
        out["no_sounding"] = list(s.no_sounding)
    return out


def from_import(obj: AvsolE) -> AnnotationDocument:
    """Start annotating from an importer's output (``import_vggss`` / ``import_flickr``)."""
    return AnnotationDocument.from_avsol_e(obj)


__all__ = [
    "AnnotationDocument", "EditVideo", "EditSegment", "EditBox", "from_import", "check_coords",
    "UNLABELLED", "VideoAnnotation",
]
