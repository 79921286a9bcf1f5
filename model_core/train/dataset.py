"""Which (video, 1 s segment, label) triples train and validate a model.

A training folder is an AVE folder (SPEC 4: ``Annotations.txt`` + split files + videos), as
``avsol synth`` writes it; an ``avsol-e.json`` beside it, when present, adds the boxes used
for the validation cIoU and fixes the class order. Positives are the 1 s segments
``[k, k+1)`` inside an annotated event, each labelled with its video's event class and
represented by the frame at the segment's middle ``k + 0.5`` and the 1 s of audio centred
on it (exactly the segment, SPEC 3). Mismatched pairs (AVC negatives) are made per batch
by the trainer, not listed here.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from model_core import data_layout as layout
from model_core.errors import AnnotationError
from model_core.formats import AvsolE, load_ave, load_avsol_e


@dataclass(frozen=True)
class VideoEntry:
    """One annotated video present in the folder.

    Attributes
    ----------
    video_id : AVE id (file stem).
    file : file name as in annotations and maps files (``<id>.mp4``).
    path : where the file is.
    split : ``"train"``, ``"val"``, ``"test"`` or None (in no split file).
    label : index of its event class in :attr:`TrainingData.classes`.
    events : per 1 s segment k (``[k, k+1)``), whether an event covers it.
    """

    video_id: str
    file: str
    path: Path
    split: str | None
    label: int
    events: tuple[bool, ...]


@dataclass(frozen=True)
class SegmentItem:
    """One positive pair: video ``video`` (index into ``TrainingData.videos``), segment
    ``segment`` (frame at ``segment + 0.5`` s), event class ``label``."""

    video: int
    segment: int
    label: int


@dataclass(frozen=True)
class TrainingData:
    """A training folder, read and checked (see :func:`load_training_data`).

    ``missing`` lists annotated videos absent from the folder (reported, never silently
    dropped); ``warnings`` holds everything else worth telling the user.
    """

    root: Path
    classes: tuple[str, ...]
    videos: tuple[VideoEntry, ...]
    missing: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    boxes: AvsolE | None = field(default=None, compare=False)

    def split_videos(self, split: str) -> list[int]:
        """Indices into :attr:`videos` of the videos of ``split``."""
        return [i for i, v in enumerate(self.videos) if v.split == split]

    def positives(self, split: str) -> list[SegmentItem]:
        """Every event segment of the videos of ``split``, in file order."""
        return [SegmentItem(i, k, self.videos[i].label)
                for i in self.split_videos(split)
                for k, ev in enumerate(self.videos[i].events) if ev]

    def box_segment(self, item: SegmentItem):
        """The AVSOL-E segment with the sounding boxes of ``item``, or None.

        Only a segment whose frame time is the cached frame's (the middle of segment
        ``item.segment``, to a millisecond) qualifies: a box drawn at another time need not
        match the frame the model sees.
        """
        if self.boxes is None:
            return None
        ann = self.boxes.get(self.videos[item.video].file)
        if ann is None:
            return None
        for seg in ann.segments:
            if seg.event and seg.sounding_boxes and abs(seg.frame_time - (item.segment + 0.5)) < 1e-3:
                return seg
        return None

    def counts(self) -> dict[str, dict[str, int]]:
        """Videos and positive segments per split, for logs and the training summary."""
        return {s: {"videos": len(self.split_videos(s)), "segments": len(self.positives(s))}
                for s in ("train", "val", "test")}


def load_training_data(root: str | os.PathLike) -> TrainingData:
    """Read a training folder (AVE layout, optional ``avsol-e.json``).

    Raises
    ------
    AnnotationError
        No folder, no readable ``Annotations.txt``, bad lines, an unreadable
        ``avsol-e.json``, or no train split with videos present.
    """
    root = Path(root)
    ave = load_ave(root)
    warnings = list(ave.warnings)
    boxes = None
    classes = list(ave.classes)
    # the events and splits are AVE's; the boxes come from the folder's winning annotation
    # file when that is AVSOL-E (data_layout's one rule)
    e_path = layout.annotation_file(root)
    if e_path is not None and e_path.name == layout.AVSOL_E_FILE:
        boxes = load_avsol_e(e_path)
        extra = [c for c in ave.classes if c not in boxes.classes]
        if extra:
            warnings.append(f"{e_path.name}: classes {extra} of {layout.AVE_ANNOTATIONS} are not in its "
                            f"class list; using {layout.AVE_ANNOTATIONS}'s sorted classes")
        else:
            classes = list(boxes.classes)
    index = {c: i for i, c in enumerate(classes)}
    missing = set(ave.missing_videos)
    videos = []
    for vid in ave.videos:
        path = ave.video_path(vid)
        if vid in missing or path is None:
            continue
        videos.append(VideoEntry(vid, ave.video_file(vid), path, ave.split_of(vid),
                                 index[ave.category(vid)], tuple(ave.event_segments(vid))))
    data = TrainingData(root, tuple(classes), tuple(videos), tuple(ave.missing_videos),
                        tuple(warnings), boxes)
    if "train" not in ave.splits:
        raise AnnotationError(root, ["trainSet.txt: not found; training needs a train split"])
    if not data.positives("train"):
        train = [v for v in ave.videos if ave.split_of(v) == "train" and v not in missing]
        rows = [r for v in train for r in ave.videos[v]]
        if rows and all(r.end <= r.start for r in rows):
            raise AnnotationError(root / layout.AVE_ANNOTATIONS, [
                f"every event of the {len(train)} train-split video(s) is zero-length (Start = End): "
                f"nothing to train on; an event covers the 1 s segments Start .. End-1"])
        raise AnnotationError(root, ["no event segment of a train-split video is present in the folder"])
    return data


def check_training_set(data: TrainingData, head: str, select_best: str | None = None,
                       train_items: list[SegmentItem] | None = None,
                       val_items: list[SegmentItem] | None = None) -> list[str]:
    """What makes a training run impossible (raised, one line, before any work) or
    degenerate (returned as warning lines), so that no figure is silently meaningless.

    Why: with one class in the train split no AVC negative can be made (a negative is the
    sound of a clip of *another* class), so the ``avc`` and ``dnm`` heads would learn
    "always corresponds" and report ``avc_acc 1.0000``; the ``cls`` head with
    one class is trivially right. Without validation segments no val figure exists, and
    ``--select-best`` has nothing to select by. ``train_items`` / ``val_items`` are the
    segments left after decoding (default: every annotated one).

    Raises
    ------
    InputError
        One class for ``avc`` / ``dnm``; ``--select-best`` without validation segments.
    """
    from model_core.errors import InputError

    train = data.positives("train") if train_items is None else train_items
    val = data.positives("val") if val_items is None else val_items
    warnings = []
    classes = sorted({it.label for it in train})
    if len(classes) == 1:
        name = data.classes[classes[0]]
        if head in ("avc", "dnm"):
            raise InputError(data.root, f"every train segment is of one class ({name!r}): head {head} "
                                        f"needs AVC negatives, the sound of another class; add videos of "
                                        f"a second class to trainSet.txt")
        warnings.append(f"every train segment is of one class ({name!r}): head cls can only learn "
                        f"that class; cls_acc will be 1 whatever the model")
    if not val:
        why = ("no valSet.txt" if not (data.root / "valSet.txt").is_file()
               else "no event segment of a val-split video" + (" could be decoded" if val_items is not None
                                                               else " is present"))
        if select_best is not None:
            raise InputError(data.root, f"--select-best {select_best} needs validation segments: {why}")
        warnings.append(f"{why}: no validation figures will be reported")
    return warnings
