"""The names in a data folder (AVE layout, AVSOL-E, avsol synth's plan), defined once.

Train, eval, the importers, the output checks and the viewer all look for these files; when
each spelled them itself, the copies could drift. A leaf with no imports,
so every layer may read it. Which annotation file wins and where the videos are found stay
with their readers (``formats.eval_set``, ``formats.ave``, ``train.dataset``).
"""
from __future__ import annotations

#: AVSOL-E v1 annotations (boxes): when a folder has both, this file wins over AVE's.
AVSOL_E_FILE = "avsol-e.json"
#: AVE's annotation file (events, no boxes).
AVE_ANNOTATIONS = "Annotations.txt"
#: AVE's split files, by split.
SPLIT_FILES = {"train": "trainSet.txt", "val": "valSet.txt", "test": "testSet.txt"}
#: What ``avsol synth`` planned (how each video was made).
PLAN_FILE = "synth-plan.json"
#: Sub-folders looked in, in order, for a data folder's videos (else the folder itself).
VIDEO_SUBDIRS = ("videos", "AVE")
