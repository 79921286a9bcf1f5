"""The viewer's small parts, computed by hand: clocks, the audio callback, the map cache,
audio sources, timelines, annotation discovery, grid layout, lookup tables, settings."""
from __future__ import annotations

import numpy as np
import pytest



class FakeTimer:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_wall_clock_follows_rate_and_pauses():
    from avsol_viewer.playback.clock import WallClock

    timer = FakeTimer()
    c = WallClock(timer)
    c.seek(2.0)
    c.start()
    timer.t += 1.0
    assert c.now() == pytest.approx(3.0)
    c.set_rate(0.5)
    timer.t += 1.0
    assert c.now() == pytest.approx(3.5)
    c.pause()
    timer.t += 5.0
    assert c.now() == pytest.approx(3.5)
    c.start()
    timer.t += 2.0
    assert c.now() == pytest.approx(4.5)


class FakeStream:
    def __init__(self, **kw):
        self.kw, self.latency, self.started = kw, 0.02, False

    def start(self):
        self.started = True

    def stop(self):
        self.started = False

    def close(self):
        pass


def test_audio_output_callback_copies_samples_and_advances_the_clock():
    from avsol_viewer.playback.audio_output import AudioOutput

    track = np.arange(16000, dtype=np.float32) / 16000
    timer = FakeTimer()
    streams = []
    out = AudioOutput(track, 16000, stream_factory=lambda **kw: streams.append(FakeStream(**kw)) or streams[-1],
                      timer=timer)
    cb = streams[0].kw["callback"]
    buf = np.ones((512, 1), np.float32)
    cb(buf, 512, None, None)  # paused: silence, no movement
    assert not buf.any() and out.position() == 0.0
    out.seek(0.5)
    out.play()
    cb(buf, 512, None, None)
    np.testing.assert_array_equal(buf[:, 0], track[8000:8512])
    # sample 8000 is heard after the output latency (0.02 s): until then the clock holds
    assert out.position() == pytest.approx(0.5, abs=1e-6)
    timer.t += 0.02 + 0.1
    assert out.position() == pytest.approx(0.5 + 0.1, abs=1e-6)
    out.set_rate(2.0)  # varispeed: every other sample
    cb(buf, 512, None, None)
    start = int(round(out._stamp[0])) - 1024
    np.testing.assert_allclose(buf[:, 0], track[start:start + 1024:2], atol=1e-6)
    out.seek(0.99)  # past the end: zeros
    cb(buf, 512, None, None)
    assert buf[:160, 0].any() and not buf[160:, 0].any()
    out.close()


def test_map_cache_lru_and_counts():
    from model_core.inference.map_cache import MapCache, MapEntry, MapKey

    def entry():
        return MapEntry(np.zeros((7, 7), np.float32), 0.5, np.zeros(2, np.float32), 0.0, 0.0)

    size = entry().nbytes
    cache = MapCache(max_bytes=3 * size)
    for i in range(3):
        cache.put(MapKey("v", "m", "own", i), entry())
    assert cache.get(MapKey("v", "m", "own", 0)) is not None  # 0 becomes most recent
    cache.put(MapKey("v", "m", "own", 3), entry())
    assert MapKey("v", "m", "own", 1) not in cache and MapKey("v", "m", "own", 0) in cache
    assert cache.count("v", "m", "own") == 3
    assert cache.missing("v", ["m", "n"], "own", 3) == ["n"]
    hit = cache.nearest_before("v", "m", "own", 5, max_back=2)
    assert hit[0] == 3
    assert cache.nearest_before("v", "m", "own", 6, max_back=2) is None


