"""Annotate mode's keys: the table of shortcuts, the Annotate menu built from it, the Keys dialog.

One table (:data:`KEYS`) makes the menu's actions, the Keys dialog and the keys section of
docs/annotate.md (a test keeps the doc in step), so a shortcut is named in one place. The
menu is wired to an :class:`~avsol_viewer.annotate.mode.AnnotateMode` passed in; this module
does not import the mode, which builds its menu through it.
"""
from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QTableWidget, QTableWidgetItem, QVBoxLayout

#: how many recent classes the number keys reach
RECENT = 9
#: how far a nudge key moves a box or one of its edges, as a share of the frame
NUDGE = 0.01

#: (action name, menu text, key, what it does) - the Keys dialog and docs/annotate.md list these
KEYS = [
    ("next_segment", "Next segment", "D", "go to the next 1 s segment"),
    ("prev_segment", "Previous segment", "A", "go to the previous 1 s segment"),
    ("next_unannotated", "Next unannotated segment", "Shift+D", "the next segment with no box and no mark"),
    ("cycle_box", "Cycle boxes", "Tab", "select the next box of the segment"),
    ("label", "Label…", "T", "type or pick the selected box's class (set's class list)"),
    ("toggle_sounding", "Toggle sounding / silent", "S", "the selected box makes the sound or not"),
    ("delete", "Delete box", "Delete", "remove the selected box"),
    ("copy_forward", "Copy previous segment's boxes", "R", "the previous segment's boxes, to nudge"),
    ("nudge_left", "Nudge box left", "Alt+Left", "move the selected box 1 % of the frame left"),
    ("nudge_right", "Nudge box right", "Alt+Right", "move the selected box 1 % of the frame right"),
    ("nudge_up", "Nudge box up", "Alt+Up", "move the selected box 1 % of the frame up"),
    ("nudge_down", "Nudge box down", "Alt+Down", "move the selected box 1 % of the frame down"),
    ("widen", "Widen box", "Alt+Shift+Right", "move the selected box's right edge 1 % right"),
    ("narrow", "Narrow box", "Alt+Shift+Left", "move the selected box's right edge 1 % left"),
    ("taller", "Make box taller", "Alt+Shift+Down", "move the selected box's bottom edge 1 % down"),
    ("shorter", "Make box shorter", "Alt+Shift+Up", "move the selected box's bottom edge 1 % up"),
    ("no_object", "No sounding object visible", "O", "mark it for this annotator (the file's no_sounding)"),
    ("play_segment", "Play segment", "Shift+Space", "play the segment's 1 s of sound"),
    ("undo", "Undo", "Ctrl+Z", "undo the last edit"),
    ("redo", "Redo", "Ctrl+Shift+Z", "redo it"),
    ("save", "Save annotations", "Ctrl+S", "write the AVSOL-E file (validated, atomic)"),
    ("keys", "Keys…", "Shift+F1", "this list"),
]
#: 1-9: the recent classes (most recent first), listed in the Keys dialog as one row
RECENT_KEYS_ROW = ("1 … 9", "give the selected box the n-th most recent class")


def keys_dialog(parent) -> QDialog:
    """A dialog listing :data:`KEYS` (key, what it does), shown, not modal."""
    dlg = QDialog(parent)
    dlg.setWindowTitle("Annotate keys")
    rows = [(text, key) for _, text, key, _ in KEYS] + [(RECENT_KEYS_ROW[1], RECENT_KEYS_ROW[0])]
    table = QTableWidget(len(rows), 2, dlg)
    table.setHorizontalHeaderLabels(["Key", "Does"])
    for r, (text, key) in enumerate(rows):
        table.setItem(r, 0, QTableWidgetItem(key))
        table.setItem(r, 1, QTableWidgetItem(text))
    table.resizeColumnsToContents()
    QVBoxLayout(dlg).addWidget(table)
    dlg.resize(520, 520)
    dlg.show()
    return dlg


def install_menu(ctx, mode) -> dict[str, QAction]:
    """The Annotate menu (asked of the window's context ``ctx``) wired to ``mode``: Start /
    Stop, Import…, then every key of :data:`KEYS` and the recent-class keys 1-9 (window
    actions, not in the menu).
    Returns the actions by name (``start``, ``stop``, ``import``, the KEYS names, ``recentN``)."""
    from avsol_viewer.playback.transport import make_action

    menu = ctx.menu("&Annotate")
    actions: dict[str, QAction] = {}
    for name, text, slot, tip in (
            ("start", "&Start annotating", lambda: mode.start(), None),
            ("stop", "St&op annotating", mode.stop, None),
            ("import", "&Import VGG-SS / Flickr boxes…", mode.ask_import,
             "start a set from VGG-SS or Flickr-SoundNet annotations (avsol import's importers), then annotate it")):
        actions[name] = make_action(ctx.widget, text, None, slot, tip=tip)
        menu.addAction(actions[name])
    menu.addSeparator()
    slots = {
        "next_segment": lambda: mode.step(1), "prev_segment": lambda: mode.step(-1),
        "next_unannotated": mode.next_unannotated, "cycle_box": mode.cycle_box, "label": mode.ask_label,
        "toggle_sounding": mode.toggle_sounding, "delete": mode.delete_box, "copy_forward": mode.copy_forward,
        "no_object": mode.toggle_no_object, "play_segment": mode.play_segment, "undo": mode.stack.undo,
        "redo": mode.stack.redo, "save": mode.save, "keys": mode.show_keys,
        "nudge_left": lambda: mode.nudge(-NUDGE, 0), "nudge_right": lambda: mode.nudge(NUDGE, 0),
        "nudge_up": lambda: mode.nudge(0, -NUDGE), "nudge_down": lambda: mode.nudge(0, NUDGE),
        "widen": lambda: mode.resize_by(NUDGE, 0), "narrow": lambda: mode.resize_by(-NUDGE, 0),
        "taller": lambda: mode.resize_by(0, NUDGE), "shorter": lambda: mode.resize_by(0, -NUDGE),
    }
    for name, text, key, tip in KEYS:
        actions[name] = make_action(ctx.widget, text, key, slots[name], tip=tip)
        menu.addAction(actions[name])
    for k in range(1, RECENT + 1):
        actions[f"recent{k}"] = make_action(ctx.widget, f"Recent class {k}", str(k), lambda k=k: mode.recent_label(k))
    return actions
