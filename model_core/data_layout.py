"""A data folder: its file names, which annotation file wins, and where its videos are.

Train, eval, the importers, the output checks and the viewer all read data folders (SPEC 4
layouts: AVE's, AVSOL-E's, what ``avsol synth`` writes). Each used to spell the names and
decide for itself which annotation file wins and which sub-folder holds the videos, and
the copies drifted; here each rule is written once:

* :func:`annotation_files` / :func:`annotation_file`: AVSOL-E (boxes) wins over AVE's
  ``Annotations.txt`` (events only); a nearer folder before a farther one.
* :func:`video_folder`: the videos are in the first of :data:`VIDEO_SUBDIRS` that holds
  one, else in the folder itself.

A leaf outside the layers, importing only the media-extension list, so every layer may
read it: the output checks (``input_protection``, which the model layer reaches) as much
as the readers in ``formats``. It only looks at names and folders; reading the files is
the readers' job.
"""
from __future__ import annotations

import os
from pathlib import Path

from model_core.media_extensions import VIDEO

#: AVSOL-E v1 annotations (boxes): when a folder has both, this file wins over AVE's.
AVSOL_E_FILE = "avsol-e.json"
#: AVE's annotation file (events, no boxes).
AVE_ANNOTATIONS = "Annotations.txt"
#: A data folder's annotation files, the winner first.
ANNOTATION_FILES = (AVSOL_E_FILE, AVE_ANNOTATIONS)
#: AVE's split files, by split.
SPLIT_FILES = {"train": "trainSet.txt", "val": "valSet.txt", "test": "testSet.txt"}
#: What ``avsol synth`` planned (how each video was made).
PLAN_FILE = "synth-plan.json"
#: Sub-folders looked in, in order, for a data folder's videos (else the folder itself).
VIDEO_SUBDIRS = ("videos", "AVE")
#: Where ``avsol synth`` writes a set's videos (the first place looked in).
SYNTH_VIDEOS = VIDEO_SUBDIRS[0]


def annotation_files(*folders: str | os.PathLike) -> list[Path]:
    """The annotation files present in ``folders``, in the order they win: every AVSOL-E
    file (nearer folder first) before any AVE ``Annotations.txt``.

    A reader looking for one video's annotations tries them in this order and takes the
    first that lists it (the viewer looks in a video's folder and its parent, since
    ``avsol synth`` puts the videos in ``OUT/videos/`` and the annotations in ``OUT/``).
    """
    return [Path(folder) / name for name in ANNOTATION_FILES for folder in folders
            if (Path(folder) / name).is_file()]


def annotation_file(folder: str | os.PathLike) -> Path | None:
    """The annotation file of a data folder: ``avsol-e.json`` if present, else AVE's
    ``Annotations.txt``, else None. ``avsol synth`` writes both; AVSOL-E wins because it
    holds the boxes as well as the events."""
    found = annotation_files(folder)
    return found[0] if found else None


def _holds_video(folder: Path) -> bool:
    try:
        return any(p.suffix.lower() in VIDEO and p.is_file() for p in folder.iterdir())
    except OSError:
        return False


def video_folder(folder: str | os.PathLike) -> Path:
    """Where a data folder's videos are: the first of :data:`VIDEO_SUBDIRS` holding a video
    file (AVE's download unpacks to ``AVE/``, ``avsol synth`` writes ``videos/``), else the
    folder itself. An empty ``videos/`` beside videos in the folder does not hide them."""
    root = Path(folder)
    for sub in VIDEO_SUBDIRS:
        if _holds_video(root / sub):
            return root / sub
    return root

