"""Keeps the widgets in step with the controller: frame, overlays, boxes, spectrogram,
time read-outs and the segment's scores. No state of its own beyond display options and
small memos; the controller is the single source of what is shown.

One presenter draws both kinds of maps: a file's (the controller's cached maps of the frame
shown) and, while live mode runs, the live loop's latest (:meth:`Presenter.show_live` hands
it the live state; :meth:`Presenter.refresh` then draws those with the same heads panel,
look-up table, titles and options, and file frames are not shown).

Head titles come from :mod:`avsol_viewer.maps.head_style` (one colour and one title per
head, the same in every panel). The frame number has one source: while playing, the
transport is updated with the frame that is drawn (never a playhead a frame ahead of the
picture); paused, with the time the user sought, whose frame is the one drawn next.
"""
from __future__ import annotations

import time
from html import escape
from pathlib import Path

from PySide6.QtCore import QObject

from avsol_viewer.core.map_display import p_avc_text
from avsol_viewer.maps.colormaps import overlay_lut
from avsol_viewer.maps.head_style import BUNDLED_NOTE, head_label, head_title_html, is_bundled
from avsol_viewer.maps.heads_panel import HeadContent
from avsol_viewer.maps.map_readout import MapReadout
from avsol_viewer.panels.display_panel import DisplayOptions
from avsol_viewer.panels.segment_panel import SegmentScores
from avsol_viewer.panels.welcome import WelcomeOverlay
from model_core.inference.audio_window import window_centre
from model_core.lru import LRU



def sound_note(t: float, hop: float | None, track, audio_kind: str) -> str:
    """"no sound here" when the maps of the frame at ``t`` hear their own sound track but the
    1 s window lies wholly past its end (a film whose sound stops before its picture: the
    models hear zeros, and a title saying "own audio" would be a lie); else "".

    ``track`` is the :class:`~avsol_viewer.playback.audio_loader.TrackAudio` (None while
    decoding: nothing is claimed)."""
    if audio_kind != "own" or track is None or not track.has_audio:
        return ""
    end = track.duration
    start = window_centre(t, hop) - 0.5
    return "no sound here" if start >= end - 1e-9 else ""


