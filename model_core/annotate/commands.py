"""The edits of an annotation set: each one undoable, recording who made it and when.

One class per kind of edit (add, move/resize, relabel, toggle sounding, delete, copy the
previous segment forward, mark "no sounding object"), each changing one segment of an
:class:`~model_core.annotate.document.AnnotationDocument`. The viewer puts them on a
``QUndoStack``; the document records what they changed for its history.
"""
from __future__ import annotations

import copy
from dataclasses import replace
from types import EllipsisType
from typing import Iterable

from model_core.annotate.document import (AnnotationDocument, EditBox, EditSegment, _ids, check_coords,
                                          now_utc)


class Command:
    """One undoable edit of one segment. ``do()`` applies (and re-applies) it, ``undo()`` reverts.

    The viewer wraps it: ``QUndoCommand.redo -> cmd.do()``, ``undo -> cmd.undo()``.
    ``who`` / ``when`` say who made the edit and when it was first done (UTC).
    """

    text = "edit"

    def __init__(self, doc: AnnotationDocument, video: str, index: int, who: str | None = None):
        self.doc, self.video, self.index, self.who = doc, video, index, who
        self.when: str | None = None
        self._before: dict | None = None
        self._after: dict | None = None

    @property
    def segment(self) -> EditSegment:
        return self.doc.segment(self.video, self.index)

    def apply(self, seg: EditSegment) -> Iterable[int]:
        """Change ``seg``; return the ids of boxes changed (for the history's who/when)."""
        raise NotImplementedError

    def do(self) -> None:
        seg = self.segment
        if self._after is None:
            self.when = now_utc()
            was_done = seg.done
            self._before = seg.snapshot()
            self._ids = list(self.apply(seg))
            self._after = seg.snapshot()
            seg.version += 1
            self.doc.record_change(self.video, self.index, self._before["boxes"], was_done, self._ids,
                                   self.who, self.when)
        else:
            assert self.when is not None        # set by the first do
            self.doc.record_change(self.video, self.index, seg.boxes, seg.done, self._ids, self.who, self.when)
            seg.restore(self._after)
        self.doc.revision += 1

    def undo(self) -> None:
        if self._before is None:
            return
        seg = self.segment
        self.doc.record_change(self.video, self.index, seg.boxes, seg.done, self._ids, self.who, now_utc())
        seg.restore(self._before)
        self.doc.revision += 1


class AddBox(Command):
    """Draw a box. A sounding box in a background segment makes it an event segment, and
    clears its annotator's "no sounding object" mark (the two contradict)."""

    text = "add box"

    def __init__(self, doc, video, index, coords, label=None, sounding=True, who=None):
        super().__init__(doc, video, index, who)
        self.box = EditBox(*check_coords(coords), label=label, sounding=sounding, annotator=who)

    def apply(self, seg):
        seg.boxes.append(copy.deepcopy(self.box))
        if self.box.sounding:
            seg.event = True
            if self.who in seg.no_sounding:
                seg.no_sounding.remove(self.who)
        return [self.box.id]


class MoveBox(Command):
    """Move or resize a box to new coordinates (ordered and clipped to the frame)."""

    text = "move box"

    def __init__(self, doc, video, index, box_id, coords, who=None):
        super().__init__(doc, video, index, who)
        self.box_id, self.coords = box_id, check_coords(coords)

    def apply(self, seg):
        b = seg.box(self.box_id)
        b.x1, b.y1, b.x2, b.y2 = self.coords
        return [self.box_id]


class Relabel(Command):
    text = "relabel box"

    def __init__(self, doc, video, index, box_id, label, who=None):
        super().__init__(doc, video, index, who)
        self.box_id, self.label = box_id, (label or None)

    def apply(self, seg):
        seg.box(self.box_id).label = self.label
        return [self.box_id]


class ToggleSounding(Command):
    """Sounding <-> silent. Making a box sounding makes a background segment an event."""

    text = "toggle sounding"

    def __init__(self, doc, video, index, box_id, who=None):
        super().__init__(doc, video, index, who)
        self.box_id = box_id

    def apply(self, seg):
        b = seg.box(self.box_id)
        b.sounding = not b.sounding
        if b.sounding:
            seg.event = True
            if b.annotator in seg.no_sounding:
                seg.no_sounding.remove(b.annotator)
        return [self.box_id]


class DeleteBox(Command):
    text = "delete box"

    def __init__(self, doc, video, index, box_id, who=None):
        super().__init__(doc, video, index, who)
        self.box_id = box_id

    def apply(self, seg):
        seg.boxes.remove(seg.box(self.box_id))
        return [self.box_id]


class CopyPrevious(Command):
    """Copy the previous segment's boxes of ``source`` (default: ``who``) into this one.

    The common case: the object has not moved. Copies are new boxes owned by ``who``; the
    annotator's boxes already here are kept. A no-op on the first segment.
    """

    text = "copy previous segment"

    def __init__(self, doc, video, index, who=None, source: str | None | EllipsisType = ...):
        super().__init__(doc, video, index, who)
        self.source = who if source is ... else source

    def apply(self, seg):
        if self.index == 0:
            return []
        prev = self.doc.segment(self.video, self.index - 1)
        added = []
        for b in prev.boxes_of(self.source):
            nb = replace(b, annotator=self.who, id=next(_ids))
            seg.boxes.append(nb)
            added.append(nb.id)
            if nb.sounding:
                seg.event = True
                if self.who in seg.no_sounding:
                    seg.no_sounding.remove(self.who)
        return added


class MarkNoSounding(Command):
    """Mark (``on``) or unmark "no sounding object visible" for ``who`` in this segment.

    Marking removes ``who``'s sounding boxes there (they would contradict the mark);
    silent boxes stay.
    """

    text = "no sounding object"

    def __init__(self, doc, video, index, on=True, who=None):
        super().__init__(doc, video, index, who)
        self.on = on

    def apply(self, seg):
        removed = []
        if self.on:
            if self.who not in seg.no_sounding:
                seg.no_sounding.append(self.who)
            removed = [b.id for b in seg.boxes_of(self.who, sounding=True)]
            seg.boxes = [b for b in seg.boxes if b.id not in removed]
        elif self.who in seg.no_sounding:
            seg.no_sounding.remove(self.who)
        return removed
