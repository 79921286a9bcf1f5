"""The ``meta`` section of a report: what produced it, so a number can be traced back."""
from __future__ import annotations

import datetime
import hashlib
import os
import platform
import sys
from typing import Any


def _version(module: str) -> str | None:
    mod = sys.modules.get(module)
    if mod is None:
        try:
            from importlib.metadata import version

            return version({"cv2": "opencv-python-headless", "sklearn": "scikit-learn"}.get(module, module))
        except Exception:  # noqa: BLE001 - not installed
            return None
    return getattr(mod, "__version__", None)


#: path fields whose file's sha256 a report records as ``<key>_sha256`` (provenance: a
#: rescore or a compare can then tell that the data set changed under the report)
DIGESTED = ("annotations", "maps")


def file_digest(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file: the provenance of a report's inputs, and the evaluation's items log
    (a changed checkpoint must not resume old results). Here, below evaluation, which uses it."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def file_sha256(path: str | os.PathLike) -> str | None:
    """SHA-256 of a file (None for a folder or an unreadable path: nothing to pin)."""
    try:
        return file_digest(path) if os.path.isfile(path) else None
    except OSError:
        return None


def run_meta(command: str, **fields: Any) -> dict[str, Any]:
    """``{"command", "date" (UTC, ISO 8601), "argv", "versions", "host", **fields}``; path
    values are made absolute so the report stays meaningful when moved, and the files
    named by ``annotations`` / ``maps`` get their sha256 beside them (``annotations_sha256``)."""
    from model_core import __version__

    out: dict[str, Any] = {"command": command,
                           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                           "argv": list(sys.argv)}
    for k, v in fields.items():
        if isinstance(v, os.PathLike) or (isinstance(v, str) and k in ("annotations", "maps", "data")):
            v = os.path.abspath(os.fspath(v))
        out[k] = v
        if k in DIGESTED and v and f"{k}_sha256" not in fields:
            out[f"{k}_sha256"] = file_sha256(v)
    out["versions"] = {"avsol": __version__, "python": platform.python_version(),
                       "numpy": _version("numpy"), "opencv": _version("cv2"),
                       "torch": _version("torch") if "torch" in sys.modules else None}
    out["host"] = platform.node()
    return out
