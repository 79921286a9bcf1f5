"""File › Export overlay video: duration and streams of the file, overlay pixels where the
map is hot (the view's LUT and blend), side by side and time ranges, Cancel leaving the
target untouched and no thread behind, and the drawing rules computed by hand."""
from __future__ import annotations

import time

import numpy as np
import pytest

from media_helpers import read_frame_index
from viewer_support import FakeFactory, FakeLocalizer, set_display

W, H, FPS = 128, 96, 25.0  # index_clip: 50 frames, 2 s, 440 Hz tone at 16 kHz


def _viewer(make_viewer, clip, **fakes):
    v = make_viewer(FakeFactory(**fakes))
    for name in fakes:
        v.win.load_checkpoint(f"/models/{name}.pt")
    assert v.win.open_path(clip)
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == len(fakes), timeout=20000)
    return v


def _streams(path):
    """(video frames as RGB arrays, video duration s, audio duration s or None, audio rate)."""
    import av

    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(vs)]
        vdur = float(vs.duration * vs.time_base) if vs.duration else len(frames) / FPS
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return frames, vdur, None, None
        a = c.streams.audio[0]
        n = sum(f.samples for f in c.decode(a))
        return frames, vdur, n / a.rate, a.rate


def _patch(img, x, y, r=3):
    return img[int(y) - r:int(y) + r, int(x) - r:int(x) + r].reshape(-1, 3).mean(axis=0)


def _run(v, out, **options):
    from avsol_viewer.export.export_video import export_overlay

    worker = export_overlay(v.win.context, out, **options)
    with v.qtbot.waitSignal(worker.done, timeout=60000) as blocker:
        pass
    worker.wait(10000)
    return blocker.args[0]


def test_export_has_video_and_audio_and_the_overlay_where_the_map_is_hot(make_viewer, index_clip, tmp_path):
    from avsol_viewer.maps.colormaps import colour_of
    from model_core.media.frames import VideoReader

    v = _viewer(make_viewer, index_clip, dnm=FakeLocalizer("dnm", quadrant="tl"))
    # min-max per frame: the hot quadrant is drawn at 1 (the default absolute scale draws 0.95)
    set_display(v, layout="single", colormap="inferno", opacity=0.6, contour=False, peak=False, boxes=False,
         scale="per_frame")
    out = tmp_path / "out" / "overlay.mp4"
    result = _run(v, out, labels=False)
    assert out.is_file() and result.frames == 50 and result.has_audio
    assert not [p for p in out.parent.iterdir() if p.name != out.name]  # no temporary left
    frames, vdur, adur, rate = _streams(out)
    assert len(frames) == 50 and abs(vdur - 2.0) < 0.05
    assert adur is not None and abs(adur - 2.0) < 0.05 and rate == 16000
    assert frames[0].shape == (H, W, 3)
    hot, cold = (W / 4, H / 4 + 4), (3 * W / 4, 3 * H / 4)
    colour = np.array(colour_of("inferno", 1.0), float)
    with VideoReader(index_clip) as r:
        for i in (0, 17, 49):
            src, got = r.read_at_index(i).astype(float), frames[i].astype(float)
            expected = 0.4 * _patch(src, *hot) + 0.6 * colour
            assert np.abs(_patch(got, *hot) - expected).max() < 12, (i, _patch(got, *hot), expected)
            assert np.abs(_patch(got, *cold) - _patch(src, *cold)).max() < 8  # cold: transparent


