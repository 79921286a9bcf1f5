"""Annotate mode in the main window (issue 30): Annotate › Start, the keys, undo, autosave.

The window gets an "Annotate" menu (:func:`install_annotate_actions`, like every feature's
``install_*``). Starting swaps the heads' canvas for :class:`~avsol_viewer.annotate.canvas.AnnotateCanvas`
and opens the Annotate dock (label, sounding, view, the folder's videos with progress).

Nothing is lost: every edit is one :class:`QUndoCommand` wrapping the document's command
(Ctrl+Z / Ctrl+Shift+Z); a burst of edits is autosaved once it settles (``AUTOSAVE_MS``)
through the document's atomic autosave; on start an autosave left behind (a crash, a kill)
is offered back through the project's one yes/no question (:func:`avsol_viewer.asks.ask_yes_no`);
saving takes the output lock, so a second viewer writing the same file is refused with one
message naming the first one's pid. Ask / do split as elsewhere: ``ask_*`` shows a dialog,
the plain method does the work (tests call it).
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (QComboBox, QDialog, QDockWidget, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from avsol_viewer import asks
from avsol_viewer.annotate.canvas import AnnotateCanvas
from model_core.annotate import autosave as asv
from model_core.annotate import commands as ac
from model_core.annotate import document as ad
from model_core.annotate.agreement import consensus, segment_agreement
from model_core.data_layout import AVSOL_E_FILE
from model_core.errors import InputError
from model_core.media_extensions import VIDEO

#: quiet time after the last edit before the autosave is written (one write per burst)
AUTOSAVE_MS = 1500
#: how many recent classes the number keys reach
RECENT = 9

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
    ("no_object", "No sounding object visible", "O", "mark it for this annotator (the file's no_sounding)"),
    ("play_segment", "Play segment", "Shift+Space", "play the segment's 1 s of sound"),
    ("undo", "Undo", "Ctrl+Z", "undo the last edit"),
    ("redo", "Redo", "Ctrl+Shift+Z", "redo it"),
    ("save", "Save annotations", "Ctrl+S", "write the AVSOL-E file (validated, atomic)"),
    ("keys", "Keys…", "Shift+F1", "this list"),
]
#: 1-9: the recent classes (most recent first), listed in the Keys dialog as one row
RECENT_KEYS_ROW = ("1 … 9", "give the selected box the n-th most recent class")


class _Edit(QUndoCommand):
    """One of the document's commands (``model_core.annotate.document``) on the undo stack;
    undo and redo go back to its segment."""

    def __init__(self, mode: "AnnotateMode", cmd: ac.Command):
        super().__init__(cmd.text)
        self.mode, self.cmd = mode, cmd

    def redo(self) -> None:
        self.cmd.do()
        self.mode._after_edit(self.cmd)

    def undo(self) -> None:
        self.cmd.undo()
        self.mode._after_edit(self.cmd)


class AnnotateMode(QObject):
    """Annotate mode of ``window`` (see the module docstring)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.c = window.controller
        self.doc: ad.AnnotationDocument | None = None
        self.annotator: str | None = None
        self.video: str | None = None
        self.index = 0
        self.selected = -1
        #: "one": this annotator's boxes; "all": everyone's; "consensus": the boxes a majority
        #: drew, averaged (``agreement.consensus``), read-only: they are nobody's to edit
        self.view = "one"
        self.recent: list[str] = []
        self.stack = QUndoStack(self)
        self.canvas: AnnotateCanvas | None = None
        self.dock: QDockWidget | None = None
        self._stop_at: float | None = None
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.flush_autosave)
        self.stack.indexChanged.connect(lambda _i: self._autosave.start())
        self.actions: dict[str, QAction] = {}
        self.c.frame_shown.connect(self._on_frame)
        self.c.session_changed.connect(self._on_session)
        self.c.player.time_changed.connect(self._on_time)

    @property
    def active(self) -> bool:
        return self.doc is not None

    # -- start / stop -------------------------------------------------------------------
    def start(self, annotations: str | os.PathLike | None = None, annotator: str | None = None) -> bool:
        """Annotate the open video into ``annotations`` (default: the folder's avsol-e.json).

        A malformed existing file is one message naming it and its first problem, and
        nothing is written; a file another process writes is refused the same way.
        """
        s = self.c.session
        if s is None:
            self.window._error("Annotate", "Open a video first (File › Open video…)")
            return False
        path = Path(annotations) if annotations else s.path.parent / AVSOL_E_FILE
        if self.doc is not None:
            self.stop()
        try:
            doc = ad.AnnotationDocument.load(path) if path.exists() else ad.AnnotationDocument(path=path)
            doc.claim(path)   # held while annotating: a second viewer is refused at once
        except InputError as exc:
            self.window._error("Cannot annotate", _one_line(exc))
            return False
        if asv.find_recovery(path) is not None:
            if asks.ask_yes_no(self.window, "Recover annotations?",
                               f"Unsaved annotations of {path.name} were left by a viewer that stopped "
                               f"({asv.autosave_path(path).name}). Recover them?", default=True):
                try:
                    recovered = asv.recover(path)
                except InputError as exc:
                    self.window._error("Cannot recover", _one_line(exc))
                else:
                    recovered._lock, doc._lock = doc._lock, None   # the lock goes with the set
                    doc = recovered
            else:
                asv.discard_autosave(path)
        self.doc = doc
        self.path = path
        self.annotator = annotator or os.environ.get("USER") or "annotator 1"
        self.stack.clear()
        self._build_widgets()
        self._show_canvas(True)
        self._enable(True)
        self._on_session(s)
        return True

    def stop(self) -> None:
        """Leave annotate mode (the autosave is written first; the heads come back)."""
        if self.doc is None:
            return
        self.flush_autosave()
        self.doc.release()
        self.doc = None
        self._show_canvas(False)
        self._enable(False)
        self.window.spectrogram.set_highlight(None)

    def _show_canvas(self, on: bool) -> None:
        heads = self.window.heads
        split = heads.parentWidget()
        if on and self.canvas.parentWidget() is not split:
            split.insertWidget(split.indexOf(heads), self.canvas)
        heads.setVisible(not on)
        self.canvas.setVisible(on)
        self.dock.setVisible(on)

    def _enable(self, on: bool) -> None:
        for name, act in self.actions.items():
            if name not in ("start",):
                act.setEnabled(on)
        for k in range(RECENT):
            self.actions.get(f"recent{k + 1}", QAction()).setEnabled(on)

    # -- widgets ------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        if self.canvas is not None:
            self._fill_classes()
            return
        self.canvas = AnnotateCanvas()
        self.canvas.box_drawn.connect(self.add_box)
        self.canvas.box_changed.connect(self.move_box)
        self.canvas.box_clicked.connect(self.select)
        panel = QWidget()
        lay = QVBoxLayout(panel)
        self.segment_label = QLabel()
        self.segment_label.setWordWrap(True)
        lay.addWidget(self.segment_label)
        self.class_box = QComboBox()
        self.class_box.setEditable(True)
        self.class_box.setToolTip("the selected box's class (type a new one, or pick); T")
        # picked or typed + Return; the keys then go back to the canvas (a line edit keeps Ctrl+Z)
        self.class_box.textActivated.connect(self._label_from_box)
        self.class_box.lineEdit().returnPressed.connect(lambda: self._label_from_box(self.class_box.currentText()))
        lay.addWidget(QLabel("Label"))
        lay.addWidget(self.class_box)
        self.view_box = QComboBox()
        self.view_box.addItem("One annotator (mine)", "one")
        self.view_box.addItem("All annotators", "all")
        self.view_box.addItem("Consensus (read-only)", "consensus")
        self.view_box.activated.connect(lambda i: self.set_view(self.view_box.itemData(i)))
        lay.addWidget(QLabel("Show"))
        lay.addWidget(self.view_box)
        row = QHBoxLayout()
        for text, slot in (("Copy previous", self.copy_forward), ("No object", self.toggle_no_object),
                           ("Save", self.save)):
            b = QPushButton(text)
            b.clicked.connect(slot)
            row.addWidget(b)
        lay.addLayout(row)
        prefill = QPushButton("Prefill from head")
        prefill.setToolTip("boxes from the first loaded head's thresholded map of the segment frame")
        prefill.clicked.connect(self.prefill)
        lay.addWidget(prefill)
        lay.addWidget(QLabel("Videos of the folder (segments done / all)"))
        self.video_list = QListWidget()
        self.video_list.itemActivated.connect(lambda item: self.open_video(item.data(Qt.ItemDataRole.UserRole)))
        lay.addWidget(self.video_list, 1)
        nxt = QPushButton("Next unfinished video")
        nxt.clicked.connect(self.next_unfinished_video)
        lay.addWidget(nxt)
        self.dock = QDockWidget("Annotate", self.window)
        self.dock.setObjectName("annotate_dock")
        self.dock.setWidget(panel)
        self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self._fill_classes()

    def _fill_classes(self) -> None:
        self.class_box.clear()
        self.class_box.addItems(self.doc.labels())

    # -- where we are -------------------------------------------------------------------
    def _on_session(self, session) -> None:
        if self.doc is None or session is None:
            return
        self.video = session.path.name
        if self.doc.video(self.video) is None:   # a video with no annotations yet: whole seconds
            self.doc.add_video(self.video, max(1, int(session.timeline.duration + 1e-6)))
        self.selected = -1
        self.go_to(0)
        self._fill_videos()

    def segments(self):
        return self.doc.video(self.video).segments

    def current(self):
        return self.segments()[self.index]

    def go_to(self, index: int) -> None:
        """Show segment ``index``: the player seeks to its frame, the spectrogram marks its stretch."""
        if self.doc is None or self.video is None:
            return
        index = min(max(int(index), 0), len(self.segments()) - 1)
        if index != self.index:
            self.selected = -1
        self.flush_autosave()
        self.index = index
        seg = self.current()
        self.c.player.pause()
        self.c.player.seek(seg.frame_time)
        self.window.spectrogram.set_highlight((seg.start, seg.end))
        want = self.c.session.timeline.index_at(seg.frame_time)
        if self.c.image is not None and self.c.shown_index == want:
            self.canvas.set_frame(self.c.image)
        self.refresh()

    def go_to_time(self, t: float) -> None:
        """The segment holding time ``t`` (an evaluation item's time)."""
        segs = self.segments()
        at = next((k for k, x in enumerate(segs) if x.start <= t < x.end), None)
        if at is None:   # past the end, or between listed segments: the nearest frame
            at = min(range(len(segs)), key=lambda k: abs(segs[k].frame_time - t))
        self.go_to(at)

    def step(self, n: int) -> None:
        self.go_to(self.index + n)

    def next_unannotated(self) -> None:
        segs = self.segments()
        for k in list(range(self.index + 1, len(segs))) + list(range(0, self.index)):
            if not self._done(segs[k]):
                self.go_to(k)
                return
        self.window.statusBar().showMessage("every segment of this video is annotated", 5000)

    def _on_frame(self, index: int, img) -> None:
        if self.doc is None or self.video is None or self.c.session is None:
            return
        if index == self.c.session.timeline.index_at(self.current().frame_time):
            self.canvas.set_frame(img)
            self.refresh()

    def _on_time(self, t: float) -> None:
        if self._stop_at is not None and t >= self._stop_at:
            self._stop_at = None
            self.c.player.pause()
            self.go_to(self.index)

    # -- drawing ------------------------------------------------------------------------
    def _done(self, seg) -> bool:
        """Done for this annotator: a box of theirs (or an unnamed one) or their "no sounding
        object" mark (in the all-annotators and consensus views, anyone's)."""
        if self.view in ("all", "consensus"):
            return seg.done
        mine = (self.annotator, None)
        return any(w in seg.no_sounding for w in mine) or any(b.annotator in mine for b in seg.boxes)

    def no_object(self) -> bool:
        return self.annotator in self.current().no_sounding

    def visible(self) -> list[tuple[int, ad.EditBox]]:
        """(box id, box) of the boxes shown: this annotator's and the unnamed ones (a set made
        before this tool, the ground truth being corrected), or everyone's, or the consensus
        (keys -2, -3, ...: computed afresh on each refresh, so not box ids; -1 is "none")."""
        if self.view == "consensus":
            return [(-2 - k, b) for k, b in enumerate(consensus(self.current()))]
        return [(b.id, b) for b in self.current().boxes
                if self.view == "all" or b.annotator in (self.annotator, None)]

    def selected_box(self) -> ad.EditBox | None:
        for b in self.current().boxes:
            if b.id == self.selected:
                return b
        return None

    def refresh(self) -> None:
        if self.doc is None or self.video is None or self.canvas is None:
            return
        seg = self.current()
        done, total = sum(self._done(x) for x in self.segments()), len(self.segments())
        mark = " · no sounding object" if self.no_object() else ""
        self.canvas.set_title(f"{self.video} · segment {self.index} (0–{total - 1}) "
                              f"[{seg.start:g}, {seg.end:g}) s · frame at {seg.frame_time:g} s{mark}")
        self.canvas.set_boxes(self.visible(), self.selected, editable=self.view != "consensus")
        who = ", ".join(w or "unnamed" for w in self.doc.annotators)
        self.segment_label.setText(f"Annotator: {self.annotator} (in the set: {who or 'none yet'})<br>"
                                   f"{done}/{total} segments done · {len(seg.boxes)} box(es) here{mark}"
                                   f"{self._agreement_text(seg)}")
        box = self.selected_box()
        if box is not None:
            self.class_box.setEditText(box.label or "")
        self._update_video_item()

    def _agreement_text(self, seg) -> str:
        """This annotator against each other one on this segment (``avsol agreement``'s figures)."""
        lines = []
        for other in seg.annotators:
            if other == self.annotator:
                continue
            a = segment_agreement(seg, self.annotator, other)
            if a is None:
                continue
            iou = "–" if a["box_iou"] is None else f"{a['box_iou']:.2f}"
            snd = {None: "–", True: "yes", False: "no"}[a["sounding_agree"]]
            lines.append(f"vs {other or 'unnamed'}: box IoU {iou}, sounding/silent agree {snd}, "
                         f"no-object agree {'yes' if a['no_sounding_agree'] else 'no'}, "
                         f"labels {a['labels'][0]} / {a['labels'][1]}")
        return "".join(f"<br>{x}" for x in lines)

    def select(self, key: int) -> None:
        self.selected = key
        self.refresh()

    def cycle_box(self) -> None:
        keys = [k for k, _ in self.visible()]
        if keys:
            at = keys.index(self.selected) if self.selected in keys else -1
            self.select(keys[(at + 1) % len(keys)])

    def set_view(self, view: str) -> None:
        self.view = view if view in ("one", "all", "consensus") else "one"
        self.view_box.setCurrentIndex(self.view_box.findData(self.view))
        self.selected = -1
        self.refresh()

    # -- edits --------------------------------------------------------------------------
    def _read_only(self) -> bool:
        """True (and a status message saying why) in the consensus view: its boxes are an
        average of several annotators' and belong to none of them, so nothing edits them."""
        if self.view != "consensus":
            return False
        self.window.statusBar().showMessage("the consensus view is read-only: show your boxes or all "
                                            "annotators' to edit", 5000)
        self.refresh()   # a refused drag leaves nothing drawn
        return True

    def _run(self, cls, *args, **kwargs) -> None:
        """Push one document command for the current segment, by this annotator."""
        if self._read_only():
            return
        try:
            cmd = cls(self.doc, self.video, self.index, *args, who=self.annotator, **kwargs)
        except ValueError as exc:   # a box that collapses inside the frame
            self.window.statusBar().showMessage(str(exc), 5000)
            return
        self.stack.push(_Edit(self, cmd))

    def _after_edit(self, cmd) -> None:
        if cmd.video == self.video and cmd.index != self.index:
            self.go_to(cmd.index)
        if self.selected_box() is None:
            self.selected = -1
        self.refresh()

    def _label_for_new(self) -> str | None:
        return self.recent[0] if self.recent else None

    def add_box(self, x1: float, y1: float, x2: float, y2: float) -> None:
        if self._read_only():
            return
        self._run(ac.AddBox, (x1, y1, x2, y2), label=self._label_for_new())
        boxes = self.current().boxes
        if boxes:
            self.select(boxes[-1].id)

    def move_box(self, key: int, x1: float, y1: float, x2: float, y2: float) -> None:
        self.selected = key
        self._run(ac.MoveBox, key, (x1, y1, x2, y2))

    def _need_selected(self) -> ad.EditBox | None:
        box = self.selected_box()
        if box is None:
            self.window.statusBar().showMessage("no box selected (Tab, or click one)", 5000)
        return box

    def _label_from_box(self, text: str) -> None:
        self.set_label(text)
        self.canvas.setFocus()

    def set_label(self, label: str) -> None:
        label = (label or "").strip()
        if not label:
            return
        self.recent = [label] + [x for x in self.recent if x != label][:RECENT - 1]
        box = self._need_selected()
        if box is not None and box.label != label:
            self._run(ac.Relabel, box.id, label)
        if self.class_box.findText(label) < 0:
            self.class_box.addItem(label)

    def ask_label(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        label, ok = QInputDialog.getItem(self.window, "Label", "Class of the selected box:",
                                         self.doc.labels() or [""], 0, True)
        if ok:
            self.set_label(label)

    def recent_label(self, n: int) -> None:
        if 0 < n <= len(self.recent):
            self.set_label(self.recent[n - 1])

    def toggle_sounding(self) -> None:
        box = self._need_selected()
        if box is not None:
            self._run(ac.ToggleSounding, box.id)

    def delete_box(self) -> None:
        box = self._need_selected()
        if box is not None:
            self.selected = -1
            self._run(ac.DeleteBox, box.id)

    def copy_forward(self) -> None:
        """This annotator's boxes of the previous segment, copied here to nudge."""
        if self.index > 0:
            self._run(ac.CopyPrevious)

    def toggle_no_object(self) -> None:
        """Mark / unmark "no sounding object visible" (marking drops this annotator's
        sounding boxes here, which would contradict it; undo brings them back)."""
        self._run(ac.MarkNoSounding, on=not self.no_object())

    def play_segment(self) -> None:
        seg = self.current()
        self.c.player.seek(seg.start)
        self._stop_at = seg.end
        self.c.player.play()

    def prefill(self) -> None:
        """Boxes from the first loaded head's map of the segment frame, for the annotator to
        accept or fix: the map as the overlay shows it (normalised by its kind, absolute
        scale) goes to the document's ``prefill_boxes``; boxes come back in fractions of the
        map, placed on the map's region of the frame (a centre-cropping head's crop). One
        message when no head is loaded; a map not computed yet is asked for."""
        if self._read_only():
            return
        maps = self.c.maps
        models = list(getattr(maps, "models", []) or [])
        if not models:
            self.window._error("Prefill", "Load a model first (File › Add model…)")
            return
        s = self.c.session
        index = s.timeline.index_at(self.current().frame_time)
        key = models[0].key
        entry, _ = maps.entry(key, index)
        if entry is None:
            maps.want(index, priority=(index,))
            self.window.statusBar().showMessage("the head's map of this frame is being computed; try again", 5000)
            return
        try:
            from model_core.annotate.prefill import prefill_boxes
        except ImportError:
            self.window._error("Prefill", "prefill needs model_core.annotate.prefill (not in this build)")
            return
        dm = maps.traits(key).prepare(entry.map, "absolute", s.width, s.height)
        try:
            found = list(prefill_boxes(dm.values))
        except (TypeError, ValueError) as exc:
            self.window._error("Prefill", f"cannot prefill from {models[0].name}: {exc}")
            return
        rx0, ry0, rx1, ry1 = dm.region
        for b in found:
            x1, y1, x2, y2 = b.coords if hasattr(b, "coords") else tuple(b[:4])
            self._run(ac.AddBox, (rx0 + x1 * (rx1 - rx0), ry0 + y1 * (ry1 - ry0),
                                  rx0 + x2 * (rx1 - rx0), ry0 + y2 * (ry1 - ry0)), label=self._label_for_new())
        if not found:
            self.window.statusBar().showMessage("the head's map has no region above its threshold here", 5000)

    # -- saving -------------------------------------------------------------------------
    def flush_autosave(self) -> None:
        self._autosave.stop()
        if self.doc is not None and self.doc.modified:
            try:
                asv.write_autosave(self.doc, self.path)
            except OSError as exc:
                self.window.statusBar().showMessage(f"autosave failed: {exc}", 8000)

    def save(self) -> bool:
        try:
            self.doc.save(self.path)
        except (InputError, ValueError) as exc:
            self.window._error("Cannot save annotations", _one_line(exc))
            return False
        self.stack.setClean()
        self.window.statusBar().showMessage(f"saved {self.path}", 5000)
        self._fill_videos()
        return True

    # -- the folder's videos ------------------------------------------------------------
    def _folder_videos(self) -> list[Path]:
        if self.c.session is None:
            return []
        folder = self.c.session.path.parent
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO and p.is_file())

    def _progress_text(self, name: str) -> tuple[str, bool]:
        v = self.doc.video(name)
        done, total = v.progress if v is not None else (0, 0)
        if total == 0:
            return f"{name} — not started", False
        return f"{name} — {done}/{total}", done >= total

    def _fill_videos(self) -> None:
        self.video_list.clear()
        for p in self._folder_videos():
            text, _ = self._progress_text(p.name)
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, str(p))
            self.video_list.addItem(item)
            if p.name == self.video:
                self.video_list.setCurrentItem(item)

    def _update_video_item(self) -> None:
        for k in range(self.video_list.count()):
            item = self.video_list.item(k)
            name = Path(item.data(Qt.ItemDataRole.UserRole)).name
            if name == self.video:
                item.setText(self._progress_text(name)[0])

    def open_video(self, path: str) -> None:
        self.flush_autosave()
        self.window.open_path(path)

    def next_unfinished_video(self) -> None:
        videos = self._folder_videos()
        names = [p.name for p in videos]
        start = names.index(self.video) + 1 if self.video in names else 0
        for p in videos[start:] + videos[:start]:
            if p.name != self.video and not self._progress_text(p.name)[1]:
                self.open_video(str(p))
                return
        self.window.statusBar().showMessage("every video of the folder is annotated", 5000)

    # -- keys ---------------------------------------------------------------------------
    def show_keys(self) -> None:
        dlg = QDialog(self.window)
        dlg.setWindowTitle("Annotate keys")
        rows = [(text, key) for _, text, key, _ in KEYS] + [(RECENT_KEYS_ROW[1], RECENT_KEYS_ROW[0])]
        table = QTableWidget(len(rows), 2, dlg)
        table.setHorizontalHeaderLabels(["Key", "Does"])
        for r, (text, key) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(key))
            table.setItem(r, 1, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        QVBoxLayout(dlg).addWidget(table)
        self.keys_dialog = dlg
        dlg.resize(520, 520)
        dlg.show()


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def install_annotate_actions(window) -> AnnotateMode:
    """The Annotate menu: Start / Stop, every key of :data:`KEYS` (enabled while annotating)."""
    mode = AnnotateMode(window)
    window.annotate = mode
    window.close_hooks.append(mode.stop)   # the last edits autosaved, the set's lock given back
    menu = window.menuBar().addMenu("&Annotate")
    from avsol_viewer.playback.transport import make_action

    start = make_action(window, "&Start annotating", None, lambda: mode.start())
    stop = make_action(window, "St&op annotating", None, mode.stop)
    menu.addAction(start)
    menu.addAction(stop)
    menu.addSeparator()
    mode.actions["start"] = start
    mode.actions["stop"] = stop
    slots = {
        "next_segment": lambda: mode.step(1), "prev_segment": lambda: mode.step(-1),
        "next_unannotated": mode.next_unannotated, "cycle_box": mode.cycle_box, "label": mode.ask_label,
        "toggle_sounding": mode.toggle_sounding, "delete": mode.delete_box, "copy_forward": mode.copy_forward,
        "no_object": mode.toggle_no_object, "play_segment": mode.play_segment, "undo": mode.stack.undo,
        "redo": mode.stack.redo, "save": mode.save, "keys": mode.show_keys,
    }
    for name, text, key, tip in KEYS:
        act = make_action(window, text, key, slots[name], tip=tip)
        mode.actions[name] = act
        menu.addAction(act)
    for k in range(1, RECENT + 1):
        act = make_action(window, f"Recent class {k}", str(k), lambda k=k: mode.recent_label(k))
        mode.actions[f"recent{k}"] = act
        window.addAction(act)
    mode._enable(False)
    return mode
