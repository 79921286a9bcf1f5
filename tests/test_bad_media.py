"""Bad media: every entry point raises MediaError naming the file, or copes as documented."""
from __future__ import annotations

import logging
import os

import numpy as np
import pytest
from media_helpers import make_audio_only, make_clip, read_frame_index, remux_faststart, truncate_copy

from model_core.errors import InputError, MediaError
from model_core.media.audio import AudioReader, read_audio
from model_core.media.frames import VideoReader
from model_core.media.probe import probe

SR = 16000


@pytest.fixture(scope="session")
def bad(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    good = make_clip(d / "good.mp4", n_frames=50, fps=25, size=(64, 48))
    files = {"good": good, "missing": d / "missing.mp4", "folder": d / "folder.mp4"}
    files["folder"].mkdir()
    files["empty"] = d / "empty.mp4"
    files["empty"].write_bytes(b"")
    files["text"] = d / "notes.mp4"
    files["text"].write_text("this is not a video\n" * 50)
    files["txt"] = d / "notes.txt"
    files["txt"].write_text("hello\n")
    files["random"] = d / "noise.mkv"
    files["random"].write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    # mp4 from PyAV has its index (moov) at the end: half a file has no index at all
    files["truncated"] = truncate_copy(good, d / "truncated.mp4", 0.5)
    # with the index in front, half a file probes fine but holds only half the frames
    faststart = remux_faststart(good, d / "faststart.mp4")
    files["truncated_faststart"] = truncate_copy(faststart, d / "truncated_faststart.mp4", 0.5)
    mkv = make_clip(d / "whole.mkv", n_frames=50, fps=25, size=(64, 48), codec="mpeg4")
    files["truncated_mkv"] = truncate_copy(mkv, d / "truncated.mkv", 0.5)
    files["audio_only"] = make_audio_only(d / "voice.m4a", seconds=1.0)
    files["audio_only_wav"] = make_audio_only(d / "voice.wav", seconds=1.0)
    # a Matroska file whose video codec id no FFmpeg knows (patched in place, same length)
    data = mkv.read_bytes()
    assert b"V_MPEG4/ISO/ASP" in data
    files["unknown_codec"] = d / "unknown_codec.mkv"
    files["unknown_codec"].write_bytes(data.replace(b"V_MPEG4/ISO/ASP", b"V_ZZZZZ/ISO/ZZZ", 1))
    return files


ENTRY_POINTS = {
    "probe": lambda p: probe(p),
    "video": lambda p: VideoReader(p).close(),
    "read_audio": lambda p: read_audio(p, 0.0, 1.0),
    "audio_reader": lambda p: AudioReader(p).window(0.5),
}

UNREADABLE = {
    "missing": "file not found",
    "folder": "is a folder",
    "empty": "empty file",
    "text": "not a media file",
    "txt": "not a media file",
    "random": "not a media file",
    "truncated": "index is missing",
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_unreadable_files_raise_media_error_naming_the_file(bad, entry, case):
    path = bad[case]
    with pytest.raises(MediaError) as err:
        ENTRY_POINTS[entry](path)
    assert isinstance(err.value, InputError)
    assert err.value.path == str(path)
    assert str(err.value).startswith(str(path))
    assert UNREADABLE[case] in str(err.value)


def test_audio_only_file_is_probed_and_refused_for_frames(bad):
    for key in ("audio_only", "audio_only_wav"):
        info = probe(bad[key])
        assert info.has_audio and not info.has_video
        with pytest.raises(MediaError, match="audio-only file, no video stream") as err:
            VideoReader(bad[key])
        assert err.value.path == str(bad[key])
        assert len(read_audio(bad[key])) == SR  # its sound is still readable


def test_truncated_faststart_mp4_reads_what_is_there(bad, caplog):
    path = bad["truncated_faststart"]
    info = probe(path)  # the index survived: the header still announces 50 frames
    assert info.frame_count == 50
    with caplog.at_level(logging.WARNING), VideoReader(path) as r:
        got = [(i, read_frame_index(img)) for i, img in r.iter_frames()]
        assert 5 < len(got) < 50
        assert [i for i, _ in got] == list(range(len(got)))
        # a frame lost in the damage shows the one before, as a player would; none shifts
        assert all(code == i or code == i - 1 for i, code in got)
        assert sum(code == i for i, code in got) >= len(got) - 2
        assert r.truncated and r.frame_count == len(got) < 50
        with pytest.raises(MediaError, match="truncated") as err:
            r.read_at_index(r.frame_count)
        assert err.value.path == str(path)
        with pytest.raises(MediaError, match="truncated"):
            r.read_at_time(1.9)  # inside the announced duration, past the cut
        # earlier frames are still there after hitting the end
        assert read_frame_index(r.read_at_index(3)) == 3
        assert read_frame_index(r.read_at_time(0.2)) == 5
    assert any("truncated" in rec.getMessage() for rec in caplog.records)
    x = read_audio(path)  # the announced length, silence where the data is gone
    assert len(x) == 2 * SR
    assert np.abs(x[: SR // 4]).max() > 0.3


def test_truncated_faststart_mp4_random_read_past_the_cut(bad):
    with VideoReader(bad["truncated_faststart"]) as r:
        with pytest.raises(MediaError) as err:
            r.read_at_index(49)
        assert "cannot be decoded" in str(err.value) or "missing" in str(err.value)
        assert read_frame_index(r.read_at_index(1)) == 1


def test_truncated_mkv_reports_the_frames_it_has(bad):
    info = probe(bad["truncated_mkv"])
    assert 0 < info.frame_count < 50
    with VideoReader(bad["truncated_mkv"]) as r:
        got = [(i, read_frame_index(img)) for i, img in r.iter_frames()]
        assert len(got) >= info.frame_count - 1 and all(i == code for i, code in got)


def test_unknown_video_codec(bad):
    path = bad["unknown_codec"]
    info = probe(path)
    assert info.has_video and info.video_codec is None
    with pytest.raises(MediaError, match="unsupported video codec") as err:
        VideoReader(path)
    assert err.value.path == str(path)
    assert len(read_audio(path, 0.0, 1.0)) == SR  # the audio is intact


def test_av1_decodes_with_a_fallback(tmp_path):
    """OpenCV's FFmpeg build may lack an AV1 decoder; PyAV's has one (dav1d)."""
    import av

    try:
        av.codec.Codec("libsvtav1", "w")
    except Exception:  # noqa: BLE001
        pytest.skip("no AV1 encoder in this PyAV build")
    # SVT-AV1's encoder, run as root (as CI runs), leaves the calling thread SCHED_FIFO at
    # priority 99: every later test, and each thread and child it starts, would run real-time
    linux = hasattr(os, "sched_getscheduler")
    policy, param = (os.sched_getscheduler(0), os.sched_getparam(0)) if linux else (None, None)
    try:
        path = make_clip(tmp_path / "av1.mkv", n_frames=8, fps=25, size=(64, 48), codec="libsvtav1")
    finally:
        if linux:
            os.sched_setscheduler(0, policy, param)
    with VideoReader(path) as r:
        assert r.backend in ("opencv", "pyav")
        assert [read_frame_index(img) for _, img in r.iter_frames()] == list(range(8))
        assert read_frame_index(r.read_at_index(5)) == 5