def test_side_by_side_time_range_and_cached_maps(make_viewer, index_clip, tmp_path):
    fakes = dict(avc=FakeLocalizer("avc", "avc", "tl"), cls=FakeLocalizer("cls", "cls", "tr"),
                 dnm=FakeLocalizer("dnm", "dnm", "bl"))
    v = _viewer(make_viewer, index_clip, **fakes)
    set_display(v, layout="side_by_side", opacity=1.0, contour=False, peak=False, boxes=False, scale="per_frame")
    v.qtbot.waitUntil(lambda: all(v.c.maps.count(m.key) == 50 for m in v.c.maps.models), timeout=30000)
    calls = {k: len(f.predicted) for k, f in fakes.items()}
    out = tmp_path / "sbs.mp4"
    result = _run(v, out, start=0.4, end=1.2, labels=False)
    assert result.computed_maps == 0  # every map came from the viewer's cache
    assert {k: len(f.predicted) for k, f in fakes.items()} == calls
    frames, vdur, adur, _ = _streams(out)
    assert len(frames) == 20 and result.frames == 20 and abs(adur - 0.8) < 0.05
    assert frames[0].shape == (2 * H, 2 * W, 3)  # 2 x 2: the plain frame, AVC, CLS, DNM
    from avsol_viewer.maps.colormaps import colour_of

    colour = np.array(colour_of("inferno", 1.0), float)
    tiles = {"avc": (W, 0), "cls": (0, H), "dnm": (W, H)}
    hot = {"avc": (W / 4, H / 4 + 4), "cls": (3 * W / 4, H / 4 + 4), "dnm": (W / 4, 3 * H / 4)}
    for head, (x0, y0) in tiles.items():
        x, y = hot[head]
        assert np.abs(_patch(frames[5], x0 + x, y0 + y) - colour).max() < 14, head
    # the first tile is the plain frame: frame 10 (0.4 s) first, frame 29 last
    assert read_frame_index(frames[0][:H, :W]) == 10
    assert read_frame_index(frames[-1][:H, :W]) == 29


def test_cancel_leaves_the_target_untouched_and_no_thread(make_viewer, index_clip, tmp_path):
    from PySide6.QtWidgets import QPushButton

    from avsol_viewer.export.export_dialog import running_exports, start_with_progress

    def slow(frame, emb):
        time.sleep(0.1)
        return np.eye(8, dtype=np.float32)

    v = _viewer(make_viewer, index_clip, dnm=FakeLocalizer("dnm", map_fn=slow))
    from model_core.input_protection import OWN_VIDEO_METADATA
    from model_core.media.writer import Mp4Writer

    out = tmp_path / "exports" / "kept.mp4"
    out.parent.mkdir()
    older = Mp4Writer(out, (16, 16), 25, metadata=OWN_VIDEO_METADATA)  # an older export (ours: replaceable)
    older.picture(np.zeros((16, 16, 3), np.uint8))
    older.close(True)
    old_bytes = out.read_bytes()
    worker = start_with_progress(v.win.context, out)
    seen = []
    worker.progress.connect(lambda done, total: seen.append(done))
    v.qtbot.waitUntil(lambda: bool(seen) and seen[-1] >= 3, timeout=30000)
    with v.qtbot.waitSignal(worker.cancelled, timeout=20000):
        worker.progress_dialog.findChild(QPushButton).click()  # the dialog's Cancel button
    worker.wait(10000)
    assert not worker.isRunning() and not running_exports()
    assert out.read_bytes() == old_bytes
    assert sorted(p.name for p in out.parent.iterdir()) == ["kept.mp4"]  # no temporary left
    v.c.player.seek_index(20)  # the viewer goes on working
    v.wait_frame(20)
    assert "cancelled" in v.win.statusBar().currentMessage()


def test_closing_the_window_cancels_a_running_export(make_viewer, index_clip, tmp_path):
    from avsol_viewer.export.export_dialog import running_exports
    from avsol_viewer.export.export_video import export_overlay

    def slow(frame, emb):
        time.sleep(0.1)
        return np.eye(8, dtype=np.float32)

    v = _viewer(make_viewer, index_clip, dnm=FakeLocalizer("dnm", map_fn=slow))
    worker = export_overlay(v.win.context, tmp_path / "x.mp4")
    v.qtbot.waitUntil(lambda: worker.isRunning(), timeout=5000)
    v.win.close()
    assert not running_exports()
    assert not (tmp_path / "x.mp4").exists()


def _job(clip, out, keys=("dnm",), **kw):
    from avsol_viewer.maps.colormaps import overlay_lut
    from avsol_viewer.export.export_video import ExportJob
    from model_core.inference.engine import ModelInfo, model_key
    from avsol_viewer.core.session import video_key

    models = tuple(ModelInfo(model_key(f"/models/{k}.pt"), k, k, f"/models/{k}.pt", ("a", "b"), "cpu", 8)
                   for k in keys)
    return ExportJob(str(clip), video_key(clip), str(out), models, lut=overlay_lut("inferno", 0.6), **kw)


