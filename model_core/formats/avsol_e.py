"""Read, validate and write AVSOL-E v1 JSON files (SPEC 4).

The validator walks the whole document and collects every problem with its location
(``videos[3] 'abc.mp4' segments[2].sounding[0].box: x1 >= x2``) before raising a single
:class:`~model_core.errors.AnnotationError`, so a user fixes a file in one pass instead of
one error per run. Coordinates a hair outside [0, 1] (``TOLERANCE``) are clipped silently.

Accepted forms beyond the canonical one, for hand-written files: a box may be a bare list
``[x1, y1, x2, y2]`` instead of ``{"box": [...], "label": ...}``; ``frame_time`` defaults
to the segment's midpoint; ``sounding``, ``silent`` default to empty. Unknown keys inside
videos, segments and boxes are reported (they are almost always typos, e.g. ``"sounding "``
would otherwise silently leave an event without boxes); unknown top-level keys are kept
out of the way and ignored (room for provenance notes, and the ``history`` of corrections
that ``model_core.annotate`` keeps, docs/annotate-format.md).

Fields written by the annotation tool (``model_core.annotate``), optional for every reader:
a box's ``annotator`` (a name, or null); a segment's ``annotator_names`` (with
``annotators`` only: one name per group, so an annotator who drew nothing there keeps a
name) and ``no_sounding`` (the annotators, null for an unnamed one, who marked "no sounding
object visible" in this segment). The data classes do not carry them; metrics ignore them.
"""
from __future__ import annotations

import os
from typing import Any

from model_core.atomic import write_json
from model_core.errors import AnnotationError
from model_core.formats._common import TOLERANCE, as_number, read_json
from model_core.formats.annotations import AvsolE, Box, Segment, VideoAnnotation

FORMAT = "avsol-e"
VERSION = 1

_VIDEO_KEYS = {"video", "category", "segments"}
_SEGMENT_KEYS = {"start", "end", "frame_time", "event", "sounding", "silent", "annotators",
                 "annotator_names", "no_sounding"}
_BOX_KEYS = {"box", "label", "annotator"}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


