"""What ``avsol eval DATA`` evaluates: the videos of a folder and their annotated items
(here, below metrics and evaluation, which both read it).

DATA is a folder holding ``avsol-e.json`` (AVSOL-E v1: boxes, every metric) or, failing
that, AVE's ``Annotations.txt`` (no boxes: background false alarms / p_avc and event
classification only), with the videos in ``DATA/videos``, ``DATA/AVE`` or DATA itself;
or the path of an AVSOL-E file, with its videos beside it or in ``videos/`` next to it.
``avsol synth`` writes both annotation forms: AVSOL-E wins. Which file wins and where the
videos are is :mod:`model_core.data_layout`'s rule, shared with training, the viewer and
the output checks. Videos listed in the
annotations but absent from the folder are kept, with ``path`` None, so they become
``missing`` items in the report, named.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from model_core import data_layout as layout
from model_core.errors import InputError
from model_core.formats.annotations import Segment

AVE_MODE, AVSOL_E_MODE = "ave", "avsol-e"
#: What a report says when the annotations have no boxes.
AVE_NOTE = ("AVE annotations have no boxes: cIoU, AUC, pointing, pixel AP/ROC-AUC, per-size "
            "and silent-object results are not computed; scored are background false alarms "
            "(p_avc > 0.5 on background segments), mean p_avc and event classification")


@dataclass(frozen=True)
class EvalVideo:
    """One video to evaluate: its annotated segments (items) and where its file is."""

    name: str                 # file name as in the annotations ("abc.mp4")
    path: Path | None         # None: not found in the folder
    category: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class EvalSet:
    """The videos of an evaluation, in annotation order.

    ``mode`` is ``"avsol-e"`` or ``"ave"``; ``annotations`` the file read; ``notes`` what
    the report must say about what is (not) scored; ``warnings`` reader warnings.
    """

    mode: str
    annotations: Path
    video_dir: Path
    classes: tuple[str, ...]
    videos: tuple[EvalVideo, ...]
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_items(self) -> int:
        return sum(len(v.segments) for v in self.videos)


def _video_dir(root: Path, explicit: str | os.PathLike | None) -> Path:
    if explicit is not None:
        d = Path(explicit)
        if not d.is_dir():
            raise InputError(d, "videos folder not found")
        return d
    return layout.video_folder(root)


def _ave_segments(ave, video_id: str, duration: float | None) -> tuple[Segment, ...]:
    """AVE's 1 s segments with their event flag, frame at k + 0.5, no boxes; which
    segments exist is ``model_core.formats.ave.segment_count`` (shared with the viewer
    and training)."""
    from model_core.formats.ave import segments_from_flags

    return segments_from_flags(ave.event_segments(video_id, duration))


def load_eval_set(data: str | os.PathLike, annotations: str | os.PathLike | None = None,
                  videos_dir: str | os.PathLike | None = None, split: str | None = None) -> EvalSet:
    """Find and read the annotations of DATA (see the module docstring).

    Parameters
    ----------
    data : folder (or AVSOL-E file).
    annotations : an AVSOL-E file or AVE folder to use instead of the one found in DATA.
    videos_dir : where the videos are (default: found as described above).
    split : for AVE only, ``"train"``, ``"val"`` or ``"test"``: evaluate that split only.

    Raises
    ------
    InputError / AnnotationError
        DATA missing, no annotations found, or annotations invalid.
    """
    from model_core.formats import load_ave, load_avsol_e

    from model_core.input_protection import why_missing

    data = Path(data)
    if not data.exists():
        raise InputError(data, why_missing(data))        # a symlink loop is named as one
    source = Path(annotations) if annotations is not None else None
    if source is None:
        if data.is_file():
            source = data
        else:
            found = layout.annotation_file(data)
            # AVE is read through its folder (its split files lie beside Annotations.txt)
            source = data if found is not None and found.name == layout.AVE_ANNOTATIONS else found
    if source is None:
        raise InputError(data, "no annotations: expected avsol-e.json (AVSOL-E) or Annotations.txt (AVE)")
    if source.is_dir():
        ave = load_ave(source, video_dir=videos_dir)
        ids = list(ave.videos)
        if split is not None:
            if split not in ave.splits:
                raise InputError(source, f"no {split} split file")
            ids = [v for v in ave.splits[split] if v in ave.videos]
        vids = []
        for vid in ids:
            path = ave.video_path(vid)
            duration = None
            if path is not None:
                try:
                    from model_core.media.probe import probe

                    duration = probe(path).duration
                except InputError:
                    duration = None   # decoding will fail and name the file
            vids.append(EvalVideo(ave.video_file(vid), path, ave.category(vid),
                                  _ave_segments(ave, vid, duration)))
        return EvalSet(AVE_MODE, source / layout.AVE_ANNOTATIONS, ave.video_dir, ave.classes, tuple(vids),
                       (AVE_NOTE,), tuple(ave.warnings))
    if split is not None:
        raise InputError(source, "--split applies to AVE annotations only")
    ann = load_avsol_e(source)
    vdir = _video_dir(data if data.is_dir() else source.parent, videos_dir)
    outside = [v.video for v in ann.videos
               if os.path.isabs(v.video) or ".." in Path(v.video.replace("\\", "/")).parts]
    if outside:
        from model_core.errors import AnnotationError

        raise AnnotationError(source, [f"video {name!r}: must name a file inside the videos folder "
                                       f"{vdir} (no absolute path, no '..')" for name in outside])
    vids = []
    for v in ann.videos:
        p = vdir / v.video
        vids.append(EvalVideo(v.video, p if p.is_file() else None, v.category, v.segments))
    notes = []
    if not any(s.event and s.sounding_boxes for v in ann.videos for s in v.segments):
        notes.append("the annotations hold no sounding boxes: localization metrics are not computed")
    return EvalSet(AVSOL_E_MODE, source, vdir, ann.classes, tuple(vids), tuple(notes))