def test_export_video_computes_missing_maps_itself(index_clip, tmp_path):
    """The blocking do() without a window: an empty cache, so the export's own map worker
    computes every frame; the sound is what the maps heard (silence here)."""
    from model_core.inference.audio_sources import AudioSpec
    from avsol_viewer.export.export_video import export_video
    from model_core.inference.map_cache import MapCache

    fake = FakeLocalizer("dnm", quadrant="br")
    job = _job(index_clip, tmp_path / "direct.mp4", start=1.0, audio=AudioSpec("silence"), sound="maps")
    seen = []
    result = export_video(job, MapCache(), FakeFactory(dnm=fake), progress=lambda d, n: seen.append((d, n)))
    assert result.computed_maps == 25 and result.frames == 25 and seen[-1] == (25, 25)
    assert sorted(set(fake.frames_seen)) == list(range(25, 50))  # each frame once, none outside
    frames, _, adur, rate = _streams(tmp_path / "direct.mp4")
    assert len(frames) == 25 and rate == 16000 and abs(adur - 1.0) < 0.05
    import av

    with av.open(str(tmp_path / "direct.mp4")) as c:
        peak = max(float(np.abs(f.to_ndarray()).max()) for f in c.decode(c.streams.audio[0]))
    assert peak < 1e-3  # silence, as the maps heard


def test_a_model_that_fails_stops_the_export_with_its_message(index_clip, tmp_path):
    from avsol_viewer.export.export_video import ExportError, export_video
    from model_core.inference.map_cache import MapCache
    from model_core.errors import CheckpointError

    job = _job(index_clip, tmp_path / "never.mp4")
    bad = FakeFactory(dnm=CheckpointError("/models/dnm.pt", "not an AVSOL checkpoint"))
    with pytest.raises(ExportError, match="not an AVSOL checkpoint"):
        export_video(job, MapCache(), bad)
    assert not list(tmp_path.iterdir())


def test_menu_action_and_nothing_to_export(make_viewer):
    from avsol_viewer.export.export_dialog import SHORTCUT, ask_export

    v = make_viewer()
    action = v.win.actions_by_name["export_video"]
    assert action.shortcut().toString() == SHORTCUT
    file_menu = v.win.menuBar().actions()[0].menu()
    assert action in file_menu.actions()
    assert ask_export(v.win.context) is None
    assert v.errors and v.errors[-1][0] == "Nothing to export"


def test_menu_command_asks_then_exports(make_viewer, index_clip, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QDialog

    from avsol_viewer.export.export_dialog import ExportDialog, ask_export

    v = _viewer(make_viewer, index_clip, dnm=FakeLocalizer("dnm"))
    v.win.settings.set_value("outputs/export", str(tmp_path))     # the last export went there
    monkeypatch.setattr(ExportDialog, "exec", lambda self: QDialog.DialogCode.Accepted)  # "Export" pressed
    worker = ask_export(v.win.context)
    with v.qtbot.waitSignal(worker.done, timeout=60000):
        pass
    worker.wait(10000)
    assert (tmp_path / "index-overlay.mp4").is_file()
    v.qtbot.waitUntil(lambda: "exported 50 frames" in v.win.statusBar().currentMessage(), timeout=5000)


def test_export_dialog_values(make_viewer, index_clip):
    from avsol_viewer.export.export_dialog import ExportDialog

    v = _viewer(make_viewer, index_clip, dnm=FakeLocalizer("dnm"))
    dlg = ExportDialog(v.win.context)
    values = dlg.values()
    assert values["end"] is None and values["start"] == 0.0 and values["sound"] == "own"
    assert values["out_path"].endswith("index-overlay.mp4")
    dlg.range.setCurrentIndex(1)
    dlg.start.setValue(0.5)
    dlg.end.setValue(1.5)
    assert (dlg.values()["start"], dlg.values()["end"]) == (0.5, 1.5)
    dlg.close()


# -- drawing rules, computed by hand ----------------------------------------------------
def test_lut_indices_follow_pyqtgraph():
    from avsol_viewer.export.export_render import lut_indices

    v = np.array([0.0, 1 / 256 - 1e-4, 1 / 256, 0.5, 0.999, 1.0, 1.5, -0.2, np.nan], np.float32)
    assert lut_indices(v).tolist() == [0, 0, 1, 128, 255, 255, 255, 0, 0]


def test_blend_overlay_by_hand():
    from avsol_viewer.export.export_render import blend_overlay

    frame = np.zeros((4, 6, 3), np.uint8)
    frame[...] = (100, 50, 0)
    lut = np.zeros((256, 4), np.uint8)
    lut[255] = (200, 0, 100, 128)  # half opaque at the top of the range
    values = np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)  # stretched: 3 x 2 pixels each
    out = blend_overlay(frame, values, lut)
    # (100 * 127 + 200 * 128) / 255 = 150.2, (50 * 127) / 255 = 24.9, (0 + 100 * 128) / 255 = 50.2
    assert out[:2, :3].reshape(-1, 3).tolist() == [[150, 25, 50]] * 6
    assert (out[2:] == (100, 50, 0)).all() and (out[:, 3:] == (100, 50, 0)).all()