class _Checker:
    """Collects problems while converting a parsed document to data classes."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}" if where else message)

    def unknown_keys(self, where: str, d: dict, allowed: set[str]) -> None:
        for key in d:
            if key not in allowed:
                self.add(where, f"unknown field {key!r}")

    def typed(self, where: str, d: dict, key: str, kind: type | tuple[type, ...], expected: str) -> Any:
        """``d[key]`` when it is there and of ``kind``; else None, with the problem added
        (the missing field, or ``expected <expected>, got <its type>``)."""
        if key not in d:
            self.add(where, f"missing field '{key}'")
            return None
        value = d[key]
        if not isinstance(value, kind):
            self.add(f"{where}.{key}" if where else key, f"expected {expected}, got {_type_name(value)}")
            return None
        return value

    def number(self, where: str, d: dict, key: str, required: bool = True) -> float | None:
        if key not in d:
            if required:
                self.add(where, f"missing field '{key}'")
            return None
        value = as_number(d[key])
        if value is None:
            self.add(f"{where}.{key}", f"expected a finite number, got {_type_name(d[key])}")
        return value

    def box(self, where: str, raw: Any) -> Box | None:
        label = None
        if isinstance(raw, dict):
            self.unknown_keys(where, raw, _BOX_KEYS)
            if "label" in raw and raw["label"] is not None:
                if isinstance(raw["label"], str):
                    label = raw["label"]
                else:
                    self.add(f"{where}.label", f"expected a string or null, got {_type_name(raw['label'])}")
            who = raw.get("annotator")
            if who is not None and (not isinstance(who, str) or not who.strip()):
                self.add(f"{where}.annotator", f"expected a non-empty string or null, got {_type_name(who)}")
            if "box" not in raw:
                self.add(where, "missing field 'box'")
                return None
            where, coords = f"{where}.box", raw["box"]
        elif isinstance(raw, list):
            coords = raw
        else:
            self.add(where, f"expected a box object or [x1, y1, x2, y2], got {_type_name(raw)}")
            return None
        if not isinstance(coords, list) or len(coords) != 4:
            got = f"{len(coords)} items" if isinstance(coords, list) else _type_name(coords)
            self.add(where, f"expected 4 numbers [x1, y1, x2, y2], got {got}")
            return None
        values = [v for v in (as_number(c) for c in coords) if v is not None]
        if len(values) != 4:
            self.add(where, "expected 4 finite numbers [x1, y1, x2, y2]")
            return None
        ok = True
        for name, v in zip(("x1", "y1", "x2", "y2"), values):
            if v < -TOLERANCE or v > 1 + TOLERANCE:
                self.add(where, f"{name} = {v:g} is outside [0, 1]")
                ok = False
        clipped = [min(1.0, max(0.0, v)) for v in values]
        x1, y1, x2, y2 = clipped
        if x1 >= x2:
            self.add(where, "x1 >= x2 (empty box)" if x1 == x2 else "x1 > x2")
            ok = False
        if y1 >= y2:
            self.add(where, "y1 >= y2 (empty box)" if y1 == y2 else "y1 > y2")
            ok = False
        return Box(x1, y1, x2, y2, label) if ok else None

    def boxes(self, where: str, d: dict, key: str) -> tuple[Box, ...]:
        raw = d.get(key, [])
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.add(f"{where}.{key}", f"expected a list of boxes, got {_type_name(raw)}")
            return ()
        out = [self.box(f"{where}.{key}[{i}]", b) for i, b in enumerate(raw)]
        return tuple(b for b in out if b is not None)

    def annotators(self, where: str, raw: Any) -> tuple[tuple[Box, ...], ...] | None:
        if not isinstance(raw, list):
            self.add(f"{where}.annotators", f"expected a list of lists of boxes, got {_type_name(raw)}")
            return None
        groups = []
        for j, votes in enumerate(raw):
            w = f"{where}.annotators[{j}]"
            if not isinstance(votes, list):
                self.add(w, f"expected a list of boxes, got {_type_name(votes)}")
                continue
            boxes = [self.box(f"{w}[{i}]", b) for i, b in enumerate(votes)]
            groups.append(tuple(b for b in boxes if b is not None))
        return tuple(groups)

    def annotate_fields(self, where: str, raw: dict) -> None:
        """Check the annotation tool's optional segment fields (see the module docstring)."""
        names = raw.get("annotator_names")
        if names is not None:
            groups = raw.get("annotators")
            if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
                self.add(f"{where}.annotator_names", "expected a list of non-empty strings")
            elif not isinstance(groups, list):
                self.add(f"{where}.annotator_names", "given without 'annotators'")
            elif len(names) != len(groups):
                self.add(f"{where}.annotator_names",
                         f"{len(names)} names for {len(groups)} annotators' box lists")
            elif len(set(names)) != len(names):
                self.add(f"{where}.annotator_names", "a name repeats")
        marks = raw.get("no_sounding")
        if marks is not None and (not isinstance(marks, list) or not all(
                m is None or (isinstance(m, str) and m.strip()) for m in marks)):
            self.add(f"{where}.no_sounding", "expected a list of annotator names (null for an unnamed one)")

    def segment(self, where: str, raw: Any) -> Segment | None:
        if not isinstance(raw, dict):
            self.add(where, f"expected an object, got {_type_name(raw)}")
            return None
        n0 = len(self.problems)
        self.unknown_keys(where, raw, _SEGMENT_KEYS)
        start = self.number(where, raw, "start")
        end = self.number(where, raw, "end")
        frame_time = self.number(where, raw, "frame_time", required=False)
        event = self.typed(where, raw, "event", bool, "true or false")
        if start is not None and end is not None:
            if start < 0:
                self.add(f"{where}.start", f"negative time {start:g}")
            if start >= end:
                self.add(where, f"start {start:g} >= end {end:g}")
            elif frame_time is None and "frame_time" not in raw:
                frame_time = (start + end) / 2
            if frame_time is not None and not (start <= frame_time <= end):
                self.add(f"{where}.frame_time", f"{frame_time:g} is outside [start, end] = [{start:g}, {end:g}]")
        sounding = self.boxes(where, raw, "sounding")
        silent = self.boxes(where, raw, "silent")
        annotators = None
        if "annotators" in raw and raw["annotators"] is not None:
            if raw.get("sounding"):
                self.add(where, "give either 'sounding' or 'annotators', not both")
            annotators = self.annotators(where, raw["annotators"])
        self.annotate_fields(where, raw)
        has_sounding = bool(raw.get("sounding")) or bool(
            isinstance(raw.get("annotators"), list) and any(raw["annotators"]))
        if event is False and has_sounding:
            self.add(where, "event is false (background segment) but sounding boxes are given")
        # a field left None or not a bool added a problem above
        if (len(self.problems) > n0 or start is None or end is None or frame_time is None
                or not isinstance(event, bool)):
            return None
        return Segment(start, end, frame_time, event, sounding, silent, annotators)

    def video(self, where: str, raw: Any, classes: set[str] | None) -> VideoAnnotation | None:
        if not isinstance(raw, dict):
            self.add(where, f"expected an object, got {_type_name(raw)}")
            return None
        n0 = len(self.problems)
        name = raw.get("video")
        if "video" not in raw:
            self.add(where, "missing field 'video'")
        elif not isinstance(name, str) or not name.strip():
            self.add(f"{where}.video", f"expected a non-empty file name, got {_type_name(name)}")
            name = None
        elif not name.isprintable():
            self.add(f"{where}.video", f"{name!r} contains control characters")
        if isinstance(name, str):
            where = f"{where} {name!r}"
        self.unknown_keys(where, raw, _VIDEO_KEYS)
        category = self.typed(where, raw, "category", str, "a string")
        if category is not None and classes is not None and category not in classes:
            self.add(f"{where}.category", f"{category!r} is not in 'classes'")
        segments_raw = self.typed(where, raw, "segments", list, "a list")
        segments: list[Segment] = []
        if segments_raw is not None:
            seen: dict[float, int] = {}
            for k, s in enumerate(segments_raw):
                seg = self.segment(f"{where} segments[{k}]", s)
                if seg is None:
                    continue
                if seg.frame_time in seen:
                    self.add(f"{where} segments[{k}].frame_time",
                             f"{seg.frame_time:g} repeats segments[{seen[seg.frame_time]}]")
                seen.setdefault(seg.frame_time, k)
                segments.append(seg)
        if len(self.problems) > n0 or not isinstance(name, str) or not isinstance(category, str):
            return None
        return VideoAnnotation(name, category, tuple(segments))


