"""The yes/no questions the viewer asks before it destroys something: overwrite a file,
quit while a training or an evaluation child runs.

One function asks them all (:func:`ask_yes_no`), so a test answers every question by
patching it (the SLEAP ask / do split), and the wording lives next to the decision.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

#: platforms on which no one can see, hence answer, a question
_UNSEEN = ("offscreen", "minimal")


def ask_yes_no(parent, title: str, text: str, default: bool = False) -> bool:
    """A Yes / No message box; True for Yes.

    On a platform nobody sees (``offscreen``: the headless screenshot run, the tests) a
    modal box would wait forever, so the ``default`` answer is taken instead.
    """
    if QGuiApplication.platformName() in _UNSEEN:
        return default
    b = QMessageBox.StandardButton
    answer = QMessageBox.question(parent, title, text, b.Yes | b.No, b.Yes if default else b.No)
    return answer == b.Yes


def existing(paths) -> list[str]:
    """The paths among ``paths`` that exist (the ones a write would replace)."""
    return [str(p) for p in paths if os.path.lexists(p)]


def confirm_overwrite(parent, paths, what: str = "file") -> bool:
    """True when nothing in ``paths`` exists, or the user agrees to replace what does."""
    found = existing(paths)
    if not found:
        return True
    names = ", ".join(Path(p).name for p in found[:4]) + (f" and {len(found) - 4} more" if len(found) > 4 else "")
    folder = Path(found[0]).parent
    text = (f"{names} already exist{'s' if len(found) == 1 else ''} in {folder}.\n"
            f"Replace {'it' if len(found) == 1 else 'them'}?")
    return ask_yes_no(parent, f"Replace {what}?", text)


def running_children(ctx) -> list[str]:
    """What would be stopped by quitting: the training and evaluation child processes
    (``ctx``: the window's :class:`~avsol_viewer.context.WindowContext`)."""
    found = []
    for name, title in (("training", "Training"), ("evaluation", "Evaluation")):
        feature = ctx.feature(name)
        if feature is not None and feature.job.running():
            found.append(title)
    return found


def confirm_quit(ctx) -> bool:
    """Before the window closes: True to go on (nothing running, or the user agrees to stop
    it; both children stop resumable: Resume continues from their last save)."""
    found = running_children(ctx)
    if not found:
        return True
    what = " and ".join(found)
    verb = "is" if len(found) == 1 else "are"
    return ask_yes_no(ctx.widget, "Quit AVSOL Studio?",
                      f"{what} {verb} running: stop {'it' if len(found) == 1 else 'them'} "
                      f"(resumable) and quit?", default=True)


def install_quit_confirmation(ctx) -> None:
    """Ask :func:`confirm_quit` before the window closes (once, whoever installs it first)."""
    ctx.ask_before_close("quit", lambda: confirm_quit(ctx))
