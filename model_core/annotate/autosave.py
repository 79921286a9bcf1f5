"""Autosave and recovery of an annotation set: nothing is lost to a crash or a kill.

The autosave is a full AVSOL-E file beside the output (``.NAME.autosave.json``) plus the
corrections not yet saved, written atomically after every edit burst; a later start finds
it when it is newer than the output and offers it back. Saving removes it.

Taking the snapshot (:func:`autosave_payload`) is cheap and must happen where the edits
happen (the viewer's GUI thread); encoding and writing it is not, so
:class:`AutosaveWriter` does that on a worker thread, latest snapshot wins.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

from model_core.annotate.document import AUTOSAVE_KEY, HISTORY_KEY, AnnotationDocument, dumps_set, now_utc
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
    """Write an :func:`autosave_payload` atomically (a temporary file, then a rename).

    Encoded as the save encodes a set (:func:`~model_core.annotate.document.dumps_set`: one
    ``json.dumps`` per video), not in one call: the C encoder holds the interpreter lock for
    the whole of a call, so one call over a large set would stall the GUI thread as much
    as writing there, while short calls let it run between videos.
    """
    write_text(path, dumps_set(payload))
    return Path(path)


class AutosaveWriter:
    """Writes autosave payloads on one worker thread; the latest snapshot wins.

    :meth:`submit` only queues ``(path, payload)`` and returns: the GUI thread never waits
    for the encoding, the disk or its fsync. A snapshot submitted while another is being
    written replaces any still waiting (an older one is never written after a newer one,
    and a burst of edits during a slow write costs one more write, not one per edit).
    :meth:`flush` waits until what was submitted is on disk (closing a set, quitting);
    :meth:`cancel` drops what waits and lets a write under way finish (before a save, which
    removes the autosave: a write landing after it would leave a stale autosave that the
    next start offers to recover). The thread is a daemon: a process killed or exiting
    mid-write leaves the previous autosave, as every write is atomic.

    ``on_error(exc)`` is called on the worker thread when a write fails (``OSError``); the
    last failure is also kept in :attr:`error` until a write succeeds.
    """

    def __init__(self, on_error: Callable[[OSError], None] | None = None):
        self.on_error = on_error
        self.error: OSError | None = None
        self.writes = 0                     # completed writes (tests, figures)
        self._cond = threading.Condition()
        self._pending: tuple[Path, dict] | None = None
        self._busy = False
        self._thread: threading.Thread | None = None

    def submit(self, path: str | os.PathLike, payload: dict) -> None:
        """Queue this snapshot for writing, replacing any not yet started."""
        with self._cond:
            self._pending = (Path(path), payload)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="annotate-autosave", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def submit_document(self, doc: AnnotationDocument, output: str | os.PathLike | None = None) -> None:
        """Snapshot ``doc`` now (in the calling thread) and queue it."""
        self.submit(*autosave_payload(doc, output))

    @property
    def idle(self) -> bool:
        with self._cond:
            return self._pending is None and not self._busy

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every submitted snapshot is written; False if ``timeout`` ran out."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def cancel(self, timeout: float | None = None) -> bool:
        """Drop the snapshot not yet started and wait for a write under way."""
        with self._cond:
            self._pending = None
            return self._cond.wait_for(lambda: not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: self._pending is not None, timeout=30.0):
                    self._thread = None     # idle: the thread ends, the next submit starts one
                    return
                pending, self._pending = self._pending, None
                if pending is None:         # wait_for returned with one set: never
                    continue
                path, payload = pending
                self._busy = True
            try:
                write_autosave_payload(path, payload)
            except OSError as exc:
                self.error = exc
                if self.on_error is not None:
                    self.on_error(exc)
            else:
                self.error = None
            finally:
                with self._cond:
                    self._busy = False
                    self.writes += 1
                    self._cond.notify_all()


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