def avsol_e_from_dict(d: Any, path: str | os.PathLike | None = None) -> AvsolE:
    """Validate a parsed AVSOL-E document and build the data classes.

    Parameters
    ----------
    d : object
        What ``json.load`` returned (anything: it is checked).
    path : path-like, optional
        Named in the error message.

    Raises
    ------
    AnnotationError
        Listing every problem found, each with its location.
    """
    c = _Checker()
    if not isinstance(d, dict):
        raise AnnotationError(path, [f"expected a JSON object with \"format\": \"{FORMAT}\", got {_type_name(d)}"])
    if d.get("format") != FORMAT:
        got = repr(d["format"]) if "format" in d else "missing"
        c.add("format", f"expected {FORMAT!r}, got {got} (not an AVSOL-E file?)")
    version = d.get("version")
    if "version" not in d:
        c.add("", "missing field 'version'")
    elif isinstance(version, bool) or version != VERSION:
        c.add("version", f"unsupported version {version!r}; this program reads version {VERSION}")
    classes_raw = c.typed("", d, "classes", list, "a list of strings")
    classes: list[str] | None = None
    if classes_raw is not None:
        classes = []
        for i, name in enumerate(classes_raw):
            if not isinstance(name, str) or not name.strip():
                c.add(f"classes[{i}]", f"expected a non-empty string, got {_type_name(name)}")
            elif name in classes:
                c.add(f"classes[{i}]", f"duplicate class {name!r}")
            else:
                classes.append(name)
    videos_raw = c.typed("", d, "videos", list, "a list")
    videos: list[VideoAnnotation] = []
    if videos_raw is not None:
        first: dict[str, int] = {}
        class_set = None if classes is None else set(classes)
        for i, v in enumerate(videos_raw):
            name = v.get("video") if isinstance(v, dict) else None
            if isinstance(name, str) and name in first:
                c.add(f"videos[{i}] {name!r}", f"duplicate video name (also videos[{first[name]}])")
            elif isinstance(name, str):
                first[name] = i
            video = c.video(f"videos[{i}]", v, class_set)
            if video is not None:
                videos.append(video)
    if c.problems:
        raise AnnotationError(path, c.problems)
    assert classes is not None          # a missing or bad class list added a problem
    return AvsolE(tuple(classes), tuple(videos))


def load_avsol_e(path: str | os.PathLike) -> AvsolE:
    """Read and validate an AVSOL-E v1 file.

    Raises
    ------
    AnnotationError
        File missing, not UTF-8, not JSON, or any problem in its content (all listed).
    """
    return avsol_e_from_dict(read_json(path), path)


def _box_to_dict(box: Box) -> dict:
    out: dict = {"box": [box.x1, box.y1, box.x2, box.y2]}
    if box.label is not None:
        out["label"] = box.label
    return out


def avsol_e_to_dict(obj: AvsolE) -> dict:
    """The canonical JSON form of ``obj`` (boxes as objects, ``silent`` only when present)."""
    videos = []
    for v in obj.videos:
        segments = []
        for s in v.segments:
            seg: dict = {"start": s.start, "end": s.end, "frame_time": s.frame_time, "event": s.event}
            if s.annotators is None:
                seg["sounding"] = [_box_to_dict(b) for b in s.sounding]
            else:
                seg["annotators"] = [[_box_to_dict(b) for b in votes] for votes in s.annotators]
            if s.silent:
                seg["silent"] = [_box_to_dict(b) for b in s.silent]
            segments.append(seg)
        videos.append({"video": v.video, "category": v.category, "segments": segments})
    return {"format": FORMAT, "version": VERSION, "classes": list(obj.classes), "videos": videos}


def save_avsol_e(obj: AvsolE, path: str | os.PathLike) -> None:
    """Write ``obj`` as AVSOL-E v1 JSON, atomically (a kill leaves the old file or the new).

    The written document is validated first, so this never produces a file that
    :func:`load_avsol_e` refuses (an ``AnnotationError`` is raised instead).
    """
    d = avsol_e_to_dict(obj)
    avsol_e_from_dict(d, path)
    write_json(path, d)
