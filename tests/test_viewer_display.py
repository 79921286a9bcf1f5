"""What the viewer's maps and labels say: the absolute
scale by default, the colour bar, the value under the cursor, one colour and one title per
head in every panel, "no sound here" past the end of a sound track, and feedback that is
not stale (maps count, model label, frame number)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from viewer_support import FakeFactory, FakeLocalizer, open_with, set_display

W, H = 128, 96  # index_clip's frame size


# -- pure parts ---------------------------------------------------------------------------
def test_head_colour_is_one_per_checkpoint_whatever_the_order():
    from avsol_viewer.maps.head_style import KIND_COLOURS, head_colour, head_label, kind_of

    assert head_colour("dnm") == KIND_COLOURS["dnm"] == head_colour("dnm", "dnm")
    assert head_colour("avc") == KIND_COLOURS["avc"] and head_colour("cls") == KIND_COLOURS["cls"]
    # another checkpoint of a kind: a shade of that kind, never the base, the same every call
    assert head_colour("dnm_seed1") != KIND_COLOURS["dnm"]
    assert head_colour("dnm_seed1") == head_colour("DNM_seed1") == head_colour("dnm_seed1", "dnm")
    assert kind_of("dnm_seed1") == "dnm" and kind_of("dnmx") is None and kind_of("model_a") is None
    assert kind_of("model_a", "cls") == "cls"
    assert head_label("dnm_seed1") == "DNM · dnm_seed1" and head_label("model_a") == "model_a"


def test_display_defaults_to_the_absolute_scale():
    from avsol_viewer.core.map_display import prepare
    from avsol_viewer.panels.display_panel import DisplayOptions
    from avsol_viewer.settings import DEFAULTS

    assert DisplayOptions().scale == "absolute" and DEFAULTS["display/scale"] == "absolute"
    quiet = np.full((7, 7), 0.03, np.float32)  # a head that hears nothing: p(av) 0.03
    assert float(prepare(quiet).values.max()) == pytest.approx(0.03)  # drawn nearly empty
    assert prepare(quiet).levels == (0.0, 1.0)


def test_value_at_gives_the_map_value_on_either_scale():
    from avsol_viewer.core.map_display import prepare, value_at

    raw = np.full((8, 8), 0.2, np.float32)
    raw[:4, :4] = 0.9  # hot top-left quadrant
    for scale in ("absolute", "per_frame"):
        dm = prepare(raw, scale)
        value, shown = value_at(dm, 0.25, 0.25)  # deep inside the hot quadrant
        assert value == pytest.approx(0.9, abs=1e-6)
        assert shown == pytest.approx(0.9 if scale == "absolute" else 1.0, abs=1e-6)
        value, shown = value_at(dm, 0.75, 0.75)  # the cold quadrant
        assert value == pytest.approx(0.2, abs=1e-6)
        assert shown == pytest.approx(0.2 if scale == "absolute" else 0.0, abs=1e-6)
    assert value_at(prepare(raw), 1.0, 0.5) is None and value_at(prepare(raw), -0.1, 0.5) is None
    flat = prepare(np.full((4, 4), 0.3, np.float32), "per_frame")  # no contrast: drawn 0, value kept
    assert value_at(flat, 0.5, 0.5) == pytest.approx((0.3, 0.0))


def test_readout_text_names_head_pixel_and_value():
    from avsol_viewer.core.map_display import prepare
    from avsol_viewer.maps.map_readout import readout_text

    raw = np.full((8, 8), 0.2, np.float32)
    dm = prepare(raw, "absolute")
    assert readout_text("DNM · dnm", dm, 10.4, 20.9, 128, 96) == "DNM · dnm at (10, 20): map value 0.200"
    assert readout_text("Frame", None, 1, 1, 128, 96) == "Frame at (1, 1): no map"
    assert readout_text("DNM · dnm", dm, 128, 5, 128, 96) == ""  # off the frame
    raw[0, 0] = 0.6
    text = readout_text("DNM · dnm", prepare(raw, "per_frame"), 100, 90, 128, 96)
    assert text.startswith("DNM · dnm at (100, 90): map value 0.200 (colour 0.00 of this frame's range 0.200..")


def test_colour_bar_is_the_overlay_over_the_canvas(qtbot):
    from avsol_viewer.maps.colormaps import colour_of
    from avsol_viewer.maps.colour_bar import BACKGROUND_RGB, ColourBar, bar_colours, tick_labels

    full = bar_colours("inferno", 1.0)
    assert tuple(full[0]) == BACKGROUND_RGB            # value 0: transparent
    assert tuple(full[255]) == colour_of("inferno", 1.0)  # value 1 at full opacity: the colour itself
    half = bar_colours("inferno", 0.5)[255].astype(int)
    expected = np.round((np.array(colour_of("inferno", 1.0)) + np.array(BACKGROUND_RGB)) / 2).astype(int)
    assert np.abs(half - expected).max() <= 1
    assert [t for _, t in tick_labels("absolute")] == ["0", "0.25", "0.5", "0.75", "1"]
    assert [t for _, t in tick_labels("per_frame")] == ["frame's lowest", "frame's highest"]
    bar = ColourBar()
    qtbot.addWidget(bar)
    bar.set_state("viridis", 0.6, "per_frame", 0.4)
    assert "min-max per frame" in bar.toolTip() and "0.4" in bar.toolTip()
    bar.resize(220, 40)
    bar.grab()  # paints without error


def test_sound_note_past_the_end_of_the_sound_track():
    from avsol_viewer.presenter import sound_note

    track = SimpleNamespace(samples=np.zeros(32000, np.int16), sample_rate=16000, duration=2.0,
                            has_audio=True)  # 2 s
    assert sound_note(1.2, 1.0, track, "own") == ""                 # window 1..2 s: sound
    assert sound_note(2.4, 1.0, track, "own") == "no sound here"    # window 2..3 s: past the end
    assert sound_note(2.4, 1.0, track, "silence") == ""             # the maps hear silence on purpose
    assert sound_note(2.4, 1.0, None, "own") == ""                  # still decoding: claim nothing
    assert sound_note(2.4, 1.0, replace_track(track, has_audio=False), "own") == ""  # "on silence" says it


def replace_track(track, **kw):
    return SimpleNamespace(**{**vars(track), **kw})


def test_about_names_version_docs_and_the_synthetic_heads():
    from avsol_viewer.about import about_html
    from model_core import __version__

    text = about_html()
    assert f"AVSOL Studio {__version__}" in text
    assert "synthetic" in text and "Documentation:" in text and "href=" in text


# -- in the window ------------------------------------------------------------------------
def test_value_under_the_cursor_in_the_status_bar(make_viewer, index_clip):
    v = open_with(make_viewer, index_clip, dnm=FakeLocalizer("dnm", quadrant="tl"))
    v.wait_maps(0)
    v.wait_frame(0)
    assert v.win.display.options.scale == "absolute"  # a fresh settings file
    set_display(v, layout="single")
    v.win.heads.grab()  # laid out
    view = v.win.heads.views[0]
    scene = v.win.heads.scene()
    scene.sigMouseMoved.emit(view.vb.mapViewToScene(QPointF(W / 4 + 0.5, H / 4 + 0.5)))  # the hot quadrant, mid-pixel
    assert v.win.value_label.text() == "DNM · dnm at (32, 24): map value 0.950"
    scene.sigMouseMoved.emit(view.vb.mapViewToScene(QPointF(3 * W / 4 + 0.5, 3 * H / 4 + 0.5)))
    assert v.win.value_label.text() == "DNM · dnm at (96, 72): map value 0.050"
    set_display(v, scale="per_frame")  # the same point, now relative to the frame's range
    assert "map value 0.050 (colour 0.00 of this frame's range 0.050..0.950)" in v.win.value_label.text()
    scene.sigMouseMoved.emit(view.vb.mapViewToScene(QPointF(-50, -50)))  # off the frame
    assert v.win.value_label.text() == ""
    assert "min-max per frame" in v.win.display.scale_note.text()
    assert v.win.display.opacity_value.text() == "60 %"


def test_one_colour_and_title_per_head_in_viewer_success_and_training_curves(make_viewer, index_clip, qtbot):
    from avsol_viewer.evaluate.summary_view import SummaryView
    from avsol_viewer.maps.head_style import head_colour
    from avsol_viewer.train.train_panel import CurveWidget

    v = open_with(make_viewer, index_clip, avc=FakeLocalizer("avc", "avc"), dnm=FakeLocalizer("dnm", "dnm"))
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == 2, timeout=20000)
    v.wait_maps(0)
    v.win.presenter.refresh()
    titles = [view.title.text for view in v.win.heads.views]
    dnm_title = next(t for t in titles if "DNM" in t)
    assert head_colour("dnm") in dnm_title and "· dnm" in dnm_title  # the checkpoint named
    assert "checkpoint: /models/dnm.pt" in next(vw.title.toolTip() for vw in v.win.heads.views
                                                if "DNM" in vw.title.text)
    # the success curves of a report with the same heads, in a different order
    summary = SummaryView()
    qtbot.addWidget(summary)
    rows = [{"head": h, "status": "scored", "ciou": c} for h, c in (("dnm", 0.7), ("avc", 0.2))]
    summary.show_summaries({"dnm": {"auc": 0.5}, "avc": {"auc": 0.2}}, rows)
    for name in ("dnm", "avc"):
        item = summary.curves[name]
        assert item.opts["pen"].color().name() == head_colour(name)
        assert item.name().startswith(f"{name.upper()} · {name}")
    # the training curves
    curves = CurveWidget()
    qtbot.addWidget(curves)
    from model_core.jobs.events import Epoch, Step

    curves.add_event("dnm", Step(step=1, loss=0.004))
    curves.add_event("dnm", Epoch(epoch=1, step=1, val={"loss": 0.003, "avc_acc": 0.5, "cls_acc": 0.4,
                                                       "ciou@0.5": 0.3}))
    items = curves._items
    assert {it.opts["pen"].color().name() for it in items.values()} == {head_colour("dnm")}
    drawn = [(it.opts["pen"].style(), it.opts["symbol"]) for it in items.values()]
    assert len(set(drawn)) == len(drawn) == 5  # no two legend entries drawn alike
    for plot in (curves.loss_plot, curves.val_plot):
        assert not plot.getAxis("left").autoSIPrefix  # no "(x0.001)"


def test_titles_say_no_sound_past_the_end_of_the_sound_track(make_viewer, tmp_path):
    from media_helpers import make_clip

    clip = make_clip(tmp_path / "short_sound.mp4", n_frames=50, fps=25.0, size=(128, 96), audio_seconds=0.5)
    v = open_with(make_viewer, clip, dnm=FakeLocalizer("dnm"))
    v.qtbot.waitUntil(lambda: v.c.track is not None, timeout=20000)
    set_display(v, layout="side_by_side")
    v.c.player.seek_index(5)  # 0.2 s: the window 0..1 s holds the sound
    v.wait_frame(5)
    v.wait_maps(5)
    v.win.presenter.refresh()
    assert "no sound here" not in v.win.heads.views[0].title.text
    assert "own audio" in v.win.heads.views[0].title.text.lower()
    v.c.player.seek_index(40)  # 1.6 s: the window 1..2 s, the sound ended at 0.5 s
    v.wait_frame(40)
    v.wait_maps(40)
    v.win.presenter.refresh()
    frame_title, head_title = v.win.heads.views[0].title.text, v.win.heads.views[1].title.text
    assert "no sound here" in frame_title and "own audio" not in frame_title.lower()
    assert "no sound here" in head_title


def test_status_feedback_is_not_stale(make_viewer, index_clip):
    from model_core.errors import CheckpointError
    from model_core.inference.audio_sources import AudioSpec

    v = make_viewer(FakeFactory(dnm=FakeLocalizer("dnm"), bad=CheckpointError("/models/bad.pt", "not a checkpoint")))
    v.win.load_checkpoint("/models/dnm.pt")
    assert v.win.open_path(index_clip)
    v.qtbot.waitUntil(lambda: v.win.maps_label.text() == "maps 50/50 frames", timeout=30000)
    v.win.set_audio(AudioSpec("silence"))
    v.qtbot.waitUntil(lambda: v.win.maps_label.text() == "maps 50/50 frames", timeout=30000)
    v.win.set_audio(AudioSpec("own"))  # every map of the own sound is cached: no maps_ready comes
    assert v.win.maps_label.text() == "maps 50/50 frames"
    # a failed load leaves the label naming what is loaded, not "loading bad.pt…"
    v.win.load_checkpoint("/models/bad.pt")
    v.qtbot.waitUntil(lambda: bool(v.errors), timeout=20000)
    assert v.win.model_label.text().startswith("models: dnm") and "loading" not in v.win.model_label.text()


def test_title_and_transport_show_the_same_frame_while_playing(make_viewer, index_clip):
    v = make_viewer()
    assert v.win.open_path(index_clip)
    v.wait_frame(0)
    set_display(v, layout="side_by_side")
    p = v.c.player
    p.play()
    for k in range(1, 4):
        v.clock.advance(1 / 25 + 0.001)  # a little into the frame: the playhead's time is not the frame's
        p.tick()
        v.wait_frame(k)
        assert f"frame {k} of 50" in v.win.transport.time_label.text()
    p.pause()
    v.wait_frame(3)
    assert "frame 3 of 50" in v.win.transport.time_label.text()


def test_spectrogram_hz_labels_never_overlap():
    from avsol_viewer.playback.spectrogram_view import hz_ticks
    from model_core.features import mel_frequencies

    freqs = mel_frequencies()  # 64 mel bands up to ~7.7 kHz
    roomy = hz_ticks(freqs, 10.0, 14.0)
    assert [t for _, t in roomy] == ["100", "250", "500", "1k", "2k", "4k"]
    for px_per_band in (0.5, 1.0, 1.9, 2.5, 5.0):
        ticks = hz_ticks(freqs, px_per_band, 14.0)
        ys = [y for y, _ in ticks]
        assert ys == sorted(ys) and ticks[-1][1] == "4k"          # the top label always stays
        assert all((b - a) * px_per_band >= 14.0 for a, b in zip(ys, ys[1:]))
    # 130 px of bands (the default split): 250 Hz would sit 11 px from 500 Hz, so it goes
    assert [t for _, t in hz_ticks(freqs, 1.91, 14.0)] == ["100", "500", "1k", "2k", "4k"]


def _sheet_report(tmp_path):
    """Three scored items of head ``dnm`` on one (absent) video, with three different cIoUs."""
    from model_core.formats import AvsolE, Box, Segment, VideoAnnotation, save_avsol_e
    from model_core.metrics.items import score_items
    from model_core.metrics.report import build_report

    right = np.tile(np.arange(7, dtype=np.float32) / 6, (7, 1))
    segs = [Segment(k, k + 1, k + 0.5, True, sounding=(Box(0.5, 0, 1, 1),)) for k in range(3)]
    ann = tmp_path / "avsol-e.json"
    save_avsol_e(AvsolE(("bell",), (VideoAnnotation("clip.mp4", "bell", tuple(segs)),)), ann)
    maps = np.stack([right, right[:, ::-1].copy(), right.T.copy()])  # hot right (hit), left (miss), down
    items = score_items(maps, segs, videos=["clip.mp4"] * 3, head="dnm", categories=["bell"] * 3,
                        p_avc=[0.9, 0.9, 0.9])
    report = build_report(items, ["dnm"], {"command": "eval", "data": str(tmp_path / "my_set"),
                                           "annotations": str(ann), "threshold": "median",
                                           "date": "2026-12-07T06:00:00+00:00"})
    return report


def test_contact_sheet_worst_is_lowest_ciou_first_under_a_header(tmp_path):
    from avsol_viewer.evaluate.contact_sheet import header_lines, render_contact_sheet, worst_rows

    report = _sheet_report(tmp_path)
    cious = [r["ciou"] for r in report["items"]]
    assert len(set(cious)) == 3
    # a report whose rows are out of cIoU order (a rescore changes cIoUs, not the order)
    report["items"] = report["items"][::-1]
    cious = cious[::-1]
    assert cious != sorted(cious)
    report["items"].append(dict(report["items"][0], ciou=None))     # no cIoU: not in the sheet
    worst = worst_rows(report, 2)
    assert [r["ciou"] for r in worst] == sorted(cious)[:2]
    assert [r["ciou"] for r in worst_rows(report, 10)] == sorted(cious)
    first, second = header_lines(report, 2)
    assert first == "my_set - heads dnm - evaluated 2026-12-07 06:00:00+00:00"
    assert second.startswith("worst 2 of 3 items by cIoU (lowest first) - threshold rule median")
    assert header_lines(report, 2, name="R.json")[0].startswith("R.json - ")
    sheet = render_contact_sheet(report, 1)  # one tile: the sheet widens to its header
    assert sheet.shape[0] == 2 * 20 + 10 + 256 + 2 * 4 and sheet.shape[1] > 256 + 8
    assert sheet[:50].std() > 5  # the header's text is drawn


def test_follows_the_sound_always_has_its_off_screen_column(make_viewer, index_clip, other_clip):
    """Without annotations the CLI's off-screen column stays, said empty; with another file
    chosen under Audio for maps it is that file's sound."""
    from model_core.inference.audio_sources import AudioSpec

    v = make_viewer(FakeFactory(dnm=FakeLocalizer("dnm")))
    v.win.load_checkpoint("/models/dnm.pt")
    assert v.win.open_path(index_clip)  # no annotations next to it
    v.wait_maps(0)
    sc = v.win.sound_check
    with v.qtbot.waitSignal(sc.check.done, timeout=30000):
        sc.compare()
    key = v.c.maps.models[0].key
    assert [k for k, _ in sc.check.audios] == ["own", "silence", "noise"]
    assert sc.view.cells[(key, "offscreen")].text() == "not available"
    assert "Audio for maps" in sc.view.cells[(key, "offscreen")].toolTip()
    v.win.set_audio(AudioSpec("file", str(other_clip)))
    with v.qtbot.waitSignal(sc.check.done, timeout=30000):
        sc.compare()
    off = dict(sc.check.audios)["offscreen"]
    assert off.kind == "file" and off.path == str(other_clip)
    e = sc.check.entries()[key]["offscreen"]
    assert e is not None and sc.view.cells[(key, "offscreen")].text() == f"p(av) {e.p_avc:.2f}"


