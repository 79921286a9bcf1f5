""""Follows the sound?": each head's map of one frame heard with its own audio, silence,
noise and an off-screen sound, side by side, with p(av) for each (SPEC 5, 7).

The maps come from the one map engine through :class:`~avsol_viewer.maps.map_service.MapService`
(one request per audio, ``ahead`` 0, into the same per-(video, model, audio, frame) cache),
so a choice computed once is shown again at no cost, and the numbers match ``avsol eval
--negatives`` (:func:`model_core.metrics.negatives.item_negatives` turns them into the
segment's figures). The off-screen sound is drawn as the evaluation draws it
(:class:`model_core.evaluation.negatives.OffscreenPicker`, seed 0) from the video's AVSOL-E
file; without one (AVE, no annotations, no absent class) the column takes the other file
the user chose under Audio for maps (the same seconds of it), and with neither it stays,
saying why it is empty and how to fill it: the CLI's off-screen negative is never silently
missing from the comparison. The noise is the ``noise`` audio, white noise at the RMS of
each own window: the evaluation's noise (``tests/test_same_map.py`` holds them equal).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from avsol_viewer.core.map_display import p_avc_text
from model_core.inference.audio_sources import AudioSpec
from model_core.inference.audio_window import window_centre

#: (kind, column title) of the comparison, own audio first.
COLUMNS = (("own", "Own audio"), ("silence", "Silence"), ("noise", "Noise"), ("offscreen", "Off-screen"))
CELL = 112


@lru_cache(maxsize=4)
def _eval_videos(source: str, mtime: float):
    from model_core.evaluation.dataset import load_eval_set

    return load_eval_set(source).videos


def offscreen_audio(video_path: str | Path, annotations, segment, seed: int = 0) -> AudioSpec | None:
    """The off-screen audio ``avsol eval --negatives`` would draw for this segment (first
    draw), or None without AVSOL-E annotations or a segment of an absent class."""
    if annotations is None or annotations.kind != "avsol-e" or segment is None or not segment.event:
        return None
    from model_core.errors import InputError
    from model_core.evaluation.negatives import OffscreenPicker

    try:
        src = Path(annotations.source)
        videos = _eval_videos(str(src), src.stat().st_mtime)
        me = next((v for v in videos if v.name == Path(video_path).name), None)
        if me is None:
            return None
        other, seg = OffscreenPicker(videos, seed).pick(me, segment)
    except (InputError, OSError):
        return None
    return AudioSpec("offscreen", str(other.path), window_centre(seg.frame_time))


#: Why the off-screen column is empty, and how to fill it.
NO_OFFSCREEN = ("no off-screen sound: the CLI draws one from AVSOL-E annotations (a segment of a "
                "class absent from this frame); or choose Audio for maps › Other file… in the "
                "Display panel to compare with that file's sound")


def comparison_audios(video_path, annotations, segment,
                      other: AudioSpec | None = None) -> list[tuple[str, AudioSpec]]:
    """(kind, spec) of each column: own, silence, noise and, when one exists, off-screen:
    the CLI's draw, else ``other`` (the file chosen under Audio for maps)."""
    out = [("own", AudioSpec()), ("silence", AudioSpec("silence")), ("noise", AudioSpec("noise"))]
    off = offscreen_audio(video_path, annotations, segment)
    if off is None and other is not None and other.kind == "file":
        off = other
    if off is not None:
        out.append(("offscreen", off))
    return out


class SoundCheck(QObject):
    """Computes one frame's maps under each audio, one request at a time (the worker's
    mailbox holds one), then emits ``done``; cached choices cost nothing."""

    done = Signal()

    def __init__(self, maps, parent=None):
        super().__init__(parent)
        self.maps = maps
        self.index = -1
        self.audios: list[tuple[str, AudioSpec]] = []
        self._todo: list[AudioSpec] = []
        maps.audio_maps_ready.connect(self._on_ready)

    @property
    def busy(self) -> bool:
        return bool(self._todo)

    def start(self, index: int, audios: list[tuple[str, AudioSpec]]) -> None:
        self.index, self.audios = int(index), list(audios)
        self._todo = [spec for _, spec in self.audios if not self._complete(spec)]
        self._next()

    def _complete(self, spec: AudioSpec) -> bool:
        return all(self.maps.entry_with(m.key, self.index, spec.key) is not None for m in self.maps.models)

    def _next(self) -> None:
        while self._todo and self._complete(self._todo[0]):
            self._todo.pop(0)
        if self._todo:
            self.maps.want_audio(self.index, self._todo[0])
        else:
            self.done.emit()

    def _on_ready(self, audio_key: str, indices) -> None:
        if self._todo and audio_key == self._todo[0].key and self.index in indices:
            self._next()

    def entries(self) -> dict[str, dict[str, object]]:
        """{model key: {kind: MapEntry or None}}, maps in [0, 1] (a published model's native
        map normalised by its kind, as the overlay draws it and scoring reads it)."""
        def norm(key, e):
            return self.maps.traits(key).normalised_entry(e) if e is not None else None

        return {m.key: {kind: norm(m.key, self.maps.entry_with(m.key, self.index, spec.key))
                        for kind, spec in self.audios}
                for m in self.maps.models}

    def figures(self, segment, threshold=None) -> dict[str, dict[str, dict]]:
        """{model key: {kind: {"p_avc", "pia", "map_iou", "map_change"}}} of the frame (SPEC 5)."""
        from model_core.metrics.masks import gt_map
        from model_core.metrics.negatives import item_negatives

        out = {}
        gt = gt_map(segment)[None] if segment is not None else None
        for mkey, by_kind in self.entries().items():
            own = by_kind.get("own")
            neg = {k: e for k, e in by_kind.items() if k != "own" and e is not None}
            if own is None or not neg:
                continue
            out[mkey] = item_negatives(own.map[None], {k: e.map[None] for k, e in neg.items()},
                                       {k: [e.p_avc] for k, e in neg.items()}, threshold, gt)[0]
        return out


