"""Maps in the viewer: overlay pixels where the map is hot, head switching from the cache,
the GUI staying live while a slow model runs, latest request first, audio sources,
segment scores, failed checkpoints."""
from __future__ import annotations

import json
import shutil
import threading

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QTimer

from media_helpers import read_frame_index
from model_core.errors import CheckpointError
from viewer_support import FakeFactory, FakeLocalizer, open_with, quadrant_map, set_display

W, H = 128, 96  # the clip's frame size


def _pixel(v, view_index: int, x: float, y: float) -> np.ndarray:
    """RGB of the heads panel at frame point (x, y) of view ``view_index``, rendered now."""
    heads = v.win.heads
    img = heads.grab().toImage()
    vb = heads.views[view_index].vb
    pt = heads.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
    c = img.pixelColor(pt.x(), pt.y())
    return np.array([c.red(), c.green(), c.blue()], float)


def test_overlay_is_drawn_where_the_map_is_hot(make_viewer, index_clip):
    from avsol_viewer.maps.colormaps import colour_of

    v = open_with(make_viewer, index_clip, dnm=FakeLocalizer("dnm", quadrant="tl"))
    v.wait_maps(0)
    v.wait_frame(0)
    # min-max per frame: the hot quadrant is drawn at 1, the cold one at 0 (transparent)
    set_display(v, layout="single", colormap="inferno", opacity=0.6, contour=False, peak=False, boxes=False,
         scale="per_frame")
    hot, cold = (W / 4, H / 4 + 4), (3 * W / 4, 3 * H / 4)
    with_map = [_pixel(v, 0, *p) for p in (hot, cold)]
    set_display(v, opacity=0.0)
    plain = [_pixel(v, 0, *p) for p in (hot, cold)]
    expected_hot = 0.4 * plain[0] + 0.6 * np.array(colour_of("inferno", 1.0))
    assert np.abs(with_map[0] - expected_hot).max() < 12, (with_map[0], expected_hot)
    assert np.abs(with_map[1] - plain[1]).max() < 6  # cold: transparent
    # the peak marker sits on the metrics' peak (first maximum, top-left of the hot quadrant)
    set_display(v, opacity=0.6, peak=True)
    xs, ys = v.win.heads.views[0].peak.getData()
    assert xs[0] < W / 2 and ys[0] < H / 2


def test_side_by_side_and_head_switching_use_the_cache(make_viewer, index_clip):
    fakes = dict(avc=FakeLocalizer("avc", "avc", "tl"), cls=FakeLocalizer("cls", "cls", "tr"),
                 dnm=FakeLocalizer("dnm", "dnm", "bl"))
    v = open_with(make_viewer, index_clip, **fakes)
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == 3 and all(v.c.maps.count(m.key) == 50
                                                                for m in v.c.maps.models), timeout=20000)
    set_display(v, layout="side_by_side", contour=False, peak=False)
    assert len(v.win.heads.views) == 4  # the plain frame, then AVC, CLS, DNM
    titles = [view.title.text for view in v.win.heads.views]
    assert "Frame" in titles[0] and "AVC" in titles[1] and "CLS" in titles[2] and "DNM" in titles[3]
    v.win.heads.grab()  # lay out and paint: every view fits the whole frame, edge to edge
    for view in v.win.heads.views:
        (x0, x1), (y0, y1) = view.vb.viewRange()
        px = pytest.approx  # to half a frame pixel
        assert (x0 == px(0, abs=0.5) and x1 == px(W, abs=0.5)) or (y0 == px(0, abs=0.5) and y1 == px(H, abs=0.5))
        assert x0 <= 0.5 and x1 >= W - 0.5 and y0 <= 0.5 and y1 >= H - 0.5
    calls = {k: len(f.predicted) for k, f in fakes.items()}
    keys = {m.head: m.key for m in v.c.maps.models}
    centres = {"tl": (W / 4, H / 4 + 4), "tr": (3 * W / 4, H / 4 + 4), "bl": (W / 4, 3 * H / 4)}
    for head, quadrant in (("avc", "tl"), ("cls", "tr"), ("dnm", "bl")):
        set_display(v, layout="single", head=keys[head], opacity=0.0)
        plain = _pixel(v, 0, *centres[quadrant])
        set_display(v, opacity=0.8)  # drawn at once, from the cache
        assert np.abs(_pixel(v, 0, *centres[quadrant]) - plain).max() > 20, head
    for k in range(50):  # replay: every frame's map is already there
        v.c.player.seek_index(k)
    v.wait_frame(49)
    assert {k: len(f.predicted) for k, f in fakes.items()} == calls
    v.win.cycle_head(1)
    assert v.win.display.options.layout == "single"


def test_gui_stays_live_while_the_model_runs_and_latest_request_wins(make_viewer, index_clip):
    gate = threading.Event()
    fake = FakeLocalizer("dnm", gate=gate)
    v = open_with(make_viewer, index_clip, dnm=fake)
    v.qtbot.waitUntil(fake.entered.is_set, timeout=20000)  # the worker is inside predict, blocked
    ticks = []
    QTimer.singleShot(0, lambda: ticks.append(1))
    v.qtbot.waitUntil(lambda: bool(ticks), timeout=15000)  # the event loop runs
    for i in (5, 12, 30):  # the user scrubs while the model is busy
        v.c.player.seek_index(i)
        v.wait_frame(i)
        assert read_frame_index(v.c.image) == i
    assert not v.c.maps.ready_at(30)
    gate.set()
    v.wait_maps(30)
    # after the batch that was running (frame 0), the newest request came first
    assert fake.frames_seen[:2] == [0, 30]
    v.c.player.seek_index(31)  # filled ahead of 30, or computed now
    v.wait_maps(31)
    v.wait_frame(31)
    v.qtbot.waitUntil(lambda: v.win.heads.views[-1].overlay.isVisible(), timeout=15000)


