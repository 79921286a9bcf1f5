"""VideoReader: frame-accurate random access, sequential reading without seeks, resizing."""
from __future__ import annotations

import random

import numpy as np
import pytest
from media_helpers import make_clip, make_frame, make_gap_clip, make_vfr_clip, read_frame_index

from model_core.media.frames import SEEK_AHEAD_FRAMES, VideoReader, resize_frame

VFR_TIMES = [0.0, 0.04, 0.08, 0.2, 0.24, 0.5, 0.54, 0.58, 1.0, 1.04]
GAP_SLOTS = [0, 1, 2, 4, 5, 6, 9, 10, 11, 12, 15, 16, 17, 18, 19]
#: x264 makes slot 1 (before the gap at 2) a non-reference B-frame (checked by the test)
GAP_SLOTS_H264 = [0, 1, 3, 4, 5, 6, 9, 10, 11, 12, 15, 16, 17, 18, 19]


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("frames")
    return {
        "short": make_clip(d / "short.mp4", n_frames=50, fps=25, size=(96, 64)),
        # 300 frames: x264's default GOP (250) puts a second keyframe inside
        "long": make_clip(d / "long.mp4", n_frames=300, fps=30, size=(64, 48), with_audio=False),
        "mkv": make_clip(d / "mpeg4.mkv", n_frames=40, fps=25, codec="mpeg4"),
        "webm": make_clip(d / "vp9.webm", n_frames=40, fps=25, codec="libvpx-vp9",
                          audio_codec="libopus", sample_rate=48000),
        "vfr": make_vfr_clip(d / "vfr.mp4", VFR_TIMES),
        "gaps": make_gap_clip(d / "gaps.avi", GAP_SLOTS),
        # H.264 with B-frames and empty slots, constant-rate: what a sparse reader skips
        "gaps_h264": make_gap_clip(d / "gaps.mkv", GAP_SLOTS_H264, codec="libx264"),
    }


class SourceCalls:
    """Wraps one method of the reader's decoder (``seek``, ``grab``) to count its calls."""

    def __init__(self, reader, method: str):
        self.count = 0
        original = getattr(reader._src, method)

        def counted(*args):
            self.count += 1
            return original(*args)

        setattr(reader._src, method, counted)


def test_index_code_roundtrip_and_check_bits():
    for i in (0, 1, 7, 255, 1000, 65535):
        assert read_frame_index(make_frame(i, (64, 48))) == i
        big = resize_frame(make_frame(i, (96, 64)), (224, 224))
        assert read_frame_index(big) == i
    damaged = make_frame(5, (96, 64))
    damaged[:8, 19:38] = 255 - damaged[:8, 19:38]  # invert cell 1: data no longer matches check
    with pytest.raises(ValueError):
        read_frame_index(damaged)


def test_sequential_frames_are_all_there_in_order(clips):
    with VideoReader(clips["short"]) as r:
        assert r.backend == "opencv"
        assert (r.width, r.height, r.frame_count, r.fps) == (96, 64, 50, 25.0)
        got = [(i, read_frame_index(img)) for i, img in r.iter_frames()]
        img = r.read_at_index(0)
    assert got == [(i, i) for i in range(50)]
    assert img.dtype == np.uint8 and img.shape == (64, 96, 3) and img.flags.c_contiguous
    # RGB order: the moving square is red
    square = img[40:56]
    assert (square[..., 0] > 180).any() and not (square[..., 2] > 180).any()


def test_random_access_is_frame_accurate_across_keyframes(clips):
    order = list(range(300))
    random.Random(1).shuffle(order)
    with VideoReader(clips["long"]) as r:
        assert r.frame_count == 300
        for i in order[:120] + [299, 0, 298, 1, 250, 249, 251]:
            assert read_frame_index(r.read_at_index(i)) == i


def test_read_at_time_floor_rule(clips):
    with VideoReader(clips["short"]) as r:
        for i in (0, 1, 13, 24, 49):
            assert read_frame_index(r.read_at_time(i / 25)) == i
            assert read_frame_index(r.read_at_time((i + 0.999) / 25)) == i
        assert r.index_at_time(3 * 0.04) == 3  # 0.12 * 25 = 2.9999999999999996
        assert read_frame_index(r.read_at_time(-1.0)) == 0
        assert read_frame_index(r.read_at_time(99.0)) == 49
        assert r.time_at_index(10) == pytest.approx(0.4)
        assert r.duration == pytest.approx(2.0)


