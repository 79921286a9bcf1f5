"""Where an output goes by default, and output fields that follow their input.

Every dialog that writes something (Evaluate's report, Train's checkpoints, Export's
video, Live › Record, the report exports and contact sheet, screenshots) asks
:func:`default_output_dir`, so the rule is written once:

1. the folder the user last put this kind of output in (then any kind), remembered in the
   settings by :func:`remember_output` when a dialog is accepted;
2. else the parent of the data set the output is made from (next to the data set, never
   inside a folder of footage);
3. else the user's folder, ``Documents/AVSOL Studio`` (``$AVSOL_OUTPUT_DIR`` overrides it:
   tests and scripts point it at a temporary folder).

A candidate is skipped when it is missing, not writable, or inside the install folder
(``resources/``, the bundle of a frozen app): a packaged install may not be writable, and
the demo's folder is not the user's.

:class:`FollowingField` makes an output field follow its input (the report path follows
the data folder) until the user edits it; clearing it makes it follow again.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

ENV_VAR = "AVSOL_OUTPUT_DIR"
USER_FOLDER_NAME = "AVSOL Studio"
KINDS = ("evaluate", "train", "export", "record", "report", "screenshot")


def _key(kind: str) -> str:
    return f"outputs/{kind}"


def install_folders() -> list[Path]:
    """The folders the app is installed in, where outputs never go by default."""
    from avsol_viewer.constants import resources_dir

    found = [resources_dir(), Path(__file__).resolve().parent]
    if getattr(sys, "frozen", False):
        found.append(Path(getattr(sys, "_MEIPASS", None) or os.path.dirname(sys.executable)))
    return [Path(os.path.realpath(p)) for p in found]


def in_install_folder(path: str | os.PathLike) -> bool:
    """``path`` is an install folder or inside one."""
    p = Path(os.path.realpath(path))
    return any(p == f or f in p.parents for f in install_folders())


def usable(folder: str | os.PathLike | None) -> bool:
    """A folder an output may go to by default: it exists, is writable, is not the install's."""
    if not folder:
        return False
    return os.path.isdir(folder) and os.access(folder, os.W_OK) and not in_install_folder(folder)


def user_folder() -> Path:
    """``$AVSOL_OUTPUT_DIR``, else ``Documents/AVSOL Studio`` (home if there is no Documents).
    Not created here: :func:`ensure_folder` does it when an output is about to be written."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    from PySide6.QtCore import QStandardPaths

    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(docs or Path.home()) / USER_FOLDER_NAME


def default_output_dir(settings, kind: str, input_path: str | os.PathLike | None = None) -> Path:
    """The folder an output of ``kind`` goes to by default (see the module docstring).

    Parameters
    ----------
    settings : a :class:`~avsol_viewer.settings.ViewerSettings`, or None (nothing remembered).
    kind : one of :data:`KINDS`.
    input_path : the data set the output is made from (a folder); its parent is the second
        choice. A video's own folder is never offered: it is a folder of footage.
    """
    if settings is not None:
        for key in (_key(kind), _key("last")):
            remembered = settings.value(key, "")
            if usable(remembered):
                return Path(remembered)
    if input_path:
        parent = Path(os.path.abspath(input_path)).parent
        if usable(parent):
            return parent
    return user_folder()


def remember_output(settings, kind: str, path: str | os.PathLike) -> None:
    """Remember where the user put an output of ``kind``: the folder holding ``path`` (a
    file, or a folder such as Train's checkpoint folder)."""
    if settings is None:
        return
    folder = str(Path(os.path.abspath(path)).parent)
    settings.set_value(_key(kind), folder)
    settings.set_value(_key("last"), folder)


def ensure_folder(folder: str | os.PathLike) -> str | None:
    """Make ``folder`` (an output's folder, e.g. the user folder on first use); None when
    done, else one line saying why it cannot be made."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"{folder}: cannot make this folder ({exc.strerror or exc})"
    return None


class FollowingField:
    """An output line edit that follows its input until the user edits it.

    ``derive()`` gives the default output for the current input; :meth:`follow` is called
    whenever the input changes and refills the field unless the user typed or chose a path
    (``textEdited`` fires only for the user's edits; a Browse result goes through
    :meth:`set_by_user`). Emptying the field makes it follow again.
    """

    def __init__(self, edit, derive: Callable[[], str]):
        self.edit = edit
        self.derive = derive
        self.edited = False
        edit.textEdited.connect(self._on_edited)
        self.follow()

    def _on_edited(self, text: str) -> None:
        self.edited = bool(text.strip())

    def set_by_user(self, text: str) -> None:
        self.edit.setText(text)
        self.edited = bool(text.strip())

    def follow(self, *_args) -> None:
        if not self.edited:
            self.edit.setText(self.derive())

    def text(self) -> str:
        """The field, or (emptied) the default it would follow."""
        return self.edit.text().strip() or self.derive()