def test_a_window_without_a_file_welcomes_with_open_demo_and_recent(make_viewer, settings, index_clip):
    settings.add_recent_file(index_clip)
    fakes = {h: FakeLocalizer(h, h) for h in ("avc", "cls", "dnm")}
    v = make_viewer(FakeFactory(**fakes))
    welcome = v.win.presenter.welcome
    assert welcome.isVisible() and welcome.open_button.isVisible()
    assert [b.text() for b in welcome.recent_buttons] == [index_clip.name]
    r, canvas = welcome.geometry(), v.win.heads.rect()
    assert canvas.contains(r) and abs(r.center().x() - canvas.center().x()) <= 1  # centred on the canvas
    welcome.recent_buttons[0].click()
    v.wait_frame(0)
    assert v.c.session.name == index_clip.name and not welcome.isVisible()
    # Open demo: the bundled clip, and the bundled heads when none is loaded
    assert welcome.open_demo()
    v.wait_frame(0)
    assert v.c.session.name == "demo.mp4"
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == 3, timeout=20000)
    assert v.c.session.annotations is not None  # its annotations are found beside it


def test_heads_can_be_hidden_side_by_side(make_viewer, index_clip):
    v = open_with(make_viewer, index_clip, avc=FakeLocalizer("avc", "avc"), dnm=FakeLocalizer("dnm", "dnm"))
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == 2, timeout=20000)
    set_display(v, layout="side_by_side")
    keys = {m.head: m.key for m in v.c.maps.models}
    checks = v.win.display.head_checks
    assert set(checks) == set(keys.values()) and all(cb.isChecked() for cb in checks.values())
    checks[keys["avc"]].setChecked(False)  # the user unticks AVC
    assert v.win.display.options.hidden == (keys["avc"],)
    assert [m.head for m in v.win.presenter.visible_models()] == ["dnm"]
    titles = [view.title.text for view in v.win.heads.views]
    assert len(titles) == 2 and "DNM" in titles[1] and not any("AVC" in t for t in titles)
    checks[keys["dnm"]].setChecked(False)
    assert "every head is hidden" in v.win.heads.views[0].title.text
    set_display(v, layout="single", head=keys["avc"])  # one head: the one chosen, hidden or not
    assert [m.head for m in v.win.presenter.visible_models()] == ["avc"]
    checks[keys["avc"]].setChecked(True)
    set_display(v, layout="side_by_side")
    assert [m.head for m in v.win.presenter.visible_models()] == ["avc"]


