"""Boxes proposed from a head's map, for the annotator to accept or fix.

Two ways in: the dock's **Prefill from head** button (the segment shown, now) and
``avsol-viewer VIDEO --annotate --prefill HEAD``, which proposes boxes on every segment the
annotator reaches that has none of theirs yet, once per segment and session (boxes deleted
are not proposed again). Any head: HEAD is a loaded head's name (as its title shows it,
the checkpoint's file stem), its kind (``avc``, ``cls``, ``dnm``) or its checkpoint's path.

The map is the one the overlay shows (normalised by its kind, absolute scale); the regions
above 0.5 go through ``model_core.annotate.prefill.prefill_boxes`` and each proposal is one
undoable AddBox. A map not computed yet is asked for; the proposal is made when it arrives.
"""
from __future__ import annotations

from pathlib import Path


class HeadPrefill:
    """Prefill of ``mode`` (an :class:`~avsol_viewer.annotate.mode.AnnotateMode`)."""

    def __init__(self, mode):
        self.mode = mode
        self.c = mode.c
        #: the --prefill HEAD (None: the button uses the first loaded head, nothing is automatic)
        self.head: str | None = None
        self._tried: set[tuple[str, int]] = set()   # (video, segment) proposed once already
        self._warned = False
        self.c.maps.maps_ready.connect(lambda _indices: self.auto())
        self.c.maps.models_changed.connect(lambda _models: self.auto())

    def set_head(self, head: str | None) -> None:
        """Propose boxes from ``head`` on each segment reached (None: stop proposing)."""
        self.head = head or None
        self._tried.clear()
        self._warned = False

    def model(self):
        """The loaded model ``head`` names (or the first loaded one when no head is set)."""
        models = list(getattr(self.c.maps, "models", []) or [])
        if self.head is None:
            return models[0] if models else None
        want = self.head
        for match in (lambda m: m.name == want, lambda m: m.head == want,
                      lambda m: Path(m.path).resolve() == Path(want).resolve(),
                      lambda m: Path(m.path).stem == Path(want).stem):
            for m in models:
                try:
                    if match(m):
                        return m
                except (OSError, ValueError):
                    continue
        return None

    def _frame_index(self) -> int:
        return self.c.session.timeline.index_at(self.mode.current().frame_time)

    def _entry(self, model):
        """The model's map of the segment frame, or None (then it is asked for)."""
        index = self._frame_index()
        entry, _ = self.c.maps.entry(model.key, index)
        if entry is None:
            self.c.maps.want(index, priority=(index,))
        return entry

    def _add(self, model, entry) -> int:
        """Push one AddBox per proposal of ``entry``'s map; how many."""
        from model_core.annotate import commands as ac
        from model_core.annotate.prefill import prefill_boxes

        s = self.c.session
        dm = self.c.maps.traits(model.key).prepare(entry.map, "absolute", s.width, s.height)
        try:
            found = list(prefill_boxes(dm.values))
        except (TypeError, ValueError) as exc:
            self.mode.ctx.error("Prefill", f"cannot prefill from {model.name}: {exc}")
            return 0
        rx0, ry0, rx1, ry1 = dm.region      # the map's part of the frame (a centre crop)
        for x1, y1, x2, y2 in found:
            self.mode.run_edit(ac.AddBox, (rx0 + x1 * (rx1 - rx0), ry0 + y1 * (ry1 - ry0),
                                           rx0 + x2 * (rx1 - rx0), ry0 + y2 * (ry1 - ry0)),
                               label=self.mode.label_for_new())
        return len(found)

    def now(self) -> None:
        """The button: proposals on the segment shown. One message when no head is loaded (or
        none is named HEAD); a map not computed yet is asked for and the button pressed again."""
        mode = self.mode
        if mode.refuse_read_only():
            return
        model = self.model()
        if model is None:
            what = f"no loaded head is {self.head!r}" if self.head else "Load a model first (File › Add model…)"
            mode.ctx.error("Prefill", what)
            return
        entry = self._entry(model)
        if entry is None:
            mode.ctx.status("the head's map of this frame is being computed; try again", 5000)
            return
        if not self._add(model, entry):
            mode.ctx.status("the head's map has no region above its threshold here", 5000)

    def auto(self) -> None:
        """With a HEAD set: proposals on the segment shown if it has none of this annotator's
        boxes or marks and was not proposed before (called on each segment and each map)."""
        mode = self.mode
        if self.head is None or not mode.active or mode.video is None or mode.view == "consensus":
            return
        where = (mode.video, mode.index)
        if where in self._tried:
            return
        if mode.done(mode.current()):
            self._tried.add(where)
            return
        model = self.model()
        if model is None:
            maps = self.c.maps
            if maps.models and not maps.loading and not self._warned:
                self._warned = True
                names = ", ".join(m.name for m in maps.models)
                mode.ctx.error("Prefill", f"--prefill {self.head}: no loaded head has that name "
                                              f"(loaded: {names})")
            return
        entry = self._entry(model)
        if entry is None:
            return                              # maps_ready calls again
        self._tried.add(where)
        self._add(model, entry)