class Presenter(QObject):
    """Wires controller signals to the views (see module docstring)."""

    def __init__(self, controller, heads, spectrogram, segment_panel, transport, options: DisplayOptions,
                 parent=None, context=None):
        super().__init__(parent)
        self.c = controller
        self.heads, self.spectrogram, self.segment_panel, self.transport = heads, spectrogram, segment_panel, transport
        self.options = options
        self._lut = overlay_lut(options.colormap, options.opacity)
        self._display_memo: LRU = LRU(max_items=64)
        self._scores = SegmentScores()
        self._segment_key = None
        self._rows_sig = None
        self._last_time_update = 0.0
        #: (label, DisplayMap | None) of each view drawn last, for the value readout
        self.shown: list = []
        self.readout = MapReadout(heads, lambda: self.shown, parent=self)
        #: the canvas while no file is open: open, demo, recent files
        self.welcome = WelcomeOverlay(heads, context)
        #: the live state while live mode runs (:meth:`show_live`): its maps are drawn, not the file's
        self.live = None
        c = controller
        c.session_changed.connect(self._on_session)
        c.frame_shown.connect(self._on_frame)
        c.maps_changed.connect(self.refresh)
        c.track_changed.connect(self._on_track)
        c.annotations_changed.connect(self._on_annotations)
        c.track_failed.connect(self._on_track_failed)
        c.maps.problem.connect(lambda _message: self.refresh())
        c.maps.model_failed.connect(lambda _path, _message: self.refresh())
        c.player.time_changed.connect(self._on_time)
        spectrogram.seek_requested.connect(c.player.seek)
        self.refresh()

    # -- options ------------------------------------------------------------------------
    def set_options(self, o: DisplayOptions) -> None:
        self.options = o
        self._lut = overlay_lut(o.colormap, o.opacity)
        self._segment_key = None
        self.refresh()

    def show_live(self, live) -> None:
        """Draw ``live``'s maps from now on (None: the open file's again). ``live`` has
        ``last`` (the latest :class:`~model_core.inference.live_loop` result or None),
        ``problems`` (kind -> message), ``shown`` (maps drawn so far) and ``camera_label()``."""
        self.live = live
        self._segment_key = None     # the boxes are drawn again for the file's segment
        if live is None and self.c.image is not None:
            self.heads.show_frame(self.c.image)
        self.refresh()

    def visible_models(self) -> list:
        models = self.c.maps.models
        if self.options.layout == "single" and models:
            chosen = [m for m in models if m.key == self.options.head]
            return chosen or models[-1:]
        return [m for m in models if m.key not in self.options.hidden]

    # -- controller signals -------------------------------------------------------------
    def _on_session(self, session) -> None:
        self.transport.set_timeline(session.timeline)
        self.spectrogram.set_track(None, session.timeline.duration, "decoding sound…")
        self._segment_key = None

    def _on_track(self, track) -> None:
        s = self.c.session
        if s is None or track is None:
            return
        note = "" if track.has_audio else "no sound track: maps computed on silence"
        self.spectrogram.set_track(track, s.timeline.duration, note)
        self.spectrogram.set_segments(s.annotations)
        self._on_time(self.c.player.time)

    def _on_track_failed(self, message: str) -> None:
        s = self.c.session
        if s is not None:
            self.spectrogram.set_track(None, s.timeline.duration, f"no spectrogram: {short_reason(message)}")

    def _on_annotations(self, annotations) -> None:
        self.spectrogram.set_segments(annotations)
        self._segment_key = None
        self.refresh()

    def _on_frame(self, index: int, img) -> None:
        if self.live is not None:
            return
        self.heads.show_frame(img)
        s = self.c.session
        if self.c.player.playing and s is not None:  # one source: the frame drawn (module docstring)
            self.transport.set_time(s.timeline.time_at(index))
        self.refresh()

    def _on_time(self, t: float) -> None:
        # the clock ticks at ~60 Hz; a playhead and a read-out at 30 Hz look the same and
        # halve the repaints of the spectrogram while playing
        if self.live is not None:
            return
        now = time.monotonic()
        playing = self.c.player.playing
        if playing and now - self._last_time_update < 1 / 30:
            return
        self._last_time_update = now
        if not playing:
            self.transport.set_time(t)
        c = window_centre(t, self.c.maps.audio_hop)
        self.spectrogram.set_time(t, (c - 0.5, c + 0.5))

    # -- drawing ------------------------------------------------------------------------
    def _display(self, model_key: str, index: int, entry):
        key = (model_key, index, id(entry), self.options.scale)
        dm = self._display_memo.get(key)
        if dm is None:
            s = self.c.session  # a published model's map: normalised by its kind, on its crop
            dm = self.c.maps.traits(model_key).prepare(entry.map, self.options.scale, s.width, s.height)
            self._display_memo.put(key, dm)
        return dm

    def refresh(self) -> None:
        """Redraw overlays, titles, boxes and scores for the frame on screen."""
        if self.live is not None:
            self.shown = []  # no readout of a live map: it is gone by the time it is read
            self.readout.update_text()
            self.welcome.set_shown(False)
            self._draw_live(self.live)
            return
        c, o = self.c, self.options
        self.shown = []
        self.welcome.set_shown(c.session is None)
        if c.session is None:
            self.heads.show_maps([HeadContent("<span style='color:#bbb'>Drop a video here, or File › Open</span>")],
                                 self._lut, o.threshold, o.contour, o.peak)
            return
        index = c.shown_index
        models = self.visible_models()
        contents = []
        t = c.session.timeline.time_at(index)
        no_sound = sound_note(t, c.maps.audio_hop, c.track, c.maps.audio.kind)
        for m in models:
            entry, age = c.maps.entry(m.key, index, playing=c.player.playing)
            dm = self._display(m.key, index, entry) if entry is not None else None
            contents.append(HeadContent(self._title(m, entry, age, no_sound), dm))
            self.shown.append((head_label(m.name, m.head), dm))
        if not contents:
            msg = "loading models…" if c.maps.loading else "no model loaded (File › Add model…)"
            if c.maps.models and not c.maps.loading:
                msg = "every head is hidden (Display › Show heads)"
            elif not c.maps.loading and c.maps.load_failures:
                path, why = c.maps.load_failures[-1]
                msg = f"could not load {Path(path).name}: {short_reason(why)}"
            contents = [HeadContent(f"<span style='color:#bbb'>{escape(c.session.name)} — {msg}</span>")]
        elif o.layout == "side_by_side":  # the plain frame first: what the heads are judged on
            heard = (f"<span style='color:#e9c46a'>{no_sound}</span>" if no_sound
                     else escape(c.maps.audio.label))
            contents.insert(0, HeadContent(f"<b style='color:#eee'>Frame</b>&nbsp;<span style='color:#ccc'>"
                                           f"{index} · {t:.3f} s · audio: {heard}</span>"))
            self.shown.insert(0, ("Frame", None))
        self.heads.show_maps(contents, self._lut, o.threshold, o.contour, o.peak)
        self._title_tooltips(models, len(contents) - len(models))
        self.readout.update_text()
        self._refresh_segment()

    def _draw_live(self, live) -> None:
        """The live loop's latest maps, drawn as a file's (same heads, titles and options)."""
        o = self.options
        r = live.last
        if r is None:
            why = live.problems.get("camera") or f"waiting for {live.camera_label()}…"
            self.heads.show_maps([HeadContent(f"<span style='color:#bbb'>Live — {escape(why)}</span>")],
                                 self._lut, o.threshold, o.contour, o.peak)
            return
        self.heads.show_frame(r.frame.image)
        h, w = r.frame.image.shape[:2]
        contents = []
        models = self.visible_models()
        for m in models:
            e = r.entries.get(m.key)
            # a published model's native map: normalised by its kind, placed on its crop
            dm = self.c.maps.traits(m.key).prepare(e.map, o.scale, w, h) if e is not None else None
            contents.append(HeadContent(self._title(m, e, 0, waiting="starting…", live=True), dm))
        if not contents:
            msg = "loading models…" if self.c.maps.loading else "no model loaded (File › Add model…)"
            contents = [HeadContent(f"<span style='color:#bbb'>Live — {msg}</span>")]
        elif o.layout == "side_by_side":
            contents.insert(0, HeadContent(f"<b style='color:#eee'>Live</b>&nbsp;<span style='color:#ccc'>"
                                           f"{escape(live.camera_label())} · frame {r.frame.index}</span>"))
        self.heads.show_maps(contents, self._lut, o.threshold, o.contour, o.peak)
        self._title_tooltips(models, len(contents) - len(models))
        if live.shown == 0:  # the first picture: fit it (the panel changed size and count)
            self.heads.reset_zoom()

    def _title_tooltips(self, models, first: int) -> None:
        """Each head's title says where its checkpoint is, and a bundled head that it was
        trained on synthetic shapes (its maps on real footage are no verdict)."""
        for k, m in enumerate(models):
            if first + k >= len(self.heads.views):
                break
            tip = f"{head_label(m.name, m.head)}\ncheckpoint: {m.path}\ndevice: {m.device}"
            if m.family != "dnm":  # a published model: what its map is and what it hears
                tip += (f"\nfamily: {m.family}, native map {m.map_kind} (drawn normalised), "
                        f"audio window {m.audio_window_s:g} s")
            if is_bundled(m.path):
                tip += f"\nbundled head: {BUNDLED_NOTE}"
            title = self.heads.views[first + k].title
            if title.toolTip() != tip:
                title.setToolTip(tip)

    def _title(self, m, entry, age: int, no_sound: str = "", waiting: str = "computing…", live: bool = False) -> str:
        """A head's title: its name and colour, then what its map is (p(av), age, silence),
        or why there is none (``waiting`` while it is coming; a file's map worker's failure)."""
        head = head_title_html(m.name, m.head)
        if entry is None and self.c.maps.failure and not live:
            return (head + "&nbsp;&nbsp;<span style='color:#e76f51'>no map: "
                    f"{escape(short_reason(self.c.maps.failure))}</span>")
        if entry is None:
            return head + f"&nbsp;&nbsp;<span style='color:#888'>{waiting}</span>"
        p_avc = p_avc_text(entry.p_avc)  # only where the family has one
        extra = f"&nbsp;&nbsp;<span style='color:#eee'>{p_avc}</span>" if p_avc else ""
        if age:
            extra += f"&nbsp;<span style='color:#e9c46a'>(map {age} fr old)</span>"
        if entry.silent_audio:
            extra += "&nbsp;<span style='color:#e76f51'>on silence</span>"
        elif no_sound:
            extra += f"&nbsp;<span style='color:#e9c46a'>{no_sound}</span>"
        return head + extra

    def _refresh_segment(self) -> None:
        c = self.c
        s = c.session
        found = c.current_segment()
        key = (s.key, found[0] if found else None)
        if key != self._segment_key:
            self.heads.show_boxes(found[1] if found else None, self.options.boxes)
        self._segment_key = key
        if s.annotations is None:
            self._rows_sig = None
            self.segment_panel.show_segment("No annotations for this video "
                                            "(File › Load annotations…)", [])
            return
        if found is None:
            self._rows_sig = None
            self.segment_panel.show_segment("No annotated segment here", [])
            return
        k, seg = found
        kind = "event" if seg.event else "background"
        heading = (f"<b>Segment {k}</b>: {seg.start:g}–{seg.end:g} s, {kind}"
                   f"{' · ' + escape(s.annotations.category) if s.annotations.category else ''}<br>"
                   f"<span style='color:gray'>scored on the frame at {seg.frame_time:g} s "
                   f"(audio: {escape(c.maps.audio.label)})</span>")
        rows = []
        if s.annotations.kind == "ave":
            heading += "<br><span style='color:gray'>AVE annotations: events only, no boxes to score</span>"
        frame = c.segment_frame(seg)
        for m in c.maps.models:
            entry, _ = c.maps.entry(m.key, frame)
            item = None
            if entry is not None and s.annotations.kind == "avsol-e":
                item = self._scores.get((s.key, m.key, c.maps.audio.key, k),
                                        c.maps.traits(m.key).normalised_entry(entry), seg, s.name, m.name,
                                        s.annotations.category)
            elif entry is not None:
                item = _PAvcOnly(entry.p_avc)
            rows.append((head_label(m.name, m.head), item))
        sig = (heading, tuple((label, id(item)) for label, item in rows))
        if sig != self._rows_sig:  # rebuilding the table on every frame is wasted work
            self._rows_sig = sig
            self.segment_panel.show_segment(heading, rows)


def short_reason(message: str, limit: int = 110) -> str:
    """The cause of a one-line error, short enough for a title (the status bar has it all):
    the part before the details in parentheses or after a semicolon, the file's name
    without its folders."""
    text = message.split(" (", 1)[0].split("; ", 1)[0].strip()
    head, sep, rest = text.partition(": ")
    if sep and ("/" in head or "\\" in head):
        text = f"{Path(head).name}: {rest}"
    return text if len(text) <= limit else text[:limit - 1] + "…"


class _PAvcOnly:
    """A row for segments without boxes: only p(av) is known."""

    def __init__(self, p_avc: float):
        self.p_avc, self.ciou, self.hit, self.failure = p_avc, None, None, None
