"""The video pipeline: frame times, shared audio, decoding once, cancel, progress, silence."""
from __future__ import annotations

import numpy as np
import pytest

from media_helpers import make_audio_only, make_clip
from model_core.errors import MediaError
from model_core.inference import Localizer, localize_many, window_centre
from model_core.media import frames as media_frames
from model_core.media.audio import AudioReader
from tiny_models import save_tiny

TINY_INPUT = dict(image_size=64, map_size=4)   # the trainer's "tiny" preset's input: fast


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("pipe")
    paths = {}
    for seed, head in ((0, "dnm"), (1, "avc"), (2, "cls")):
        paths[head] = save_tiny(d / f"{head}.pt", ("a", "b", "c"), head, seed, **TINY_INPUT)
    rng = np.random.default_rng(0)
    sound = (rng.standard_normal(32000) * 0.2).astype(np.float32)  # 2 s of noise: windows differ
    paths["clip"] = make_clip(d / "clip.mp4", n_frames=50, fps=25.0, audio=sound)
    paths["mute"] = make_clip(d / "mute.mp4", n_frames=20, fps=25.0, with_audio=False)
    paths["wav"] = make_audio_only(d / "sound.wav", seconds=1.0)
    return paths


@pytest.fixture(scope="module")
def locs(files):
    return [Localizer(files[h], device="cpu", batch_size=8) for h in ("dnm", "avc", "cls")]


def _reference(loc, path, times, hop):
    """Frame by frame, no pipeline: the frame shown at t and the window of t's centre."""
    with media_frames.VideoReader(path) as reader:
        frames = np.stack([reader.read_at_time(t, (64, 64)) for t in times])
    with AudioReader(path) as audio:
        windows = np.stack([audio.window(window_centre(t, hop)) for t in times])
    return loc.predict(frames, loc.embed_audio(windows))


def test_every_frame_of_a_2s_clip(locs, files):
    vm = locs[0].localize_video(files["clip"])
    assert len(vm) == 50 and vm.maps.shape == (50, 4, 4) and vm.maps.dtype == np.float32
    np.testing.assert_allclose(vm.times, np.arange(50) / 25.0, atol=1e-9)
    assert vm.times.dtype == np.float64 and vm.p_avc.shape == (50,) and vm.class_probs.shape == (50, 3)
    assert list(vm.frame_indices) == list(range(50))
    assert not vm.silent_audio and not vm.cancelled
    # one audio window per 1 s segment (SPEC 8), centred on the segment's middle
    assert set(vm.audio_times) == {0.5, 1.5}
    ref = _reference(locs[0], files["clip"], vm.times, 1.0)
    np.testing.assert_allclose(vm.maps, ref.maps, atol=1e-5)
    np.testing.assert_allclose(vm.class_probs, ref.class_probs, atol=1e-5)


def test_explicit_times_keep_order_and_follow_the_one_window_rule(locs, files):
    times = [1.5, 0.5, 0.52, 1.96, 0.5]
    vm = locs[0].localize_video(files["clip"], times=times)
    np.testing.assert_array_equal(vm.times, times)
    assert list(vm.frame_indices) == [37, 12, 13, 49, 12]  # the frame shown at t
    # the default rule: the window of t's 1 s cell, whatever asked (infer, eval, viewer)
    np.testing.assert_array_equal(vm.audio_times, [1.5, 0.5, 0.5, 1.5, 0.5])
    ref = _reference(locs[0], files["clip"], times, 1.0)
    np.testing.assert_allclose(vm.maps, ref.maps, atol=1e-5)
    np.testing.assert_allclose(vm.maps[1], vm.maps[4], atol=1e-6)  # same time, same map
    # the option: a window centred on every time (SPEC 3's literal reading)
    exact = locs[0].localize_video(files["clip"], times=times, audio_hop=None)
    np.testing.assert_array_equal(exact.audio_times, times)
    ref = _reference(locs[0], files["clip"], times, None)
    np.testing.assert_allclose(exact.maps, ref.maps, atol=1e-5)
    assert not np.allclose(exact.maps[2], vm.maps[2], atol=1e-6)  # 0.52 s: another window


def test_fps_sampling(locs, files):
    vm = locs[0].localize_video(files["clip"], fps=5)
    np.testing.assert_allclose(vm.times, np.arange(10) / 5.0)
    assert list(vm.frame_indices) == list(range(0, 50, 5))


def test_silence_override_and_missing_audio(locs, files):
    mute = locs[0].localize_video(files["mute"])
    assert mute.silent_audio and len(mute) == 20
    forced = locs[0].localize_video(files["mute"], audio=np.zeros(8000, np.float32))
    assert forced.silent_audio  # given silence: the maps are flagged as computed on silence
    np.testing.assert_allclose(mute.maps, forced.maps, atol=1e-6)
    # an override replaces the file's own sound
    loud = locs[0].localize_video(files["clip"], times=[0.5], audio=np.zeros(32000, np.float32))
    own = locs[0].localize_video(files["clip"], times=[0.5])
    assert not np.allclose(loud.maps, own.maps, atol=1e-4)


def test_audio_only_and_missing_files_refused(locs, files, tmp_path):
    with pytest.raises(MediaError, match="audio-only"):
        locs[0].localize_video(files["wav"])
    with pytest.raises(MediaError, match="not found"):
        locs[0].localize_video(tmp_path / "none.mp4")


