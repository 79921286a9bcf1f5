"""Autosave and recovery of an annotation set: nothing is lost to a crash or a kill.

The autosave is a full AVSOL-E file beside the output (``.NAME.autosave.json``) plus the
corrections not yet saved, written atomically after every edit burst; a later start finds
it when it is newer than the output and offers it back. Saving removes it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from model_core.annotate.document import AUTOSAVE_KEY, HISTORY_KEY, AnnotationDocument, now_utc
from model_core.atomic import write_text
from model_core.formats._common import read_json


def autosave_path(output: str | os.PathLike) -> Path:
    """``.NAME.autosave.json`` beside ``output`` (hidden, next to the file it protects)."""
    output = Path(output)
    return output.parent / f".{output.name}.autosave.json"


def autosave_payload(doc: AnnotationDocument, output: str | os.PathLike | None = None) -> tuple[Path, dict]:
    """``(autosave path, JSON document)`` of the set now: cheap (segments no command changed
    reuse their JSON), so the GUI thread can take it after every edit burst and hand it to
    :func:`write_autosave_payload` on a worker thread. The payload is never changed
    afterwards (a changed segment gets a new JSON object), so the worker may serialise it
    while editing goes on.

    The autosave is a full AVSOL-E file plus an ``autosave`` key naming the output and the
    corrections not yet saved, so :func:`recover` loses no history.
    """
    output = Path(output) if output is not None else doc.path
    if output is None:
        raise ValueError("no output path for the autosave")
    d = doc.to_dict(cached=True, history=False)
    d[HISTORY_KEY] = list(doc.history)
    d[AUTOSAVE_KEY] = {"output": str(output), "written": now_utc(),
                       "pending_history": doc.pending_history + doc.corrections()}
    return autosave_path(output), d


def write_autosave_payload(path: str | os.PathLike, payload: dict) -> Path:
    """Write an :func:`autosave_payload` atomically (a temporary file, then a rename)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    write_text(path, text + "\n")
    return Path(path)


def write_autosave(doc: AnnotationDocument, output: str | os.PathLike | None = None) -> Path:
    """Write the set to its autosave file atomically (a temporary file, then a rename).

    Called after every edit burst: :func:`autosave_payload` then
    :func:`write_autosave_payload` in the calling thread.
    """
    path, payload = autosave_payload(doc, output)
    return write_autosave_payload(path, payload)


def find_recovery(output: str | os.PathLike) -> Path | None:
    """The autosave of ``output`` when there is one newer than ``output`` (or no output yet)."""
    output = Path(output)
    auto = autosave_path(output)
    try:
        auto_mtime = auto.stat().st_mtime_ns
    except OSError:
        return None
    try:
        if output.stat().st_mtime_ns >= auto_mtime:
            return None
    except OSError:
        pass
    return auto


def recover(output: str | os.PathLike) -> AnnotationDocument:
    """Load the autosave of ``output`` as a modified document that saves to ``output``.

    Raises AnnotationError naming the autosave file if it is unreadable (it is left in
    place; :func:`discard_autosave` removes it).
    """
    output = Path(output)
    auto = autosave_path(output)
    raw = read_json(auto)
    doc = AnnotationDocument.from_dict(raw, auto)
    info = raw.get(AUTOSAVE_KEY) if isinstance(raw, dict) else None
    if isinstance(info, dict) and isinstance(info.get("pending_history"), list):
        doc.pending_history = [h for h in info["pending_history"] if isinstance(h, dict)]
    doc.path = output
    doc.revision = 1
    doc.saved_revision = 0
    return doc


def discard_autosave(output: str | os.PathLike) -> None:
    """Remove the autosave of ``output`` (after a save, or when the user declines recovery)."""
    try:
        autosave_path(output).unlink()
    except FileNotFoundError:
        pass