def test_consecutive_reads_do_not_seek(clips):
    with VideoReader(clips["long"]) as r:
        seeks = SourceCalls(r, "seek")
        for i in range(0, 60):
            assert read_frame_index(r.read_at_index(i)) == i
        assert seeks.count == 0
        r.read_at_index(60 + SEEK_AHEAD_FRAMES - 1)  # near ahead: decode forward
        assert seeks.count == 0
        r.read_at_index(40)  # backwards: seek
        assert seeks.count == 1
        r.read_at_index(200)  # far ahead: seek
        assert seeks.count == 2
        r.read_at_index(200)  # same frame again: nothing to do
        assert seeks.count == 2


def test_iter_frames_step_start_stop_and_size(clips):
    with VideoReader(clips["long"]) as r:
        seeks = SourceCalls(r, "seek")
        got = [(i, read_frame_index(img), img.shape) for i, img in
               r.iter_frames(start_index=5, step=7, size=(112, 80), stop_index=100)]
        assert [g[0] for g in got] == list(range(5, 100, 7))
        assert all(g[0] == g[1] and g[2] == (80, 112, 3) for g in got)
        assert seeks.count == 0  # the reader holds frame 0 after opening: forward only
        far = [i for i, _ in r.iter_frames(start_index=0, step=100)]
        assert far == [0, 100, 200]
    with pytest.raises(ValueError):
        next(VideoReader(clips["short"]).iter_frames(step=0))


def test_read_with_size(clips):
    with VideoReader(clips["short"]) as r:
        img = r.read_at_index(17, size=(224, 224))
        assert img.shape == (224, 224, 3) and img.dtype == np.uint8
        assert read_frame_index(img) == 17


@pytest.mark.parametrize("name", ["mkv", "webm"])
def test_other_codecs_random_access(clips, name):
    order = list(range(40))
    random.Random(2).shuffle(order)
    with VideoReader(clips[name]) as r:
        assert r.frame_count == 40
        for i in order:
            assert read_frame_index(r.read_at_index(i)) == i
        assert [i for i, _ in r.iter_frames()] == list(range(40))


def test_pyav_backend_on_constant_rate_file(clips):
    with VideoReader(clips["long"], backend="pyav") as r:
        assert r.backend == "pyav"
        for i in (0, 299, 3, 150, 151, 152, 10, 260):
            assert read_frame_index(r.read_at_index(i)) == i
        assert [read_frame_index(img) for _, img in r.iter_frames(stop_index=30)] == list(range(30))


def test_variable_frame_rate_by_timestamps(clips):
    with VideoReader(clips["vfr"]) as r:
        assert r.backend == "pyav"
        assert r.frame_count == 10
        assert [round(r.time_at_index(i), 3) for i in range(10)] == VFR_TIMES
        for i in (9, 0, 5, 3, 8, 1):
            assert read_frame_index(r.read_at_index(i)) == i
        # the frame shown at t is the last one starting at or before t
        for t, want in [(0.0, 0), (0.039, 0), (0.04, 1), (0.19, 2), (0.2, 3), (0.45, 4),
                        (0.5, 5), (0.99, 7), (1.0, 8), (5.0, 9)]:
            assert read_frame_index(r.read_at_time(t)) == want, t
        assert [read_frame_index(img) for _, img in r.iter_frames()] == list(range(10))


@pytest.mark.parametrize("backend", ["opencv", "pyav"])
def test_dropped_frames_show_the_previous_picture(clips, backend):
    """A constant-rate file with slots that hold no frame (AVI null frames, drops)."""
    def shown(i):
        return max(s for s in GAP_SLOTS if s <= i)

    with VideoReader(clips["gaps"], backend=backend) as r:
        assert r.frame_count == 20
        got = [(i, read_frame_index(img)) for i, img in r.iter_frames()]
        assert got == [(i, shown(i)) for i in range(20)]
        order = list(range(20))
        random.Random(3).shuffle(order)
        for i in order:
            assert read_frame_index(r.read_at_index(i)) == shown(i), i
        assert [(i, read_frame_index(img)) for i, img in r.iter_frames(step=3)] == \
            [(i, shown(i)) for i in range(0, 20, 3)]
        a = r.read_at_index(7)
        a[:] = 0  # callers may scribble on what they get
        assert read_frame_index(r.read_at_index(8)) == 6


