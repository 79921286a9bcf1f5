"""One frame, one picture (issue 26 item 3): a video with a display rotation (a phone held
upright) is read as a player shows it by every reader, OpenCV and PyAV, dense and sparse,
so ``avsol infer`` (OpenCV, every frame), ``avsol eval`` (PyAV, one frame per segment), the
viewer's decoder and map worker and the export give the same frames and the same maps.

Before: OpenCV turned the picture by itself and PyAV did not, so ``eval`` and ``infer``
gave maps up to 0.062 apart on such a video, and the viewer showed empty frame panels.

The clips store each picture turned back (``np.rot90(frame, -k)``) with a display matrix
saying "turn k quarter turns counterclockwise", so the frame a correct reader returns is
the upright picture :func:`media_helpers.make_frame` drew, index code readable.
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from media_helpers import make_frame, read_frame_index
from model_core.media.frames import VideoReader

SHOWN = (64, 96)  # (w, h) of the upright picture: a portrait phone video
N = 50
FPS = 25.0


def make_rotated_clip(path, rotation: int, n_frames: int = N, shown=SHOWN, audio=None):
    """A clip whose pictures are stored turned by ``-rotation`` with a display matrix of
    ``rotation`` degrees counterclockwise (PyAV's ``set_display_rotation``, read back as
    ``VideoFrame.rotation``): shown upright, it is ``make_frame(i, shown)``."""
    from model_core.media.writer import Mp4Writer

    k = rotation // 90
    stored = shown if k % 2 == 0 else (shown[1], shown[0])
    with Mp4Writer(path, stored, FPS, 16000 if audio is not None else None, crf=18) as w:
        w.video_stream.set_display_rotation(rotation)
        for i in range(n_frames):
            w.picture(np.ascontiguousarray(np.rot90(make_frame(i, shown), -k)))
        if audio is not None:
            w.end_pictures()
            w.sound(audio, final=True)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("rotation")
    return {r: make_rotated_clip(d / f"r{r}.mp4", r) for r in (0, 90, 180, 270)}


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_every_backend_reads_the_picture_as_shown(clips, rotation):
    frames = {}
    for backend in ("opencv", "pyav"):
        for sparse in (False, True):
            with VideoReader(clips[rotation], backend=backend, sparse=sparse) as r:
                assert r.rotation == rotation and r.info.rotation == rotation
                assert (r.width, r.height) == SHOWN and (r.info.width, r.info.height) == SHOWN
                got = [r.read_at_index(i) for i in (0, 7, 31)]
                got.append(r.read_at_index(44, (32, 48)))     # resized: (w, h) of the picture shown
                frames[backend, sparse] = got
    ref = frames["opencv", False]
    assert [read_frame_index(f) for f in ref] == [0, 7, 31, 44]   # upright: the code reads
    assert ref[0].shape == (96, 64, 3) and ref[3].shape == (48, 32, 3)
    for key, got in frames.items():
        for a, b in zip(got, ref):
            np.testing.assert_array_equal(a, b, err_msg=str(key))
    # the same pixels as the unrotated clip of the same pictures (up to the codec)
    with VideoReader(clips[0]) as r:
        plain = r.read_at_index(7)
    assert np.abs(plain.astype(int) - ref[1].astype(int)).mean() < 4


def test_no_rotation_reads_as_before(clips):
    with VideoReader(clips[0]) as r:
        assert r.rotation == 0 and (r.width, r.height) == SHOWN
        assert read_frame_index(r.read_at_index(5)) == 5


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command")
def test_rotation_written_by_ffmpeg_matches_ffmpegs_own_autorotation(clips, tmp_path):
    """An independent reference for the direction: a ``rotate=90`` tag written by the
    ffmpeg command, and ffmpeg's own auto-rotation of the first frame."""
    src = make_rotated_clip(tmp_path / "plain.mp4", 0, n_frames=5, shown=(96, 64))
    tagged = tmp_path / "tagged.mp4"
    png = tmp_path / "first.png"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(src), "-c", "copy",
                    "-metadata:s:v:0", "rotate=90", str(tagged)], check=True, timeout=60)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(tagged), "-frames:v", "1", str(png)],
                   check=True, timeout=60)
    import cv2

    want = cv2.imread(str(png))[:, :, ::-1]
    for backend in ("opencv", "pyav"):
        with VideoReader(tagged, backend=backend) as r:
            assert r.rotation in (90, 270)
            np.testing.assert_array_equal(r.read_at_index(0), want, err_msg=backend)


# -- the same maps through infer, eval, the viewer and the export ---------------------------

@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """A tiny dnm checkpoint and a rotated ``clip.mp4`` with noise for sound, laid out as
    ``test_same_map``'s helpers expect; ``plain/clip.mp4`` holds the stored pictures unturned."""
    from tiny_models import save_tiny

    d = tmp_path_factory.mktemp("rotation_maps")
    save_tiny(d / "dnm.pt")
    noise = (np.random.default_rng(1).standard_normal(32000) * 0.3).astype(np.float32)
    make_rotated_clip(d / "clip.mp4", 90, audio=noise)
    (d / "plain").mkdir()
    shutil.copy(d / "dnm.pt", d / "plain" / "dnm.pt")
    from model_core.media.writer import Mp4Writer

    with Mp4Writer(d / "plain" / "clip.mp4", (SHOWN[1], SHOWN[0]), FPS, 16000, crf=18) as w:
        for i in range(N):
            w.picture(np.ascontiguousarray(np.rot90(make_frame(i, SHOWN), -1)))
        w.end_pictures()
        w.sound(noise, final=True)
    return d


@pytest.mark.slow
def test_rotated_clip_same_map_through_infer_eval_viewer_and_export(model_files, tmp_path, qtbot):
    import test_same_map as same
    from model_core.inference.audio_sources import AudioSpec

    ref = same._engine_map(model_files, None)
    own = AudioSpec("own")
    for name, m in (("avsol infer (OpenCV, every frame)", same._infer_map(model_files, tmp_path)),
                    ("avsol eval (PyAV, sparse)", same._eval_map(model_files)),
                    ("viewer", same._viewer_map(model_files, qtbot, own)),
                    ("export", same._export_map(model_files, tmp_path, own))):
        np.testing.assert_allclose(m, ref, atol=same.ATOL, err_msg=name)
    # the turn matters: the stored (unturned) pictures give another map
    unturned = same._engine_map(model_files / "plain", None)
    assert not np.allclose(unturned, ref, atol=1e-3)


def test_the_viewer_shows_a_rotated_video_upright(make_viewer, model_files):
    v = make_viewer()
    assert v.win.open_path(model_files / "clip.mp4")
    v.wait_frame(0)
    assert v.c.image.shape == (96, 64, 3) and read_frame_index(v.c.image) == 0
    assert (v.c.session.width, v.c.session.height) == SHOWN
    v.c.player.seek_index(17)
    v.wait_frame(17)
    assert read_frame_index(v.c.image) == 17
    assert not v.errors
