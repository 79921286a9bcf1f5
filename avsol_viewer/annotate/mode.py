"""Annotate mode in the main window: the session of one set (start, segments, edits, save).

The window gets an "Annotate" menu (:func:`install_annotate_actions`, like every feature's
``install_*``; the menu and its keys are :mod:`~avsol_viewer.annotate.keys`'). Starting
swaps the heads' canvas for :class:`~avsol_viewer.annotate.canvas.AnnotateCanvas` and opens
the Annotate dock (:mod:`~avsol_viewer.annotate.side_panel`: label, sounding, view, the
folder's videos with progress). Proposals from a head are :mod:`~avsol_viewer.annotate.head_prefill`'s,
importing VGG-SS / Flickr boxes :mod:`~avsol_viewer.annotate.import_boxes`'.

Nothing is lost: every edit is one :class:`QUndoCommand` wrapping the document's command
(Ctrl+Z / Ctrl+Shift+Z; the edits are :mod:`~avsol_viewer.annotate.edits`'). A burst of edits is autosaved once it settles (``AUTOSAVE_MS``):
the GUI thread takes the snapshot (cheap), :class:`~model_core.annotate.autosave.AutosaveWriter`
encodes and writes it atomically on its own thread, latest snapshot wins, and closing waits
for it. On start an autosave left behind (a crash, a kill) is offered back through the
project's one yes/no question (:func:`avsol_viewer.asks.ask_yes_no`); saving takes the
output lock, so a second viewer writing the same file is refused with one message naming
the first one's pid. Ask / do split as elsewhere: ``ask_*`` shows a dialog, the plain
method does the work (tests call it).
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QDockWidget

from avsol_viewer import asks
from avsol_viewer.annotate import keys as annotate_keys
from avsol_viewer.annotate.canvas import AnnotateCanvas
from avsol_viewer.annotate.edits import BoxEdits
from avsol_viewer.annotate.head_prefill import HeadPrefill
from avsol_viewer.annotate.side_panel import AnnotatePanel, folder_videos, next_unfinished
from model_core.annotate import autosave as asv
from model_core.annotate import document as ad
from model_core.annotate.agreement import consensus, segment_agreement
from model_core.data_layout import AVSOL_E_FILE
from model_core.errors import InputError

#: quiet time after the last edit before the autosave is taken (one write per burst)
AUTOSAVE_MS = 1500


class AnnotateMode(BoxEdits, QObject):
    """Annotate mode of the window whose :class:`~avsol_viewer.context.WindowContext` is
    ``ctx`` (see the module docstring)."""

    #: an autosave write failed (emitted on the writer's thread, shown on the GUI thread)
    autosave_failed = Signal(str)

    def __init__(self, ctx):
        super().__init__(ctx.widget)
        self.ctx = ctx
        self.c = ctx.controller
        self.doc: ad.AnnotationDocument | None = None
        self.path: Path | None = None
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
        self.panel: AnnotatePanel | None = None
        self.dock: QDockWidget | None = None
        self.keys_dialog = None
        self._stop_at: float | None = None
        self.autosaver = asv.AutosaveWriter(on_error=lambda exc: self.autosave_failed.emit(str(exc)))
        self.autosave_failed.connect(
            lambda text: self.ctx.status(f"autosave failed: {text}", 8000))
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.flush_autosave)
        self.stack.indexChanged.connect(lambda _i: self._autosave.start())
        self.prefiller = HeadPrefill(self)
        self.actions = annotate_keys.install_menu(ctx, self)
        self.c.frame_shown.connect(self._on_frame)
        self.c.session_changed.connect(self._on_session)
        self.c.player.time_changed.connect(self._on_time)

    @property
    def active(self) -> bool:
        return self.doc is not None

    # the dock's widgets, by the names the mode has always offered
    @property
    def class_box(self):
        return self.panel.class_box

    @property
    def view_box(self):
        return self.panel.view_box

    @property
    def video_list(self):
        return self.panel.video_list

    @property
    def segment_label(self):
        return self.panel.segment_label

    # -- start / stop -------------------------------------------------------------------
    def start(self, annotations: str | os.PathLike | None = None, annotator: str | None = None,
              prefill: str | None = None, document: ad.AnnotationDocument | None = None) -> bool:
        """Annotate the open video into ``annotations`` (default: the folder's avsol-e.json).

        ``prefill``: a head whose map proposes boxes on each segment reached
        (:class:`~avsol_viewer.annotate.head_prefill.HeadPrefill`). ``document``: a set made
        here (an import) instead of the file's. A malformed existing file is one message
        naming it and its first problem, and nothing is written; a file another process
        writes is refused the same way.
        """
        s = self.c.session
        if s is None:
            self.ctx.error("Annotate", "Open a video first (File › Open video…)")
            return False
        path = Path(annotations) if annotations else s.path.parent / AVSOL_E_FILE
        if self.doc is not None:
            self.stop()
        try:
            if document is not None:
                doc = document
            else:
                doc = ad.AnnotationDocument.load(path) if path.exists() else ad.AnnotationDocument(path=path)
            doc.claim(path)   # held while annotating: a second viewer is refused at once
        except InputError as exc:
            self.ctx.error("Cannot annotate", _one_line(exc))
            return False
        if document is None and asv.find_recovery(path) is not None:
            doc = self._offer_recovery(doc, path)
        self.doc = doc
        self.path = path
        self.annotator = annotator or os.environ.get("USER") or "annotator 1"
        self.prefiller.set_head(prefill)
        self.stack.clear()
        self._build_widgets()
        self._show_canvas(True)
        self._enable(True)
        self._on_session(s)
        return True

    def _offer_recovery(self, doc: ad.AnnotationDocument, path: Path) -> ad.AnnotationDocument:
        """The autosave of ``path`` if the user takes it (declined: it is deleted)."""
        if not asks.ask_yes_no(self.ctx.widget, "Recover annotations?",
                               f"Unsaved annotations of {path.name} were left by a viewer that stopped "
                               f"({asv.autosave_path(path).name}). Recover them?", default=True):
            asv.discard_autosave(path)
            return doc
        try:
            recovered = asv.recover(path)
        except InputError as exc:
            self.ctx.error("Cannot recover", _one_line(exc))
            return doc
        recovered._lock, doc._lock = doc._lock, None   # the lock goes with the set
        return recovered

    def stop(self) -> None:
        """Leave annotate mode: the last edits' autosave is written (waited for), the lock
        given back, the heads come back."""
        if self.doc is None:
            return
        self.flush_autosave(wait=True)
        self.doc.release()
        self.doc = None
        self._show_canvas(False)
        self._enable(False)
        self.ctx.spectrogram.set_highlight(None)

    def _show_canvas(self, on: bool) -> None:
        heads = self.ctx.heads
        split = heads.parentWidget()
        if on and self.canvas.parentWidget() is not split:
            split.insertWidget(split.indexOf(heads), self.canvas)
        heads.setVisible(not on)
        self.canvas.setVisible(on)
        self.dock.setVisible(on)

    def _enable(self, on: bool) -> None:
        for name, act in self.actions.items():
            if name not in ("start", "import"):
                act.setEnabled(on)

    def _build_widgets(self) -> None:
        if self.canvas is None:
            self.canvas = AnnotateCanvas()
            self.canvas.box_drawn.connect(self.add_box)
            self.canvas.box_changed.connect(self.move_box)
            self.canvas.box_clicked.connect(self.select)
            self.panel = AnnotatePanel(self)
            self.dock = self.ctx.add_dock("Annotate", self.panel, "annotate_dock", area="right")
        self.panel.fill_classes(self.doc.labels())

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
        self.ctx.spectrogram.set_highlight((seg.start, seg.end))
        want = self.c.session.timeline.index_at(seg.frame_time)
        if self.c.image is not None and self.c.shown_index == want:
            self.canvas.set_frame(self.c.image)
        self.refresh()
        self.prefiller.auto()

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
            if not self.done(segs[k]):
                self.go_to(k)
                return
        self.ctx.status("every segment of this video is annotated", 5000)

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
    def done(self, seg) -> bool:
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
        done, total = sum(self.done(x) for x in self.segments()), len(self.segments())
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
        self.panel.update_video(self.doc, self.video)

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

    def play_segment(self) -> None:
        seg = self.current()
        self.c.player.seek(seg.start)
        self._stop_at = seg.end
        self.c.player.play()

    def prefill(self) -> None:
        """Boxes from a head's map of the segment frame (:class:`HeadPrefill`)."""
        self.prefiller.now()

    def ask_import(self) -> None:
        from avsol_viewer.annotate.import_boxes import ask_import

        ask_import(self)

    def import_set(self, source: str, src, out=None, annotator: str | None = None) -> bool:
        """Start a set from VGG-SS / Flickr annotations (:mod:`~avsol_viewer.annotate.import_boxes`)."""
        from avsol_viewer.annotate.import_boxes import import_set

        return import_set(self, source, src, out, annotator)

    # -- saving -------------------------------------------------------------------------
    def flush_autosave(self, wait: bool = False) -> None:
        """Snapshot the set for the autosave now, if it changed (the writer's thread writes it);
        ``wait``: until it is on disk (closing)."""
        self._autosave.stop()
        if self.doc is not None and self.doc.modified:
            try:
                self.autosaver.submit_document(self.doc, self.path)
            except (OSError, ValueError) as exc:
                self.ctx.status(f"autosave failed: {exc}", 8000)
        if wait:
            self.autosaver.flush()

    def save(self) -> bool:
        self._autosave.stop()
        self.autosaver.cancel()   # a snapshot landing after the save would be a stale autosave
        try:
            self.doc.save(self.path)
        except (InputError, ValueError) as exc:
            self.ctx.error("Cannot save annotations", _one_line(exc))
            return False
        self.stack.setClean()
        self.ctx.status(f"saved {self.path}", 5000)
        self._fill_videos()
        return True

    # -- the folder's videos ------------------------------------------------------------
    def _folder_videos(self) -> list[Path]:
        return [] if self.c.session is None else folder_videos(self.c.session.path.parent)

    def _fill_videos(self) -> None:
        self.panel.fill_videos(self.doc, self._folder_videos(), self.video)

    def open_video(self, path: str) -> None:
        self.flush_autosave()
        self.ctx.open_path(path)

    def next_unfinished_video(self) -> None:
        p = next_unfinished(self.doc, self._folder_videos(), self.video)
        if p is None:
            self.ctx.status("every video of the folder is annotated", 5000)
        else:
            self.open_video(str(p))

    def show_keys(self) -> None:
        self.keys_dialog = annotate_keys.keys_dialog(self.ctx.widget)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def install_annotate_actions(ctx) -> AnnotateMode:
    """The Annotate menu (:func:`avsol_viewer.annotate.keys.install_menu`) and its mode,
    the feature ``"annotate"``."""
    mode = ctx.register("annotate", AnnotateMode(ctx))
    ctx.on_close(mode.stop)   # the last edits autosaved, the set's lock given back
    mode._enable(False)
    return mode
