"""Persistent viewer settings (recent files, window geometry and state, display choices).

A thin typed layer over ``QSettings`` in INI format. Where it lives: the file named by the
environment variable ``AVSOL_VIEWER_SETTINGS`` if set (tests and scripts point it at a
temporary file, never at the user's settings), else Qt's per-user location for
"AVSOL/AVSOL Studio". A read-only instance (headless screenshots) reads but never writes.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 10
ENV_VAR = "AVSOL_VIEWER_SETTINGS"

DEFAULTS = {
    "display/colormap": "inferno",
    "display/opacity": 0.6,
    "display/threshold": 0.5,
    "display/contour": True,
    "display/peak": True,
    "display/boxes": True,
    "display/layout": "side_by_side",
    "display/scale": "absolute",   # per-frame min-max only when the user picks it
    "display/scale_chosen": False,  # the user picked the scale (older versions stored per_frame unasked)
}

#: not display options (``DEFAULTS`` are exactly ``DisplayOptions``' fields): what the
#: dialogs refill from and where each kind of output last went
OTHER_DEFAULTS = {
    "evaluate/folder": "",
    "evaluate/annotations": "",
    "evaluate/rule": "median",
    "evaluate/level": 0.5,
    "evaluate/device": "auto",
    "evaluate/batch": 16,
    "train/folder": "",
    "train/heads": "dnm",
    "train/epochs": 10,
    "train/batch": 32,
    "train/device": "auto",
    "train/config": "demo",
    # where each kind of output last went (avsol_viewer.output_folder); "last": any kind
    "outputs/evaluate": "",
    "outputs/train": "",
    "outputs/export": "",
    "outputs/record": "",
    "outputs/report": "",
    "outputs/last": "",
}


class ViewerSettings:
    """Typed access to the viewer's settings.

    Parameters
    ----------
    path : an INI file to use; None = ``$AVSOL_VIEWER_SETTINGS`` or the user's location.
    read_only : never write (the headless ``--screenshot`` run must not touch the user's
        recent files or window layout).
    """

    def __init__(self, path: str | os.PathLike | None = None, read_only: bool = False):
        path = path or os.environ.get(ENV_VAR)
        if path:
            self._qs = QSettings(str(path), QSettings.Format.IniFormat)
        else:
            self._qs = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                                 "AVSOL", "AVSOL Studio")
        self.read_only = read_only

    @property
    def file_name(self) -> str:
        return self._qs.fileName()

    # -- generic ------------------------------------------------------------------------
    def value(self, key: str, default=None):
        """The stored value, converted to the type of the default (INI stores strings)."""
        if default is None:
            default = DEFAULTS.get(key, OTHER_DEFAULTS.get(key))
        raw = self._qs.value(key, default)
        if raw is None:
            return default
        if isinstance(default, bool):
            return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
        if isinstance(default, float):
            try:
                return float(raw)
            except (TypeError, ValueError):
                return default
        if isinstance(default, int):
            try:
                return int(raw)
            except (TypeError, ValueError):
                return default
        if isinstance(default, str):
            return str(raw)
        return raw

    def string_list(self, key: str) -> list[str]:
        """A stored list of strings (INI gives one string for a list of one)."""
        raw = self._qs.value(key, [])
        if isinstance(raw, str):
            raw = [raw] if raw else []
        return [str(p) for p in (raw or [])]

    def set_value(self, key: str, value) -> None:
        if not self.read_only:
            self._qs.setValue(key, value)

    def sync(self) -> None:
        if not self.read_only:
            self._qs.sync()

    # -- recent files -------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        return self.string_list("files/recent")[:MAX_RECENT]

    def add_recent_file(self, path: str | os.PathLike) -> list[str]:
        """Put ``path`` first in the recent list (deduplicated, at most ``MAX_RECENT``)."""
        p = str(Path(path).resolve())
        files = [p] + [f for f in self.recent_files() if f != p]
        files = files[:MAX_RECENT]
        self.set_value("files/recent", files)
        self.set_value("files/last_folder", str(Path(p).parent))
        return files

    def remove_recent_file(self, path: str) -> None:
        self.set_value("files/recent", [f for f in self.recent_files() if f != path])

    def last_folder(self) -> str:
        return str(self._qs.value("files/last_folder", "") or "")

    def set_last_folder(self, folder: str | os.PathLike) -> None:
        self.set_value("files/last_folder", str(folder))

    # -- window -------------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        g = self._qs.value("window/geometry")
        return g if isinstance(g, QByteArray) and not g.isEmpty() else None

    def state(self) -> QByteArray | None:
        s = self._qs.value("window/state")
        return s if isinstance(s, QByteArray) and not s.isEmpty() else None

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.set_value("window/geometry", geometry)
        self.set_value("window/state", state)
