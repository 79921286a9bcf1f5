"""The viewer's sound in bounded memory: an overview of at most 4096 columns, exact
log-mel columns per visible window from cached tiles, playback streamed from the file by a
feeder thread; fixed dB colour levels, so a silent track is dark, whatever the file's own
loudest value. ``benchmarks/bench_viewer_memory.py`` has the memory figures; here the
mechanism is pinned on small files with small budgets.
"""
from __future__ import annotations


import numpy as np
import pytest

from media_helpers import make_clip, tone
from waiting import wait_for

SR = 16000


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("viewer_audio")
    rng = np.random.default_rng(5)
    sound = (0.2 * rng.standard_normal(SR * 6)).astype(np.float32)
    sound[2 * SR:3 * SR] += tone(1.0, 1000.0, amplitude=0.5)
    return {"noise": make_clip(d / "noise.mp4", n_frames=60, fps=10.0, size=(64, 48), audio=sound),
            "quiet": make_clip(d / "quiet.mp4", n_frames=30, fps=10.0, size=(64, 48),
                               audio=np.zeros(3 * SR, np.float32))}


def _reference(path):
    from model_core.features import spectrogram_for_display
    from model_core.media.audio import read_audio

    return spectrogram_for_display(read_audio(path))[0]


def test_overview_is_the_loudest_column_of_each_bin_and_tiles_are_exact(clips, monkeypatch):
    from avsol_viewer.playback import audio_loader

    ref = _reference(clips["noise"])
    monkeypatch.setattr(audio_loader, "TILE_COLUMNS", 37)       # many tile borders
    track = audio_loader.load_track(str(clips["noise"]), chunk_seconds=1.3, overview_columns=7)
    try:
        f = ref.shape[1]
        assert track.n_columns == f and track.overview.shape == (64, 7) and not track.exact_overview
        for k in range(7):
            cols = [j for j in range(f) if j * 7 // f == k]
            np.testing.assert_allclose(track.overview[:, k], ref[:, cols].max(axis=1), atol=1e-3)
        assert track.overview_step == pytest.approx(f * track.hop_seconds / 7)
        for j0, j1 in ((0, f), (36, 38), (200, 451), (f - 5, f + 10)):
            np.testing.assert_allclose(track.columns(j0, j1), ref[:, j0:min(j1, f)], atol=1e-3)
    finally:
        track.close()


def test_memory_is_bounded_by_the_tile_budget(clips, monkeypatch):
    from avsol_viewer.playback import audio_loader

    monkeypatch.setattr(audio_loader, "TILE_COLUMNS", 50)
    monkeypatch.setattr(audio_loader, "TILE_BYTES", 3 * 64 * 50 * 4)   # three tiles
    track = audio_loader.load_track(str(clips["noise"]), overview_columns=16)
    try:
        for j in range(0, track.n_columns, 25):          # look at the whole track
            track.columns(j, j + 25)
        assert track.nbytes <= track.overview.nbytes + track.display.nbytes + 3 * 64 * 50 * 4
    finally:
        track.close()


def test_fixed_levels_draw_a_silent_track_dark(clips):
    from avsol_viewer.playback.audio_loader import load_track

    quiet = load_track(str(clips["quiet"]))
    loud = load_track(str(clips["noise"]))
    assert quiet.has_audio and quiet.display.max() <= 10        # relative levels drew it at 255
    assert loud.display.max() >= 200
    assert np.median(loud.display) > np.median(quiet.display) + 100
    quiet.close()
    loud.close()


def test_streamed_samples_are_the_tracks_samples(clips, monkeypatch):
    from avsol_viewer.playback import audio_loader
    from model_core.media.audio import read_audio

    monkeypatch.setattr(audio_loader, "BLOCK_SECONDS", 1.0)
    monkeypatch.setattr(audio_loader, "BLOCKS_KEPT", 3)
    whole = np.clip(np.round(read_audio(clips["noise"]) * 32767.0), -32768, 32767).astype(np.int16)
    s = audio_loader.StreamedSamples(str(clips["noise"]), len(whole), SR)
    try:
        assert len(s) == len(whole) and s.dtype == np.int16
        for at in (0, 3 * SR + 100, SR // 2, 5 * SR + 7):
            s.want(at)
            assert wait_for(lambda: at // s.block in s._blocks)
            np.testing.assert_allclose(s[at:at + 300].astype(int), whole[at:at + 300].astype(int), atol=1)
            idx = np.arange(at, at + 40, 3)
            np.testing.assert_allclose(s[idx].astype(int), whole[idx].astype(int), atol=1)
            assert len(s._blocks) <= 3                        # a few blocks, whatever the length
    finally:
        s.close()
    assert not s._thread.is_alive()


def test_audio_output_plays_a_streamed_track(clips):
    from avsol_viewer.playback.audio_loader import load_track
    from avsol_viewer.playback.audio_output import AudioOutput
    from model_core.media.audio import read_audio

    class Stream:
        def __init__(self, **kw):
            self.kw = kw

        def start(self):
            pass

        def stop(self):
            pass

        def close(self):
            pass

    track = load_track(str(clips["noise"]))
    samples = track.stream()
    streams = []
    out = AudioOutput(samples, SR, stream_factory=lambda **kw: streams.append(Stream(**kw)) or streams[-1])
    try:
        out.seek(2.0)
        assert wait_for(lambda: 2 * SR // samples.block in samples._blocks)
        out.play()
        buf = np.zeros((512, 1), np.float32)
        streams[0].kw["callback"](buf, 512, None, None)
        want = read_audio(clips["noise"], 2.0, 2.0 + 512 / SR)
        np.testing.assert_allclose(buf[:, 0], want, atol=2 / 32768)
    finally:
        out.close()
        track.close()
    assert not samples._thread.is_alive()                      # closing the output stops the feeder


def test_the_view_draws_exact_columns_once_zoomed_in(clips, qtbot, monkeypatch):
    from avsol_viewer.playback import spectrogram_view
    from avsol_viewer.playback.spectrogram_view import SpectrogramView
    from avsol_viewer.playback.audio_loader import load_track, to_display

    ref = _reference(clips["noise"])
    track = load_track(str(clips["noise"]), overview_columns=10)
    monkeypatch.setattr(spectrogram_view, "DETAIL_COLUMNS", 200)   # 6 s (600 columns) is "long"
    view = SpectrogramView()
    qtbot.addWidget(view)
    try:
        view.set_track(track, track.duration)
        assert view.image.image.shape == (64, 10)                  # zoomed out: the overview
        view.setXRange(2.0, 2.5, padding=0.0)
        qtbot.waitUntil(lambda: view._detail is not None, timeout=20000)   # from the track's worker
        j0, j1 = view._detail
        assert j0 <= 200 and j1 >= 250                              # the visible columns, exact
        np.testing.assert_array_equal(view.image.image, to_display(track.columns(j0, j1)))
        np.testing.assert_allclose(track.columns(j0, j1), ref[:, j0:j1], atol=1e-3)
        view.setXRange(0.0, track.duration, padding=0.0)
        assert view.image.image.shape == (64, 10) and view._detail is None   # back to the overview
    finally:
        track.close()
