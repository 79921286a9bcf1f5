"""What one autosave costs the viewer's GUI thread on an AVSOL-E-size set.

The set: 402 videos x 10 one-second segments (AVSOL-E's test set), two boxes a segment,
one more box added before each of ``ROUNDS`` autosaves. Three figures, each the median and
the maximum over the rounds, all on the calling thread (the GUI thread in the viewer), with
the viewer's GIL switch interval (``avsol_viewer.constants.SWITCH_INTERVAL_S``):

- ``inline_ms``: snapshot, encoding and atomic write (fsync included) all done there, one
  ``json.dumps`` over the whole set: what the writer thread takes off the GUI thread;
- ``submit_ms``: what annotate mode does: the snapshot there
  (``autosave_payload``), handed to :class:`~model_core.annotate.autosave.AutosaveWriter`;
- ``stall_ms``: the longest the calling thread, polling every 0.5 ms, waited to run again
  while the writer's thread encoded and wrote (the interpreter lock is shared: this is what
  a write still costs the GUI thread, in slices).
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

VIDEOS, SEGMENTS, ROUNDS = 402, 10, 10


def _set(folder: Path):
    from model_core.annotate.document import AnnotationDocument, EditBox

    doc = AnnotationDocument(path=folder / "set.json")
    for v in range(VIDEOS):
        for s in doc.add_video(f"v{v:04d}.mp4", SEGMENTS, category=f"c{v % 28}").segments:
            s.boxes = [EditBox(0.1, 0.1, 0.5, 0.5, "dog", True, "alice"),
                       EditBox(0.2, 0.3, 0.6, 0.9, "man", False, "alice")]
    return doc


def _figure(xs: list[float]) -> dict:
    return {"median": round(statistics.median(xs) * 1e3, 1), "max": round(max(xs) * 1e3, 1)}


def run() -> dict:
    from avsol_viewer.constants import SWITCH_INTERVAL_S
    from model_core.annotate import autosave as asv
    from model_core.annotate.commands import AddBox
    from model_core.atomic import write_text

    before = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    inline, submit, stall = [], [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            doc = _set(Path(tmp))
            size = len(asv.write_autosave(doc).read_bytes())
            writer = asv.AutosaveWriter()
            for k in range(ROUNDS):
                AddBox(doc, "v0001.mp4", k % SEGMENTS, (0.1, 0.1, 0.2, 0.2), who="alice").do()
                t = time.perf_counter()
                path, payload = asv.autosave_payload(doc)
                write_text(path, json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n")
                inline.append(time.perf_counter() - t)
                t = time.perf_counter()
                writer.submit_document(doc)
                submit.append(time.perf_counter() - t)
                last, worst = time.perf_counter(), 0.0
                while not writer.idle:
                    time.sleep(0.0005)
                    now = time.perf_counter()
                    worst, last = max(worst, now - last), now
                stall.append(worst)
    finally:
        sys.setswitchinterval(before)
    return {"videos": VIDEOS, "segments": VIDEOS * SEGMENTS, "autosave_bytes": size, "rounds": ROUNDS,
            "inline_ms": _figure(inline), "submit_ms": _figure(submit), "stall_ms": _figure(stall)}
