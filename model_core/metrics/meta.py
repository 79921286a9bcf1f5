"""The ``meta`` section of a report: what produced it, so a number can be traced back."""
from __future__ import annotations

import datetime
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


def run_meta(command: str, **fields: Any) -> dict[str, Any]:
    """``{"command", "date" (UTC, ISO 8601), "argv", "versions", "host", **fields}``; path
    values are made absolute so the report stays meaningful when moved."""
    from model_core import __version__

    out: dict[str, Any] = {"command": command,
                           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                           "argv": list(sys.argv)}
    for k, v in fields.items():
        if isinstance(v, os.PathLike) or (isinstance(v, str) and k in ("annotations", "maps", "data")):
            v = os.path.abspath(os.fspath(v))
        out[k] = v
    out["versions"] = {"avsol": __version__, "python": platform.python_version(),
                       "numpy": _version("numpy"), "opencv": _version("cv2"),
                       "torch": _version("torch") if "torch" in sys.modules else None}
    out["host"] = platform.node()
    return out
