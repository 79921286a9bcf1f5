"""The append-only items log of an evaluation: what makes ``--resume`` redo nothing.

Beside ``REPORT.json`` the runner appends to ``REPORT.items.jsonl`` (or, under
``torchrun``, one ``REPORT.items.rank<R>.jsonl`` per rank). Line 1 is a header naming what
the results depend on (checkpoints with their content hashes, annotations, threshold); each
further line is one *whole video*: ``{"kind": "video", "video": NAME, "rows": [item rows of
every head]}``, written with one ``write`` and flushed + fsynced. A kill can only tear the
last line; a torn line is not valid JSON, so that video is simply not done and is redone;
the torn tail is cut off before appending again.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from model_core.errors import InputError
from model_core.metrics.meta import file_digest  # noqa: F401 - checkpoints: a changed file must not resume old results

KIND_HEADER, KIND_VIDEO = "header", "video"




def log_path(report: str | os.PathLike, rank: int | None = None) -> Path:
    """``REPORT.items.jsonl`` (single process) or ``REPORT.items.rank<R>.jsonl``."""
    report = Path(report)
    stem = report.name[:-5] if report.name.endswith(".json") else report.name
    suffix = ".items.jsonl" if rank is None else f".items.rank{rank}.jsonl"
    return report.with_name(stem + suffix)


def all_logs(report: str | os.PathLike) -> list[Path]:
    """Every items log of ``report`` (any rank, any earlier world size)."""
    single = log_path(report)
    pattern = log_path(report, 0).name.replace(".rank0.", ".rank*.")
    return sorted(([single] if single.exists() else []) + list(single.parent.glob(pattern)))


def _parse(path: Path) -> tuple[dict | None, dict[str, list[dict]], int]:
    """(header, {video: rows}, byte offset of the end of the last good line)."""
    header, videos, good_end = None, {}, 0
    with open(path, "rb") as fh:
        data = fh.read()
    pos = 0
    for raw in data.splitlines(keepends=True):
        end = pos + len(raw)
        pos = end
        if not raw.endswith(b"\n"):
            break                      # torn last line
        try:
            rec = json.loads(raw)
        except ValueError:
            break                      # torn (or foreign) line: stop trusting the rest
        if not isinstance(rec, dict):
            break
        if rec.get("kind") == KIND_HEADER and header is None:
            header = rec
        elif rec.get("kind") == KIND_VIDEO and isinstance(rec.get("rows"), list):
            videos[str(rec["video"])] = rec["rows"]
        else:
            break
        good_end = end
    return header, videos, good_end


def read_logs(paths: Iterable[Path], header: dict[str, Any] | None = None) -> dict[str, list[dict]]:
    """Done videos from items logs: ``{video: rows}``.

    With ``header``, a log made for other checkpoints / annotations / settings is refused
    with an :class:`InputError` naming it (resuming it would mix results)."""
    done: dict[str, list[dict]] = {}
    for p in paths:
        found, videos, _ = _parse(p)
        if header is not None and found is not None and found.get("fingerprint") != header["fingerprint"]:
            raise InputError(p, "was written for other checkpoints, annotations or settings; "
                                "delete it or run without --resume")
        done.update(videos)
    return done


class ItemsLog:
    """One process's items log, opened for appending.

    Parameters
    ----------
    path : the log file.
    header : ``{"kind": "header", "fingerprint": {...}, ...}`` written when the file is new.
    resume : keep the file's complete lines (cutting a torn tail) instead of starting over.
    """

    def __init__(self, path: str | os.PathLike, header: dict[str, Any], resume: bool):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keep = 0
        if resume and self.path.exists():
            found, _, keep = _parse(self.path)
            if found is None:
                keep = 0
        mode = "r+b" if keep else "wb"
        self._fh = open(self.path, mode, buffering=0)  # one write per line, cut back on failure
        self._fh.truncate(keep)
        self._fh.seek(keep)
        self._holds_rows = bool(keep)   # a resumed log's kept lines hold rows
        if not keep:
            self._write(header)

    def _write(self, rec: dict[str, Any]) -> None:
        data = (json.dumps(rec, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
        start = self._fh.tell()
        try:
            view = memoryview(data)
            while view:
                view = view[self._fh.write(view):]
            os.fsync(self._fh.fileno())
        except OSError:
            # a full disk: cut the half-written line, so the log holds whole videos only
            try:
                os.ftruncate(self._fh.fileno(), start)
                self._fh.seek(start)
            except (OSError, ValueError):
                pass
            raise

    def append_video(self, video: str, rows: list[dict[str, Any]]) -> None:
        """Record every row of one video in one line (durable when this returns)."""
        self._write({"kind": KIND_VIDEO, "video": video, "rows": rows})
        self._holds_rows = True

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "ItemsLog":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close()
        if exc_type is not None and not self._holds_rows:
            # a run that failed before its first video leaves nothing behind (a header-only
            # log resumes nothing and would be a stray file beside the report)
            self.path.unlink(missing_ok=True)