@pytest.mark.slow
def test_localize_many_decodes_once_and_equals_separate_runs(locs, files, monkeypatch):
    opened, yielded, random_reads = [], [], [0]
    real = media_frames.VideoReader

    class Spy(real):
        def __init__(self, *a, **k):
            opened.append(a[0])
            super().__init__(*a, **k)

        def iter_frames(self, *a, **k):
            for i, img in super().iter_frames(*a, **k):
                yielded.append(i)
                yield i, img

        def read_at_index(self, *a, **k):
            random_reads[0] += 1
            return super().read_at_index(*a, **k)

    separate = {loc.name: loc.localize_video(files["clip"]) for loc in locs}
    monkeypatch.setattr(media_frames, "VideoReader", Spy)
    together = localize_many(locs, files["clip"])
    assert len(opened) == 1
    assert yielded == list(range(50)) and random_reads[0] == 0  # each frame decoded once
    assert set(together) == {"dnm", "avc", "cls"}
    for name, vm in together.items():
        np.testing.assert_allclose(vm.maps, separate[name].maps, atol=1e-6)
        np.testing.assert_allclose(vm.p_avc, separate[name].p_avc, atol=1e-6)
        np.testing.assert_array_equal(vm.times, separate[name].times)
    assert not np.allclose(together["dnm"].maps, together["avc"].maps)  # really three models


def test_cancel_returns_partial_results(locs, files):
    seen = []
    vms = localize_many(locs[:2], files["clip"], progress=lambda d, t: seen.append((d, t)),
                        cancel=lambda: len(seen) >= 2)
    for vm in vms.values():
        assert vm.cancelled and len(vm) == 16 and vm.maps.shape == (16, 4, 4)
        np.testing.assert_allclose(vm.times, np.arange(16) / 25.0)
    full = locs[0].localize_video(files["clip"])
    np.testing.assert_allclose(vms["dnm"].maps, full.maps[:16], atol=1e-6)
    # cancelled before anything ran
    vm = locs[0].localize_video(files["clip"], times=[1.0, 0.2], cancel=lambda: True)
    assert vm.cancelled and len(vm) == 0 and vm.maps.shape == (0, 4, 4)


def test_progress_is_monotone_and_complete(locs, files):
    seen = []
    locs[0].localize_video(files["clip"], progress=lambda d, t: seen.append((d, t)))
    done = [d for d, _ in seen]
    assert done == sorted(done) and len(set(done)) == len(done)
    assert seen[-1] == (50, 50) and all(t == 50 for _, t in seen)
    assert done == [8, 16, 24, 32, 40, 48, 50]


def test_distinct_names_required(locs):
    with pytest.raises(ValueError, match="distinct"):
        localize_many([locs[0], locs[0]], "whatever.mp4")


def test_decode_ahead_gives_the_same_maps_and_decodes_before_it_is_read(locs, files):
    import threading
    import time

    from model_core.inference.pipeline import decode_ahead

    times = [1.5, 0.1, 0.9]
    plain = localize_many(locs[:2], files["clip"], times)
    ahead = decode_ahead(locs[:2], files["clip"], times)
    deadline = time.monotonic() + 20
    while ahead.queue.qsize() < 2 and time.monotonic() < deadline:  # the batch and the end mark
        time.sleep(0.01)
    assert ahead.queue.qsize() == 2, "nothing decoded ahead"
    got = localize_many(locs[:2], files["clip"], times, decoding=ahead)
    for name in plain:
        np.testing.assert_array_equal(got[name].maps, plain[name].maps)
        np.testing.assert_array_equal(got[name].times, plain[name].times)
    assert not any(t.name == "avsol-decode" and t.is_alive() for t in threading.enumerate())


def test_decode_ahead_errors_reach_the_reader_and_unused_ones_close(locs, files, tmp_path):
    import threading

    from model_core.inference.pipeline import decode_ahead

    missing = decode_ahead(locs[:1], tmp_path / "none.mp4", [0.5])  # no error yet
    with pytest.raises(MediaError, match="not found"):
        localize_many(locs[:1], tmp_path / "none.mp4", [0.5], decoding=missing)
    other = decode_ahead(locs[:1], files["clip"], [0.5])
    with pytest.raises(ValueError, match="given for"):
        localize_many(locs[:1], files["mute"], [0.5], decoding=other)
    unused = decode_ahead(locs[:1], files["clip"], None)  # every frame: the queue fills and blocks
    unused.close()
    unused.close()  # twice is harmless
    assert not any(t.name == "avsol-decode" and t.is_alive() for t in threading.enumerate())


def test_segment_times_are_read_sparsely_and_every_frame_densely(locs, files, monkeypatch):
    """One frame per second (``avsol eval``'s segments) opens a sparse reader (PyAV, one
    thread, non-reference frames skipped); every frame or 25 a second, a dense one; the
    maps are the frame-by-frame reference's either way."""
    from model_core.inference.pipeline import _sparse

    assert _sparse([0.5, 1.5]) and _sparse([0.96]) and _sparse([1.5, 0.5, 0.9])
    assert not _sparse(None) and not _sparse(np.arange(50) / 25.0) and not _sparse([0.5, 0.52, 0.6])
    assert _sparse(None, fps=1.0) and not _sparse(None, fps=25.0)  # avsol infer --fps
    made = []
    real = media_frames.VideoReader

    class Spy(real):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append((self.sparse, self.backend))

    monkeypatch.setattr(media_frames, "VideoReader", Spy)
    times = [0.5, 1.5, 1.0]
    vm = localize_many(locs[:1], files["clip"], times)["dnm"]
    dense = localize_many(locs[:1], files["clip"])["dnm"]
    assert made == [(True, "pyav"), (False, "opencv")]
    ref = _reference(locs[0], files["clip"], times, 1.0)
    np.testing.assert_allclose(vm.maps, ref.maps, atol=1e-5)
    np.testing.assert_allclose(vm.maps, dense.maps[[12, 37, 25]], atol=1e-6)
