"""Annotate mode's edits of the segment shown: draw, move, nudge, resize, label, toggle,
delete, copy forward, mark "no sounding object"; each one undo step.

Every edit is one of the document's commands (``model_core.annotate.commands``) pushed on
the mode's ``QUndoStack`` inside :class:`_Edit`, so undo and redo go back to its segment.
:class:`BoxEdits` is a part of :class:`~avsol_viewer.annotate.mode.AnnotateMode` (its
base class), kept apart because it is the one job here that grows with each new kind of
edit; it uses the mode's set, segment, selection, view, stack and context.
"""
from __future__ import annotations

from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QInputDialog

from avsol_viewer.annotate.keys import RECENT
from model_core.annotate import commands as ac
from model_core.annotate import document as ad


class _Edit(QUndoCommand):
    """One of the document's commands (``model_core.annotate.document``) on the undo stack;
    undo and redo go back to its segment."""

    def __init__(self, mode: "BoxEdits", cmd: ac.Command):
        super().__init__(cmd.text)
        self.mode, self.cmd = mode, cmd

    def redo(self) -> None:
        self.cmd.do()
        self.mode._after_edit(self.cmd)

    def undo(self) -> None:
        self.cmd.undo()
        self.mode._after_edit(self.cmd)


class BoxEdits:
    """The edits of :class:`~avsol_viewer.annotate.mode.AnnotateMode` (see the module docstring)."""

    def refuse_read_only(self) -> bool:
        """True (and a status message saying why) in the consensus view: its boxes are an
        average of several annotators' and belong to none of them, so nothing edits them."""
        if self.view != "consensus":
            return False
        self.ctx.status("the consensus view is read-only: show your boxes or all annotators' to edit", 5000)
        self.refresh()   # a refused drag leaves nothing drawn
        return True

    def run_edit(self, cls, *args, **kwargs) -> None:
        """Push one document command for the current segment, by this annotator."""
        if self.refuse_read_only():
            return
        try:
            cmd = cls(self.doc, self.video, self.index, *args, who=self.annotator, **kwargs)
        except ValueError as exc:   # a box that collapses inside the frame
            self.ctx.status(str(exc), 5000)
            return
        self.stack.push(_Edit(self, cmd))

    def _after_edit(self, cmd) -> None:
        if cmd.video == self.video and cmd.index != self.index:
            self.go_to(cmd.index)
        if self.selected_box() is None:
            self.selected = -1
        self.refresh()

    def label_for_new(self) -> str | None:
        """The label a new box takes: the most recent class."""
        return self.recent[0] if self.recent else None

    def add_box(self, x1: float, y1: float, x2: float, y2: float) -> None:
        if self.refuse_read_only():
            return
        self.run_edit(ac.AddBox, (x1, y1, x2, y2), label=self.label_for_new())
        boxes = self.current().boxes
        if boxes:
            self.select(boxes[-1].id)

    def move_box(self, key: int, x1: float, y1: float, x2: float, y2: float) -> None:
        self.selected = key
        self.run_edit(ac.MoveBox, key, (x1, y1, x2, y2))

    def nudge(self, dx: float, dy: float) -> None:
        """Move the selected box by (``dx``, ``dy``) of the frame, keeping its size: at the
        frame's edge it stops there (one undo step per key press)."""
        box = self._need_selected()
        if box is None:
            return
        dx = min(max(dx, -box.x1), 1.0 - box.x2)
        dy = min(max(dy, -box.y1), 1.0 - box.y2)
        if dx or dy:
            self.move_box(box.id, *(round(v, 6) for v in (box.x1 + dx, box.y1 + dy, box.x2 + dx, box.y2 + dy)))

    def resize_by(self, dw: float, dh: float) -> None:
        """Move the selected box's right edge by ``dw`` and its bottom edge by ``dh`` of the
        frame (clipped to it; a box that would vanish is refused with a status message)."""
        box = self._need_selected()
        if box is None:
            return
        x2, y2 = round(min(1.0, box.x2 + dw), 6), round(min(1.0, box.y2 + dh), 6)
        if x2 <= box.x1 or y2 <= box.y1:
            self.ctx.status("the box cannot get smaller (delete it instead)", 5000)
            return
        self.move_box(box.id, box.x1, box.y1, x2, y2)

    def _need_selected(self) -> ad.EditBox | None:
        box = self.selected_box()
        if box is None:
            self.ctx.status("no box selected (Tab, or click one)", 5000)
        return box

    def label_from_box(self, text: str) -> None:
        """The dock's class box was picked or typed: label the selected box, keys back to the canvas."""
        self.set_label(text)
        self.canvas.setFocus()

    def set_label(self, label: str) -> None:
        label = (label or "").strip()
        if not label:
            return
        self.recent = [label] + [x for x in self.recent if x != label][:RECENT - 1]
        box = self._need_selected()
        if box is not None and box.label != label:
            self.run_edit(ac.Relabel, box.id, label)
        if self.class_box.findText(label) < 0:
            self.class_box.addItem(label)

    def ask_label(self) -> None:
        label, ok = QInputDialog.getItem(self.ctx.widget, "Label", "Class of the selected box:",
                                         self.doc.labels() or [""], 0, True)
        if ok:
            self.set_label(label)

    def recent_label(self, n: int) -> None:
        if 0 < n <= len(self.recent):
            self.set_label(self.recent[n - 1])

    def toggle_sounding(self) -> None:
        box = self._need_selected()
        if box is not None:
            self.run_edit(ac.ToggleSounding, box.id)

    def delete_box(self) -> None:
        box = self._need_selected()
        if box is not None:
            self.selected = -1
            self.run_edit(ac.DeleteBox, box.id)

    def copy_forward(self) -> None:
        """This annotator's boxes of the previous segment, copied here to nudge."""
        if self.index > 0:
            self.run_edit(ac.CopyPrevious)

    def toggle_no_object(self) -> None:
        """Mark / unmark "no sounding object visible" (marking drops this annotator's
        sounding boxes here, which would contradict it; undo brings them back)."""
        self.run_edit(ac.MarkNoSounding, on=not self.no_object())
