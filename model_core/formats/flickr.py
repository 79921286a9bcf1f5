"""Import the Flickr-SoundNet test annotations (Senocak et al. 2018) into AVSOL-E v1.

The test set is one XML file per image, ``<stem>.xml``, holding ``<bbox>`` elements drawn
by several annotators. The field's evaluation code (LVS, EZ-VSL) reads each ``<bbox>``
*positionally*: it skips the first child and takes the next four as integers xmin, ymin,
xmax, ymax on a 256-pixel scale, then sums one mask per box and halves (cIoU's consensus,
``min(1, sum / 2)``). We read the same way, divide by 256 to get fractions (exact in binary,
so ``int(224 * x)`` gives the same pixels as their ``int(224 * v / 256)``), and store each
box as one annotator's vote in the ``annotators`` form, so cIoU numbers compare.

Time and naming conventions: the annotated items are stills, so each becomes one segment
[0, 1] with ``frame_time`` 0.5. The video is named ``<stem>.jpg``, unless a videos folder
is given and holds ``<stem>`` as a video (``.mp4`` first) or another image extension.
The files carry no class: the category is the text of a ``<name>``, ``<class>`` or
``<category>`` element outside the boxes when there is one, else ``"unknown"``.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from model_core.errors import AnnotationError
from model_core.formats._common import (
    IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, ImportReport, check_folder, clip_unit,
)
from model_core.formats.annotations import AvsolE, Box, Segment, VideoAnnotation

#: Flickr-SoundNet boxes are given in pixels of a 256 x 256 image.
SCALE = 256
SEGMENT = (0.0, 1.0)
FRAME_TIME = 0.5
UNKNOWN_CLASS = "unknown"
_CLASS_TAGS = ("name", "class", "category")


def _parse_int(text: str | None) -> int | None:
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def read_bbox(elem: ET.Element) -> tuple[Box | None, str | None]:
    """One ``<bbox>``: skip the first child, the next four are xmin, ymin, xmax, ymax.

    Returns ``(box or None, note or None)``; the note says what was clipped or why the
    box was dropped.
    """
    children = list(elem)
    if len(children) < 5:
        return None, f"{len(children)} children, expected 1 + 4"
    values = [v for v in (_parse_int(c.text) for c in children[1:5]) if v is not None]
    if len(values) != 4:
        return None, "coordinates are not integers"
    # Clamp absurd integers first: a float division of a huge int would overflow.
    clipped = [clip_unit(max(-SCALE, min(2 * SCALE, v)) / SCALE, tolerance=0.0) for v in values]
    x1, y1, x2, y2 = (c for c, _ in clipped)
    changed = any(flag for _, flag in clipped)
    if x1 >= x2 or y1 >= y2:
        return None, f"empty box {values}"
    return Box(x1, y1, x2, y2), (f"{values} clipped to [0, {SCALE}]" if changed else None)


def _category(root: ET.Element) -> str | None:
    inside = {id(e) for b in root.iter("bbox") for e in b.iter()}
    for elem in root.iter():
        if elem.tag in _CLASS_TAGS and id(elem) not in inside:
            text = (elem.text or "").strip()
            if text and text.isprintable():
                return text
    return None


def _read_xml(path: Path) -> ET.Element:
    try:
        return ET.fromstring(path.read_bytes())
    except (ET.ParseError, LookupError, UnicodeError) as exc:
        raise ValueError(f"not XML ({exc})") from None
    except OSError as exc:
        raise ValueError(f"cannot read ({exc.strerror or exc})") from None
    except (RecursionError, MemoryError):  # pragma: no cover - absurd files
        raise ValueError("XML too deeply nested") from None


def import_flickr(xml_dir: str | os.PathLike, videos_dir: str | os.PathLike | None = None
                  ) -> tuple[AvsolE, ImportReport]:
    """Convert a folder of Flickr-SoundNet XML annotations to AVSOL-E.

    Parameters
    ----------
    xml_dir : path-like
        Folder of ``<stem>.xml`` files (other files are ignored).
    videos_dir : path-like, optional
        Folder of the media; decides each item's file name and lists those missing.

    Returns
    -------
    (AvsolE, ImportReport)
        One video per kept XML file, sorted by stem; one segment whose ``annotators``
        holds one single-box group per ``<bbox>``.

    Raises
    ------
    AnnotationError
        ``xml_dir`` missing, not a folder, without any ``.xml`` file, or with no usable one.
    """
    xml_dir = Path(xml_dir)
    if not xml_dir.exists():
        raise AnnotationError(xml_dir, ["annotation folder not found"])
    if not xml_dir.is_dir():
        raise AnnotationError(xml_dir, ["expected a folder of <stem>.xml files"])
    folder = check_folder(videos_dir, "videos")
    files = sorted(p for p in xml_dir.iterdir() if p.suffix.lower() == ".xml" and p.is_file())
    if not files:
        raise AnnotationError(xml_dir, ["no .xml files in this folder"])
    report = ImportReport(read=len(files), missing_videos=[] if folder is not None else None)
    videos: list[VideoAnnotation] = []
    classes: set[str] = set()
    stems: dict[str, str] = {}
    for path in files:
        where = repr(path.name)
        try:
            root = _read_xml(path)
        except ValueError as exc:
            report.lines.append(f"{where}: dropped: {exc}")
            continue
        notes: list[str] = []
        votes: list[tuple[Box, ...]] = []
        for j, elem in enumerate(root.iter("bbox")):
            box, note = read_bbox(elem)
            if box is not None:
                votes.append((box,))
            if note is not None:
                notes.append(f"bbox[{j}] " + (note if box is not None else f"dropped ({note})"))
        if not votes:
            report.lines.append(f"{where}: dropped: no usable <bbox>" + (f" ({'; '.join(notes)})" if notes else ""))
            continue
        stem = path.stem
        if stem in stems:
            report.lines.append(f"{where}: dropped: same name as {stems[stem]!r}")
            continue
        stems[stem] = path.name
        name = report.media_name(folder, stem, f"{stem}.jpg", VIDEO_EXTENSIONS + IMAGE_EXTENSIONS)
        report.note_repairs(where, notes)
        category = _category(root) or UNKNOWN_CLASS
        classes.add(category)
        segment = Segment(SEGMENT[0], SEGMENT[1], FRAME_TIME, True, (), (), tuple(votes))
        videos.append(VideoAnnotation(name, category, (segment,)))
    report.finish(len(videos), xml_dir, folder, f"no usable annotation among {report.read} XML files")
    return AvsolE(tuple(sorted(classes)), tuple(videos)), report