def test_audio_for_maps(make_viewer, index_clip, other_clip):
    from model_core.inference.audio_sources import AudioSpec

    def by_sound(frame, emb):  # hot top-left when the window has sound, bottom-right when silent
        return quadrant_map("tl" if emb[0] > 1e-3 else "br")

    fake = FakeLocalizer("dnm", map_fn=by_sound)
    v = open_with(make_viewer, index_clip, dnm=fake)
    v.wait_maps(10)
    key = v.c.maps.models[0].key
    own, _ = v.c.maps.entry(key, 10)
    assert own.map[0, 0] > 0.5 and not own.silent_audio
    set_display(v, layout="side_by_side")  # the plain frame's title names what the maps hear
    for spec, hot_tl, silent in ((AudioSpec("silence"), False, True), (AudioSpec("noise"), True, False),
                                 (AudioSpec("file", str(other_clip)), True, False)):
        v.win.set_audio(spec)
        v.c.player.seek_index(10)
        v.wait_maps(10)
        entry, _ = v.c.maps.entry(key, 10)
        assert (entry.map[0, 0] > 0.5) == hot_tl, spec
        assert entry.silent_audio == silent
        v.qtbot.waitUntil(lambda: spec.label in v.win.heads.views[0].title.text, timeout=5000)
    v.win.set_audio(AudioSpec("own"))
    assert v.c.maps.entry(key, 10)[0] is own  # back to the cached maps of the own audio


def test_segment_scores_come_from_model_core_metrics(make_viewer, index_clip, tmp_path):
    from model_core.formats.annotations import Box, Segment
    from model_core.metrics import score_items

    video = tmp_path / "clip.mp4"
    shutil.copy(index_clip, video)
    box = [0.0, 0.0, 0.5, 0.5]
    doc = {"format": "avsol-e", "version": 1, "classes": ["tone"], "videos": [{
        "video": "clip.mp4", "category": "tone", "segments": [
            {"start": 0.0, "end": 1.0, "frame_time": 0.5, "event": True, "sounding": [box]},
            {"start": 1.0, "end": 2.0, "frame_time": 1.5, "event": True, "sounding": [[0.5, 0.5, 1.0, 1.0]]}]}]}
    (tmp_path / "avsol-e.json").write_text(json.dumps(doc))
    v = open_with(make_viewer, video, dnm=FakeLocalizer("dnm", quadrant="tl"))
    v.c.player.seek(0.2)
    v.wait_maps(12)  # the segment's annotated frame, 0.5 s
    v.qtbot.waitUntil(lambda: v.win.segment.table.rowCount() == 1
                      and v.win.segment.table.item(0, 4).text() != "computing", timeout=15000)
    ref = score_items(quadrant_map("tl")[None], [Segment(0.0, 1.0, 0.5, True, (Box(*box),))],
                      videos=["clip.mp4"], head="dnm", p_avc=[0.95])[0]
    row = [v.win.segment.table.item(0, c).text() for c in range(5)]
    assert row == ["DNM · dnm", "0.95", f"{ref.ciou:.2f}", "yes", "ok"]  # head_style.head_label
    assert ref.ciou > 0.5
    v.c.player.seek(1.2)  # second segment: the sounding box is bottom-right, the map top-left
    v.wait_maps(37)
    v.qtbot.waitUntil(lambda: v.win.segment.table.item(0, 3) is not None
                      and v.win.segment.table.item(0, 3).text() == "no", timeout=15000)
    assert "Segment 1" in v.win.segment.heading.text()


def test_no_model_and_failed_checkpoint(make_viewer, index_clip):
    v = make_viewer(FakeFactory(bad=CheckpointError("/models/bad.pt", "not an AVSOL Studio checkpoint")))
    assert v.win.open_path(index_clip)
    assert "no model loaded" in v.win.heads.views[0].title.text
    v.win.load_checkpoint("/models/bad.pt")
    v.qtbot.waitUntil(lambda: bool(v.errors), timeout=15000)
    title, text = v.errors[-1]
    assert "bad.pt" in title and "not an AVSOL Studio checkpoint" in text
    assert v.win.model_label.text() == "no model loaded"
    assert not v.c.maps.loading
    v.c.player.seek_index(3)  # still a working player
    v.wait_frame(3)


@pytest.mark.parametrize("scale", ["per_frame", "absolute"])
def test_display_map_scaling(scale):
    from avsol_viewer.core.map_display import prepare

    raw = np.full((7, 7), 0.4, np.float32)
    raw[2, 5] = 0.6
    dm = prepare(raw, scale)
    assert dm.values.shape == (224, 224) and dm.values.dtype == np.float32
    if scale == "per_frame":
        assert dm.values.min() == 0.0 and dm.values.max() == pytest.approx(1.0)
    else:
        # bilinear upsampling (align_corners=False) never quite reaches a lone cell's value
        assert dm.values.min() == pytest.approx(0.4) and 0.58 < dm.values.max() <= 0.6
    x, y = dm.peak
    assert int(x * 7) == 5 and int(y * 7) == 2
    assert prepare(np.zeros((7, 7), np.float32)).peak is None  # a flat map has no peak