def map_pixmap(m: np.ndarray, size: int = CELL) -> QPixmap:
    """A raw sigmoid map drawn on the absolute 0..1 scale (a quiet map stays dark)."""
    from avsol_viewer.maps.colormaps import _rgb
    from model_core.metrics.masks import resize_maps

    big = resize_maps(np.asarray(m, np.float32), size)
    rgb = np.ascontiguousarray(_rgb("inferno")[np.clip(big * 255, 0, 255).astype(np.uint8)])
    img = QImage(rgb.data, size, size, 3 * size, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(img.copy())


class SoundCheckView(QWidget):
    """Rows: heads; columns: audios; each cell the map and its p(av)."""

    compare_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.button = QPushButton("Compare at this frame")
        self.button.clicked.connect(self.compare_requested)
        self.note = QLabel("Each head's map for its own sound beside silence, noise and an off-screen "
                           "sound: a head that follows the sound goes quiet (absolute 0–1 scale).")
        self.note.setWordWrap(True)
        self.grid = QGridLayout()
        self.cells: dict[tuple[str, str], QLabel] = {}
        lay = QVBoxLayout(self)
        lay.addWidget(self.button)
        lay.addWidget(self.note)
        lay.addLayout(self.grid)
        lay.addStretch(1)

    def show_status(self, text: str) -> None:
        self.note.setText(text)

    def show_entries(self, heads: list[tuple[str, str]], kinds: list[str], entries: dict,
                     unavailable: dict[str, str] | None = None) -> None:
        """``heads``: (model key, label); ``entries`` as :meth:`SoundCheck.entries`;
        ``unavailable``: {kind: why} of columns shown empty."""
        unavailable = unavailable or {}
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.cells.clear()
        titles = dict(COLUMNS)
        for c, kind in enumerate(kinds):
            self.grid.addWidget(QLabel(f"<b>{titles.get(kind, kind)}</b>"), 0, c + 1, Qt.AlignmentFlag.AlignCenter)
        for r, (mkey, label) in enumerate(heads):
            self.grid.addWidget(QLabel(f"<b>{label}</b>"), r + 1, 0)
            for c, kind in enumerate(kinds):
                e = entries.get(mkey, {}).get(kind)
                cell = QLabel()
                cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
                if kind in unavailable:
                    cell.setText("—")
                    cell.setToolTip(unavailable[kind])
                elif e is None:
                    cell.setText("computing…")
                else:
                    cell.setPixmap(map_pixmap(e.map))
                    cell.setToolTip(p_avc_text(e.p_avc) or "no p(av): the family has none")
                caption = QLabel("not available" if kind in unavailable else "…" if e is None
                                 else p_avc_text(e.p_avc) or "p(av) —")
                caption.setToolTip(unavailable.get(kind, ""))
                caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
                box = QWidget()
                v = QVBoxLayout(box)
                v.setContentsMargins(2, 2, 2, 2)
                v.addWidget(cell)
                v.addWidget(caption)
                self.grid.addWidget(box, r + 1, c + 1)
                self.cells[(mkey, kind)] = caption


def negatives_text(figures: dict, heads: list[tuple[str, str]]) -> str:
    """The segment panel's lines: per head and negative, p(av), map IoU and map change."""
    titles = dict(COLUMNS)
    lines = []
    for mkey, label in heads:
        parts = [f"{titles.get(k, k).lower()} {p_avc_text(f['p_avc']) or 'p(av) —'}, IoU {f['map_iou']:.2f}, "
                 f"Δ {f['map_change']:.3f}" for k, f in figures.get(mkey, {}).items()]
        if parts:
            lines.append(f"<b>{label}</b>: " + "; ".join(parts))
    if not lines:
        return ""
    return ("<span style='color:gray'>Follows the sound? (own vs negative audio on this frame)</span><br>"
            + "<br>".join(lines))


#: View › Follows the sound? (compare the current frame's maps across audios).
SHORTCUT = "Ctrl+Shift+F"


class SoundCheckDock:
    """Wires the view, the requests and the segment panel into a window (a dock, hidden
    until View › Follows the sound? is chosen)."""

    def __init__(self, ctx):
        self.ctx = ctx
        c = ctx.controller
        self.check = SoundCheck(c.maps, parent=ctx.widget)
        self.view = SoundCheckView()
        self.dock = ctx.add_dock("Follows the sound?", self.view, "sound_check_dock", group="bottom")
        self.view.compare_requested.connect(self.compare)
        self.check.done.connect(self._on_done)
        c.maps.audio_maps_ready.connect(self._on_progress)
        c.session_changed.connect(lambda _s: self._clear())

    def _heads(self) -> list[tuple[str, str]]:
        from avsol_viewer.maps.head_style import head_label

        return [(m.key, head_label(m.name, m.head)) for m in self.ctx.controller.maps.models]

    def compare(self) -> None:
        """Compare at the current segment's annotated frame (the item), else the shown frame."""
        c = self.ctx.controller
        self.dock.show()
        self.dock.raise_()
        if c.session is None or not c.maps.models:
            self.view.show_status("Open a video and load a checkpoint first.")
            return
        found = c.current_segment()
        seg = found[1] if found else None
        index = c.segment_frame(seg) if seg is not None else max(c.shown_index, 0)
        audios = comparison_audios(c.session.path, c.session.annotations, seg, c.maps.audio)
        self._segment = seg
        t = c.session.timeline.time_at(index)
        off = dict(audios).get("offscreen")
        missing = (f" (off-screen: {Path(off.path).name})" if off is not None and off.kind == "file"
                   else "" if off is not None else " (no off-screen sound: see that column's tooltip)")
        self.view.show_status(f"Frame {index} ({t:.2f} s){missing}: computing…")
        self.check.start(index, audios)
        self._render()

    def _render(self) -> None:
        kinds = [k for k, _ in self.check.audios]
        unavailable = {}
        if self.check.audios and "offscreen" not in kinds:  # the CLI's fourth column, said empty
            kinds.append("offscreen")
            unavailable["offscreen"] = NO_OFFSCREEN
        self.view.show_entries(self._heads(), kinds, self.check.entries(), unavailable)

    def _on_progress(self, _audio: str, indices) -> None:
        if self.check.busy and self.check.index in indices:
            self._render()

    def _on_done(self) -> None:
        c = self.ctx.controller
        self._render()
        t = c.session.timeline.time_at(self.check.index) if c.session else 0.0
        self.view.show_status(f"Frame {self.check.index} ({t:.2f} s): raw maps on the 0–1 scale; p(av) "
                              "under each (the cls head's p(av) is uncalibrated: compare it across columns)")
        figures = self.check.figures(getattr(self, "_segment", None))
        self.ctx.segment.show_negatives(negatives_text(figures, self._heads()))
        if c.session is not None and c.shown_index >= 0:   # back to the playhead's maps
            c.maps.want(c.shown_index)

    def _clear(self) -> None:
        self.check.audios = []
        self.view.show_entries([], [], {})
        self.view.show_status("Choose “Compare at this frame”.")
        self.ctx.segment.show_negatives("")


def install_sound_check(ctx) -> SoundCheckDock:
    """Add View › Follows the sound? (``Ctrl+Shift+F``) and its dock; the feature ``"sound_check"``."""
    dock = SoundCheckDock(ctx)
    ctx.add_action("sound_check", "&Follows the sound?", SHORTCUT, dock.compare, menu="View")
    return ctx.register("sound_check", dock)


def report_negatives_text(row: dict) -> str:
    """The segment panel's lines for a report row of ``avsol eval --negatives`` (the item
    the user opened from the results table): the figures the report holds for it."""
    from model_core.metrics.negatives import kind_of

    neg = row.get("negatives") or {}
    if not neg:
        return ""
    titles = dict(COLUMNS)

    def f(x, d=2):
        return "n/a" if x is None else f"{x:.{d}f}"

    parts = [f"{titles.get(kind_of(k), k).lower()}{k[len(kind_of(k)):]} p(av) {f(e.get('p_avc'))}, "
             f"IoU {f(e.get('map_iou'))}, Δ {f(e.get('map_change'), 3)}" for k, e in neg.items()]
    return (f"<span style='color:gray'>Follows the sound? (report, {row.get('head')}: own p(av) "
            f"{f(row.get('p_avc'))})</span><br>" + "; ".join(parts))