def test_item_line_is_human_and_failure_labels_are_explained(qtbot):
    from PySide6.QtCore import Qt

    from avsol_viewer.evaluate.items_table import COLUMNS, ItemsModel
    from avsol_viewer.evaluate.labels import FAILURE_HELP, describe
    from avsol_viewer.evaluate.results_panel import describe as panel_describe

    row = {"head": "cls", "video": None, "time": 9.5, "status": "scored", "class": "bell", "kind": "event",
           "size": None, "ciou": 0.12, "hit": False, "p_avc": 0.93, "pixel_ap": None, "failure": "wrong_object"}
    line = describe(row)
    assert line == ("CLS · cls at 9.50 s (bell, event): cIoU 0.120, miss, p(av) 0.930, "
                    f"wrong_object: {FAILURE_HELP['wrong_object']}")
    assert panel_describe(row) == line  # the panel and the status bar say the same
    for bad in ("None", "False", "@"):
        assert bad not in line
    ok = dict(row, video="clip.mp4", size="small", hit=True, failure="ok", ciou=0.7)
    assert describe(ok).startswith("CLS · cls · clip.mp4 at 9.50 s (bell, event, small object): cIoU 0.700, hit")
    assert "ok" not in describe(ok).split("hit", 1)[1]
    assert describe({"head": "dnm", "video": "a.mp4", "time": 1.0, "status": "missing",
                     "error": "video file not found"}) == "DNM · dnm · a.mp4 at 1.00 s: missing: video file not found"
    assert describe({"head": "dnm", "ciou": "abc", "time": "x"}) == "DNM · dnm at x s: cIoU abc"  # never raises
    model = ItemsModel()
    model.set_rows([row, dict(row, failure=None, ciou=None, hit=None), dict(row, status="failed", error="boom")])
    col = COLUMNS.index("failure")
    tip = lambda r: model.data(model.index(r, col), Qt.ItemDataRole.ToolTipRole)  # noqa: E731
    assert tip(0) == FAILURE_HELP["wrong_object"] and "no label" in tip(1) and tip(2) == "boom"
    legend = model.headerData(col, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert all(f"{k}: " in legend for k in ("miss", "diffuse", "wrong_object", "false_alarm"))


def test_rescored_report_says_saved_after_its_export(make_viewer, tmp_path):
    from avsol_viewer.evaluate import commands
    from model_core.metrics.report import write_report

    path = tmp_path / "report.json"
    write_report(path, _sheet_report(tmp_path))
    v = make_viewer(FakeFactory())
    assert commands.open_report(v.win.context, path)
    panel = v.win.evaluation.panel
    k = next(i for i in range(panel.proxy.rowCount()) if panel.proxy.row_at(i)["time"] == 2.5)
    panel.table.selectRow(k)
    before = panel.proxy.row_at(k)["ciou"]
    panel.detail.setText("stale line")
    panel.rescore("top-gt", wait=True)
    assert "not saved" in panel.status.text()
    # the inspected item keeps its line, with the rescored numbers
    row = panel.proxy.row_at(panel.current_row())
    assert row["time"] == 2.5 and panel.detail.text() != "stale line"
    assert f"cIoU {row['ciou']:.3f}" in panel.detail.text()
    assert row["ciou"] != before
    assert commands.export_report(v.win.context, tmp_path / "out.csv", "csv")
    assert "not saved" in panel.status.text()              # a CSV is not the report
    assert commands.export_report(v.win.context, tmp_path / "out.json")
    assert "not saved" not in panel.status.text() and "saved to" in panel.status.text()
    assert "out.json" in panel.status.text()


def test_a_head_can_be_unloaded_and_loaded_again(make_viewer, index_clip):
    v = open_with(make_viewer, index_clip, avc=FakeLocalizer("avc", "avc"), dnm=FakeLocalizer("dnm", "dnm"))
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == 2, timeout=20000)
    keys = {m.head: m.key for m in v.c.maps.models}
    v.win.display.unload_buttons[keys["avc"]].click()
    v.qtbot.waitUntil(lambda: [m.head for m in v.c.maps.models] == ["dnm"], timeout=20000)
    assert set(v.win.display.head_checks) == {keys["dnm"]} and not v.c.maps.loading
    assert v.win.model_label.text().startswith("models: dnm")
    assert not any("AVC" in view.title.text for view in v.win.heads.views)
    v.win.load_checkpoint("/models/avc.pt")  # back again
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == 2, timeout=20000)


def test_pth_checkpoints_open_like_pt(make_viewer):
    v = make_viewer(FakeFactory(dnm=FakeLocalizer("dnm", "dnm"), **{"avc.pth": FakeLocalizer("avc", "avc")}))
    assert v.win.open_path("/models/dnm.pth") and v.win.open_path("/models/avc.pth.tar")  # dropped or opened
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == 2, timeout=20000)
    assert not v.errors


def test_a_per_frame_scale_stored_unasked_becomes_absolute_a_chosen_one_stays(make_viewer, settings):
    settings.set_value("display/scale", "per_frame")  # what older versions stored by default
    settings.sync()
    v = make_viewer()
    assert v.win.display.options.scale == "absolute" and v.win.presenter.options.scale == "absolute"
    box = v.win.display.scale_box
    box.setCurrentIndex(box.findData("per_frame"))
    box.activated.emit(box.currentIndex())  # the user picks min-max
    assert v.win.display.options.scale == "per_frame" and v.win.display.options.scale_chosen
    assert settings.value("display/scale") == "per_frame" and settings.value("display/scale_chosen") is True
    v2 = make_viewer()  # the next launch keeps the user's choice
    assert v2.win.display.options.scale == "per_frame"