def test_sparse_reader_skips_frames_nobody_needs_and_returns_the_same_pixels(clips):
    """``sparse=True`` (one frame per second, as ``avsol eval`` reads): the non-reference
    frames before each wanted one are not decoded; every frame read is the dense one."""
    times = [k + 0.5 for k in range(10)] + [9.9, 3.2, 3.25, 0.0]  # forward, then back
    with VideoReader(clips["long"]) as dense, VideoReader(clips["long"], sparse=True) as sparse:
        assert sparse.backend == "pyav" and dense.backend == "opencv"
        counted = SourceCalls(sparse, "grab")
        for k, t in enumerate(times):
            want = dense.read_at_time(t, (32, 32))
            assert read_frame_index(dense.read_at_time(t)) == dense.index_at_time(t)
            got = sparse.read_at_time(t, (32, 32))
            assert np.array_equal(got, want), t
            assert read_frame_index(sparse.read_at_time(t)) == dense.index_at_time(t), t
            if t == 9.9:
                # frames 0..297 shown on the way: a dense reader decodes all 298; this
                # clip's x264 B-frames are 52 % of its frames, some of them references
                assert counted.count < 0.7 * 298, counted.count
    with VideoReader(clips["long"], sparse=True) as sparse:
        for t in times:  # the frame just behind the source: skipped, not absent
            i = sparse.index_at_time(t)
            assert read_frame_index(sparse.read_at_index(i)) == i
            if i > 0:
                assert read_frame_index(sparse.read_at_index(i - 1)) == i - 1, t
    with VideoReader(clips["long"], sparse=True) as sparse:  # every frame: nothing skipped
        assert [read_frame_index(img) for _, img in sparse.iter_frames()] == list(range(300))


@pytest.mark.parametrize("step", [2, 3, 5])
def test_sparse_reader_over_empty_slots_shows_the_previous_picture(clips, step):
    """A slot without a frame shows the picture before it, which a sparse reader may have
    skipped: it must go back for it (``VideoReader._forward``)."""
    import av

    def shown(i):
        return max(s for s in GAP_SLOTS_H264 if s <= i)

    with av.open(str(clips["gaps_h264"])) as c:  # which frames no other frame refers to
        c.streams.video[0].codec_context.skip_frame = "NONREF"
        refs = {round(float(f.pts * f.time_base) * 25) for f in c.decode(video=0)}
    nonref_before_gap = [s for s in GAP_SLOTS_H264 if s not in refs and s + 1 not in GAP_SLOTS_H264]
    assert nonref_before_gap, "the clip does not test what it is for: re-pick the slots"
    with VideoReader(clips["gaps_h264"], sparse=True) as r:
        assert r.info.constant_frame_rate and r.frame_count == 20
        got = [(i, read_frame_index(r.read_at_index(i))) for i in range(0, 20, step)]
        assert got == [(i, shown(i)) for i in range(0, 20, step)]
        for i in (8, 3, 14, 13, 19, 7):
            assert read_frame_index(r.read_at_index(i)) == shown(i), i


def test_index_errors(clips):
    with VideoReader(clips["short"]) as r:
        with pytest.raises(IndexError):
            r.read_at_index(50)
        with pytest.raises(IndexError):
            r.read_at_index(-1)


def _natural_image(h=720, w=1280, seed=0):
    rng = np.random.default_rng(seed)
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    img = np.empty((h, w, 3))
    for c in range(3):
        x = np.real(np.fft.ifft2((rng.normal(size=(h, w)) + 1j * rng.normal(size=(h, w))) / f))
        img[..., c] = (x - x.mean()) / x.std() * 40 + 128
    for k in range(0, w, 6):  # fine stripes: what aliasing turns into moire
        img[500:600, k:k + 2] = 255
    return np.clip(img, 0, 255).astype(np.uint8)


def test_resize_frame_close_to_area_quality():
    import cv2

    img = _natural_image()
    out = resize_frame(img, (224, 224))
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8
    area = cv2.resize(img, (224, 224), interpolation=cv2.INTER_AREA).astype(np.float64)
    linear = cv2.resize(img, (224, 224), interpolation=cv2.INTER_LINEAR).astype(np.float64)

    def psnr(a):
        return 10 * np.log10(255.0 ** 2 / np.mean((a.astype(np.float64) - area) ** 2))

    assert psnr(out) > 32.0  # measured 35.8 dB
    assert psnr(out) > psnr(linear) + 8.0


@pytest.mark.parametrize("src, dst", [((96, 64), (96, 64)), ((96, 64), (224, 224)),
                                      ((1919, 1081), (224, 224)), ((300, 200), (224, 224)),
                                      ((1280, 720), (7, 7))])
def test_resize_frame_shapes(src, dst):
    img = np.full((src[1], src[0], 3), 77, np.uint8)
    out = resize_frame(img, dst)
    assert out.shape == (dst[1], dst[0], 3)
    assert (out == 77).all()  # a flat image stays flat: no shift in level
