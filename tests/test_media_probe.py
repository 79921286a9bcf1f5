"""probe(): container metadata without decoding, for the formats users bring."""
from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest
from media_helpers import make_audio_only, make_clip, make_vfr_clip

from model_core.media.probe import MediaInfo, probe


@pytest.fixture(scope="session")
def probe_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("probe")
    make_clip(d / "clip.mp4", n_frames=50, fps=25, size=(96, 64), tone_hz=440)
    make_clip(d / "silent.mp4", n_frames=20, fps=25, with_audio=False)
    make_clip(d / "ntsc.mp4", n_frames=30, fps=Fraction(30000, 1001))
    make_clip(d / "clip.mkv", n_frames=30, fps=25, codec="mpeg4")
    make_clip(d / "clip.webm", n_frames=30, fps=25, codec="libvpx-vp9", audio_codec="libopus", sample_rate=48000)
    make_audio_only(d / "tone.wav", seconds=2.0)
    make_audio_only(d / "tone.m4a", seconds=1.5, channels=2)
    make_vfr_clip(d / "vfr.mp4", [0.0, 0.04, 0.08, 0.2, 0.24, 0.5, 0.54, 0.58, 1.0, 1.04])
    return d


def test_mp4_with_audio(probe_dir):
    info = probe(probe_dir / "clip.mp4")
    assert isinstance(info, MediaInfo)
    assert info.path == str(probe_dir / "clip.mp4")
    assert info.has_video and info.has_audio
    assert info.fps == 25.0 and info.frame_count == 50 and info.frame_count_exact
    assert info.duration == pytest.approx(2.0)
    assert (info.width, info.height) == (96, 64)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert info.audio_rate == 16000 and info.audio_channels == 1
    assert info.audio_duration == pytest.approx(2.0, abs=0.07)
    assert info.constant_frame_rate
    assert info.start_time == 0.0


def test_media_info_is_frozen(probe_dir):
    info = probe(probe_dir / "clip.mp4")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.fps = 30.0  # type: ignore[misc]


def test_video_without_audio(probe_dir):
    info = probe(probe_dir / "silent.mp4")
    assert info.has_video and not info.has_audio
    assert info.audio_codec is None and info.audio_rate == 0 and info.audio_channels == 0
    assert info.frame_count == 20


def test_ntsc_rate(probe_dir):
    info = probe(probe_dir / "ntsc.mp4")
    assert info.fps == pytest.approx(30000 / 1001)
    assert info.frame_count == 30
    assert info.duration == pytest.approx(30 / (30000 / 1001))


@pytest.mark.parametrize("name, codec", [("clip.mkv", "mpeg4"), ("clip.webm", "vp9")])
def test_matroska_frame_count_from_last_packet(probe_dir, name, codec):
    """Matroska stores no frame count: the tail scan must find 30, not the audio's length."""
    info = probe(probe_dir / name)
    assert info.video_codec == codec
    assert info.frame_count == 30 and info.frame_count_exact
    assert info.duration == pytest.approx(1.2)


def test_webm_audio_rate(probe_dir):
    info = probe(probe_dir / "clip.webm")
    assert info.audio_codec == "opus" and info.audio_rate == 48000


def test_audio_only_files(probe_dir):
    wav = probe(probe_dir / "tone.wav")
    assert not wav.has_video and wav.has_audio
    assert wav.fps == 0.0 and wav.frame_count == 0 and wav.video_codec is None
    assert wav.audio_codec == "pcm_s16le" and wav.duration == pytest.approx(2.0)
    m4a = probe(probe_dir / "tone.m4a")
    assert not m4a.has_video and m4a.audio_channels == 2
    assert m4a.duration == pytest.approx(1.5, abs=0.07)


def test_variable_frame_rate(probe_dir):
    info = probe(probe_dir / "vfr.mp4")
    assert not info.constant_frame_rate
    assert info.frame_count == 10
    assert info.duration == pytest.approx(1.04, abs=0.05)