def test_audio_sources(tmp_path):
    from model_core.inference.audio_sources import ArrayAudio, AudioSpec, NoiseAudio
    from model_core.inference.audio_window import window_centre, window_key
    from media_helpers import make_clip, tone
    from model_core.features import window_for_time
    from model_core.media.audio import read_audio

    x = tone(2.0, 440.0)
    src = ArrayAudio(x)
    for t in (0.0, 0.3, 1.0, 1.9):
        np.testing.assert_array_equal(src.window(t), window_for_time(x, 16000, t))
    noise = NoiseAudio(0.2)
    a, b = noise.window(1.0), noise.window(1.0)
    np.testing.assert_array_equal(a, b)  # same window, same samples: cacheable
    assert np.sqrt(np.mean(a ** 2)) == pytest.approx(0.2, rel=0.05)
    assert not np.array_equal(a, noise.window(1.1))
    assert window_centre(1.23, None) == 1.23 and window_centre(1.23, 1.0) == 1.5
    assert window_key(0.5) == 0
    clip = make_clip(tmp_path / "c.mp4", n_frames=25, fps=25.0, size=(64, 48))
    own = AudioSpec("own").open(clip)
    np.testing.assert_array_equal(own.window(0.7), read_audio(clip, 0.2, 1.2))  # the CLI's samples
    quiet = make_clip(tmp_path / "q.mp4", n_frames=25, fps=25.0, size=(64, 48), with_audio=False)
    assert AudioSpec("own").open(quiet).silent
    noisy = AudioSpec("noise").open(clip)       # at the RMS of the own window (eval's noise):
    n = noisy.window(0.7)                       # 0.2..1.2 s, of which 0.8 s is the 1 s tone's
    assert np.sqrt(np.mean(n ** 2)) == pytest.approx(0.5 / np.sqrt(2) * np.sqrt(0.8), rel=0.05)
    np.testing.assert_array_equal(n, noisy.window(0.7))
    assert AudioSpec("silence").open(clip).silent
    with pytest.raises(ValueError):
        AudioSpec("file")


def test_timeline_constant_and_variable_rate():
    from avsol_viewer.core.session import Timeline

    tl = Timeline(fps=25.0, frame_count=50, duration=2.0)
    assert tl.index_at(0.04) == 1 and tl.index_at(0.0399) == 0 and tl.index_at(9.0) == 49
    assert tl.time_at(13) == pytest.approx(0.52) and tl.last_time == pytest.approx(1.96)
    vfr = Timeline(fps=10.0, frame_count=3, duration=1.0, times=(0.0, 0.1, 0.5))
    assert [vfr.index_at(t) for t in (0.05, 0.1, 0.49, 0.5, 3.0)] == [0, 1, 1, 2, 2]


def test_annotation_finder(tmp_path):
    from avsol_viewer.core.annotation_finder import find_annotations

    video = tmp_path / "videos" / "abc.mp4"
    video.parent.mkdir()
    video.write_bytes(b"x")
    assert find_annotations(video) == (None, "")
    (tmp_path / "Annotations.txt").write_text("Dog&abc&good&2&4\nCat&other&good&0&1\n")
    found, note = find_annotations(video, duration=5.0)
    assert found.kind == "ave" and found.category == "Dog" and note == ""
    assert [s.event for s in found.segments] == [False, False, True, True, False]
    assert found.at(2.5)[0] == 2 and found.at(7.0) is None
    (tmp_path / "avsol-e.json").write_text("{ broken")  # a bad file found beside: a note
    found, note = find_annotations(video, duration=5.0)
    assert found.kind == "ave" and "avsol-e.json" in note


def test_best_columns():
    from avsol_viewer.maps.heads_panel import TITLE_PX, best_columns

    assert best_columns(4, 1150, 600 + 2 * TITLE_PX, 4 / 3) == 2   # frame + 3 heads, landscape
    assert best_columns(4, 2400, 300 + TITLE_PX, 4 / 3) == 4        # a wide strip: one row
    assert best_columns(1, 100, 100, 1.0) == 1


def test_overlay_lut():
    from avsol_viewer.maps.colormaps import RAMP, colour_of, overlay_lut

    lut = overlay_lut("viridis", 0.5)
    assert lut.shape == (256, 4) and lut.dtype == np.uint8
    assert lut[0, 3] == 0 and lut[255, 3] == 128
    assert lut[int(RAMP * 255) + 1, 3] == 128 and 0 < lut[int(RAMP * 255 / 2), 3] < 128
    assert tuple(lut[255, :3]) == colour_of("viridis", 1.0)
    assert np.array_equal(overlay_lut("no-such-map", 0.5), overlay_lut("inferno", 0.5))