def test_tile_draws_contour_peak_and_boxes():
    from types import SimpleNamespace

    from avsol_viewer.export.export_render import (CONTOUR_RGB, PEAK_RGB, SILENT_RGB, SOUNDING_RGB, RenderOptions,
                                            render_tile)
    from avsol_viewer.core.map_display import DisplayMap

    frame = np.zeros((120, 160, 3), np.uint8)
    values = np.zeros((224, 224), np.float32)
    values[:112, :112] = 1.0  # hot top-left quarter
    dm = DisplayMap(values, (0.25, 0.25), 0.0, 1.0)
    box = lambda x1, y1, x2, y2: SimpleNamespace(x1=x1, y1=y1, x2=x2, y2=y2)  # noqa: E731
    seg = SimpleNamespace(sounding_boxes=(box(0.6, 0.6, 0.9, 0.9),), silent=(box(0.05, 0.6, 0.3, 0.9),))
    lut = np.zeros((256, 4), np.uint8)  # transparent: only the drawings show
    img = render_tile(frame, dm, lut, RenderOptions(labels=False), seg)
    edge = img[55:65, 40]  # across the quarter's lower edge (antialiased line): white at its centre
    assert edge.max() >= 200 and (edge[:, 0] == edge[:, 2]).all() and CONTOUR_RGB == (255, 255, 255)
    assert tuple(img[30, 40]) == PEAK_RGB  # the cross's centre on the peak (0.25, 0.25)
    assert tuple(img[72, 120]) == SOUNDING_RGB and tuple(img[72, 8]) == SILENT_RGB  # left edges of the boxes
    bare = render_tile(frame, dm, lut, RenderOptions(contour=False, peak=False, boxes=False, labels=False), seg)
    assert not bare.any()


def test_layout_grid_and_even_sizes():
    from avsol_viewer.export.export_render import Layout

    g = Layout.for_views(4, 1280, 720, 1920)
    assert (g.cols, g.rows, g.tile, g.size) == (2, 2, (960, 540), (1920, 1080))
    one = Layout.for_views(1, 321, 241, 1920)  # never scaled up; 4:2:0 needs even sizes
    assert one.tile == (321, 241) and one.size == (320, 240)
    two = Layout.for_views(2, 640, 480, 1920)
    assert (two.cols, two.rows, two.size) == (2, 1, (1280, 480))


def test_frame_range():
    from types import SimpleNamespace

    from avsol_viewer.export.export_video import frame_range

    r = SimpleNamespace(duration=2.0, frame_count=50, index_at_time=lambda t: min(int(t * 25 + 1e-6), 49),
                        time_at_index=lambda i: i / 25)
    assert frame_range(r, 0.0, None) == (0, 50)
    assert frame_range(r, 0.4, 1.2) == (10, 30)
    assert frame_range(r, 0.41, 1.21) == (10, 31)  # frame 30 (1.2 s) is shown before 1.21 s
    assert frame_range(r, 1.0, 5.0) == (25, 50)