def test_settings_round_trip_and_read_only(tmp_path, qapp):
    from avsol_viewer.settings import MAX_RECENT, ViewerSettings

    path = tmp_path / "s.ini"
    s = ViewerSettings(path)
    for k in range(MAX_RECENT + 3):
        s.add_recent_file(tmp_path / f"{k}.mp4")
    s.set_value("display/contour", False)
    s.sync()
    again = ViewerSettings(path)
    assert len(again.recent_files()) == MAX_RECENT
    assert again.recent_files()[0].endswith(f"{MAX_RECENT + 2}.mp4")
    assert again.value("display/contour") is False and again.value("display/opacity") == 0.6
    ro = ViewerSettings(path, read_only=True)
    ro.add_recent_file(tmp_path / "new.mp4")
    ro.sync()
    assert not ViewerSettings(path).recent_files()[0].endswith("new.mp4")


def test_none_survives_void_qt_calls(qapp):
    """PySide6 6.12.0 on Python 3.11 drops a reference to None per void call, and to True in
    some calls (qt_compat): drawing for a long time must not abort the viewer."""
    import sys

    import pyqtgraph as pg
    from PySide6.QtGui import QPainterPath

    from avsol_viewer import qt_compat  # noqa: F401 - installs the guard

    path = QPainterPath()
    item = pg.ImageItem()
    img = np.zeros((4, 4, 3), np.uint8)
    before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(50000):
        path.lineTo(1.0, 2.0)
    for _ in range(2000):
        item.setImage(img, levels=(0, 255), autoLevels=False)
    if qt_compat.affected():
        assert sys.getrefcount(None) > 1_000_000 and sys.getrefcount(True) > 1_000_000
    else:  # a release without the bug (pyproject pins <6.12): the counts do not leak
        assert sys.getrefcount(None) > before[0] - 1000
        assert sys.getrefcount(True) > before[1] - 1000


def test_track_loaded_in_chunks_equals_the_whole_track(tmp_path):
    """Chunked decoding + spectrogram gives the columns of one call on the whole track."""
    from avsol_viewer.playback.audio_loader import load_track
    from media_helpers import make_clip
    from model_core.features import spectrogram_for_display
    from model_core.media.audio import read_audio

    rng = np.random.default_rng(3)
    sound = (0.3 * rng.standard_normal(16000 * 2)).astype(np.float32)
    clip = make_clip(tmp_path / "n.mp4", n_frames=50, fps=25.0, size=(64, 48), audio=sound)
    whole = read_audio(clip)
    ref, ref_times, _ = spectrogram_for_display(whole)
    for chunk in (0.37, 1.0, 60.0):  # chunk edges inside the track, on a hop, past the end
        track = load_track(str(clip), chunk_seconds=chunk)
        got = track.columns(0, track.n_columns)
        assert got.shape == ref.shape and track.exact_overview
        np.testing.assert_allclose(got, ref, atol=1e-3)
        np.testing.assert_allclose(track.hop_seconds * np.arange(track.n_columns), ref_times)
        track.close()
    assert track.display.dtype == np.uint8 and track.display.max() > 128   # fixed levels: loud noise


def test_audio_output_plays_int16_tracks():
    from avsol_viewer.playback.audio_output import AudioOutput

    track = (np.arange(4000) - 2000).astype(np.int16)
    streams = []
    out = AudioOutput(track, 16000, stream_factory=lambda **kw: streams.append(FakeStream(**kw)) or streams[-1],
                      timer=FakeTimer())
    buf = np.zeros((256, 1), np.float32)
    out.play()
    streams[0].kw["callback"](buf, 256, None, None)
    np.testing.assert_allclose(buf[:, 0], track[:256] / 32768.0)
    out.close()
