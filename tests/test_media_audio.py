"""read_audio / AudioReader: exact window lengths, alignment with the video, mono, silence."""
from __future__ import annotations

import numpy as np
import pytest
from media_helpers import make_audio_only, make_clip, tone

from model_core.errors import MediaError
from model_core.media.audio import AudioReader, read_audio, sample_span

SR = 16000


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("audio")
    make_clip(d / "tone.mp4", n_frames=50, fps=25, size=(64, 48), tone_hz=1000)
    # 20 s: long enough to exercise seeking and block caching, small enough to be quick
    make_clip(d / "long.mp4", n_frames=200, fps=10, size=(64, 48), tone_hz=440)
    make_clip(d / "long48k.webm", n_frames=200, fps=10, size=(64, 48), codec="libvpx-vp9",
              audio_codec="libopus", sample_rate=48000, tone_hz=440)
    make_clip(d / "silent.mp4", n_frames=30, fps=25, with_audio=False)
    # sound only in [1.0, 1.5): checks that sample j is the sound at j / SR seconds
    burst = np.zeros(2 * SR, np.float32)
    burst[SR:SR + SR // 2] = tone(0.5, 500.0)
    make_clip(d / "burst.mp4", n_frames=50, fps=25, size=(64, 48), audio=burst)
    make_audio_only(d / "stereo.m4a", seconds=1.0, tone_hz=1000, channels=2)
    make_audio_only(d / "tone.wav", seconds=1.0, tone_hz=1000)
    return d


def _peak_hz(x, sr=SR):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.argmax(spec) * sr / len(x)


def test_sample_span_rule():
    assert sample_span(0.0, 1.0, SR) == (0, 16000)
    assert sample_span(0.25, 1.25, SR) == (4000, 16000)
    assert sample_span(-0.5, 0.5, SR) == (-8000, 16000)
    assert sample_span(1.00003, 1.50003, SR) == (16000, 8000)
    assert sample_span(2.0, 1.0, SR) == (32000, 0)


def test_whole_track(audio_dir):
    x = read_audio(audio_dir / "tone.mp4")
    assert x.dtype == np.float32 and x.ndim == 1
    assert len(x) == 2 * SR
    assert _peak_hz(x) == pytest.approx(1000, abs=2)
    assert np.sqrt(np.mean(x[1000:-1000] ** 2)) * np.sqrt(2) == pytest.approx(0.5, rel=0.05)


@pytest.mark.parametrize("start, end", [(0.0, 1.0), (0.3, 1.3), (0.123456, 0.5), (1.5, 2.5), (-0.4, 0.6),
                                        (1.9, 3.0), (5.0, 6.0)])
def test_window_is_the_same_samples_as_the_whole_track(audio_dir, start, end):
    whole = read_audio(audio_dir / "tone.mp4")
    w = read_audio(audio_dir / "tone.mp4", start, end)
    first, n = sample_span(start, end, SR)
    assert len(w) == n
    ref = np.zeros(n, np.float32)
    lo, hi = max(first, 0), min(first + n, len(whole))
    if hi > lo:
        ref[lo - first:hi - first] = whole[lo:hi]
    np.testing.assert_allclose(w, ref, atol=1e-4)


def test_seeking_in_a_longer_file_gives_the_same_samples(audio_dir):
    whole = read_audio(audio_dir / "long.mp4")
    assert len(whole) == 20 * SR
    for start in (3.0, 12.345, 18.9):
        w = read_audio(audio_dir / "long.mp4", start, start + 1.0)
        first = round(start * SR)
        np.testing.assert_allclose(w[: len(whole) - first], whole[first:first + SR], atol=1e-4)


def test_48k_opus_resampled_and_aligned(audio_dir):
    """WebM's millisecond clock: seeking must still land within a sample of a full decode."""
    whole = read_audio(audio_dir / "long48k.webm")
    assert _peak_hz(whole[SR:5 * SR]) == pytest.approx(440, abs=1)
    for start in (7.3, 15.01):
        w = read_audio(audio_dir / "long48k.webm", start, start + 1.0)
        first = round(start * SR)
        assert np.abs(w - whole[first:first + SR]).max() < 0.02


def test_audio_lines_up_with_video_time(audio_dir):
    x = read_audio(audio_dir / "burst.mp4", 0.9, 1.6)
    env = np.abs(x) > 0.1
    onset, offset = np.argmax(env), len(env) - np.argmax(env[::-1])
    assert abs(onset - round(0.1 * SR)) <= 3
    assert abs(offset - round(0.6 * SR)) <= 3


def test_stereo_is_averaged_to_mono(audio_dir):
    x = read_audio(audio_dir / "stereo.m4a")
    assert len(x) == SR
    # both channels carry the 0.5 tone: the average is 0.5, FFmpeg's downmix would be 0.707
    assert np.sqrt(np.mean(x[2000:-2000] ** 2)) * np.sqrt(2) == pytest.approx(0.5, rel=0.05)


def test_other_sample_rates(audio_dir):
    x = read_audio(audio_dir / "tone.wav", 0.0, 0.5, sample_rate=8000)
    assert len(x) == 4000
    assert _peak_hz(x, 8000) == pytest.approx(1000, abs=4)
    wav = read_audio(audio_dir / "tone.wav")
    np.testing.assert_allclose(wav, tone(1.0, 1000.0), atol=1e-4)  # pcm: exact up to 16 bits


def test_video_without_audio_reads_as_silence(audio_dir):
    path = audio_dir / "silent.mp4"
    x = read_audio(path)
    assert len(x) == round(30 / 25 * SR) and not x.any()
    assert len(read_audio(path, 0.5, 1.5)) == SR
    with pytest.raises(MediaError, match="no audio stream"):
        read_audio(path, missing="error")
    with AudioReader(path) as r:
        assert not r.has_audio
        w = r.window(0.5)
        assert len(w) == SR and not w.any()


@pytest.mark.parametrize("cache_seconds", [600.0, 5.0])
def test_audio_reader_matches_read_audio(audio_dir, cache_seconds):
    whole = read_audio(audio_dir / "long.mp4")
    with AudioReader(audio_dir / "long.mp4", cache_seconds=cache_seconds, block_seconds=3.0) as r:
        assert r.has_audio and r.duration == pytest.approx(20.0, abs=0.07)
        for t in (0.2, 2.99, 3.0, 3.5, 10.0, 5.9, 19.8, 0.5, 25.0):
            w = r.window(t)
            first = round((t - 0.5) * SR)
            ref = np.zeros(SR, np.float32)
            lo, hi = max(first, 0), min(first + SR, len(whole))
            if hi > lo:
                ref[lo - first:hi - first] = whole[lo:hi]
            np.testing.assert_allclose(w, ref, atol=1e-4, err_msg=f"t={t}")
        long = r.read(1.0, 14.0)
        np.testing.assert_allclose(long, whole[SR:14 * SR], atol=1e-4)
        if cache_seconds < 20:
            assert len(r._blocks) <= 4  # bounded memory


# -- which audio stream: the first that is not silent, or the one asked for ----------------

def make_tracks_clip(path, tracks, n_frames=50, fps=25.0, size=(64, 48)):
    """A clip with one audio stream per float32 mono array of ``tracks`` (AAC, 16 kHz)."""
    import av
    from fractions import Fraction

    from media_helpers import make_frame

    with av.open(str(path), "w", format="mp4") as out:
        v = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        v.width, v.height, v.pix_fmt = size[0], size[1], "yuv420p"
        auds = []
        for _ in tracks:
            a = out.add_stream("aac", rate=SR)
            a.layout = "mono"
            auds.append(a)
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(make_frame(i, size), format="rgb24")
            frame.pts = i
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode():
            out.mux(packet)
        for a, x in zip(auds, tracks):
            n = a.codec_context.frame_size or 1024
            for k in range(0, len(x), n):
                f = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[k:k + n], np.float32)[None, :],
                                               format="fltp", layout="mono")
                f.sample_rate, f.pts = SR, k
                for packet in a.encode(f):
                    out.mux(packet)
            for packet in a.encode():
                out.mux(packet)
    return path


@pytest.fixture(scope="module")
def two_tracks(tmp_path_factory):
    d = tmp_path_factory.mktemp("tracks")
    quiet = np.zeros(2 * SR, np.float32)
    return {"silent_first": make_tracks_clip(d / "silent_first.mp4", [quiet, tone(2.0, 1000.0)]),
            "both": make_tracks_clip(d / "both.mp4", [tone(2.0, 500.0), tone(2.0, 1000.0)]),
            "all_silent": make_tracks_clip(d / "all_silent.mp4", [quiet, quiet])}


def test_the_first_non_silent_stream_is_read(two_tracks):
    from model_core.media.audio import choose_audio_stream

    path = two_tracks["silent_first"]
    choice = choose_audio_stream(path)
    assert (choice.index, choice.count, choice.silent) == (1, 2, (0,))
    assert choice.describe() == "audio stream 1 of 2 (the first that is not silent)"
    with AudioReader(path) as r:
        assert r.choice == choice and r.info.audio_stream == 1
        x = r.read(0.5, 1.5)
    assert np.sqrt(np.mean(x ** 2)) > 0.2 and abs(_peak_hz(x) - 1000) < 20   # the tone, not silence
    y = read_audio(path, 0.5, 1.5)
    np.testing.assert_allclose(y, x, atol=1e-6)                            # one rule for both readers


def test_an_asked_stream_and_a_missing_one(two_tracks):
    from model_core.media.audio import choose_audio_stream

    both = two_tracks["both"]
    assert choose_audio_stream(both).index == 0                             # first, not silent
    assert choose_audio_stream(both).describe() == "audio stream 0 of 2 (the first, not silent)"
    with AudioReader(both, stream=1) as r:
        assert r.choice.describe() == "audio stream 1 of 2 (as asked)"
        assert abs(_peak_hz(r.read(0.5, 1.5)) - 1000) < 20
    assert abs(_peak_hz(read_audio(both, 0.5, 1.5, stream=0)) - 500) < 20
    with pytest.raises(MediaError, match=r"no audio stream 2 \(the file has 2: 0..1\)") as err:
        AudioReader(both, stream=2)
    assert str(both) in str(err.value)
    silent = two_tracks["all_silent"]
    c = choose_audio_stream(silent)
    assert c.index == 0 and c.describe() == "audio stream 0 of 2 (every stream is silent)"


def test_one_stream_costs_no_probe(audio_dir, monkeypatch):
    from model_core.media import audio

    monkeypatch.setattr(audio, "_stream_is_silent", lambda *a: pytest.fail("probed a single stream"))
    with AudioReader(audio_dir / "tone.mp4") as r:
        assert r.choice.index == 0 and r.choice.describe() == ""
    with AudioReader(audio_dir / "silent.mp4") as r:
        assert r.choice.index is None and not r.has_audio


@pytest.fixture(scope="module")
def tiny_checkpoint(make_tiny_checkpoint):
    return make_tiny_checkpoint()


def test_infer_names_the_stream_its_maps_hear(two_tracks, tiny_checkpoint, tmp_path, capsys):
    from model_core.cli import main
    from model_core.maps_file import load_maps

    video = two_tracks["silent_first"]

    def infer(out, *extra):
        code = main(["infer", str(video), "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / out),
                     "--device", "cpu", "--quiet", "--fps", "2", *extra])
        return code, capsys.readouterr().err

    code, err = infer("auto.npz")
    assert code == 0 and "the maps hear audio stream 1 of 2 (the first that is not silent)" in err
    auto = load_maps(tmp_path / "auto.npz")
    assert int(auto.extra["audio_stream"]) == 1
    code, err = infer("first.npz", "--audio-stream", "0")
    assert code == 0 and "audio stream 0 of 2 (as asked)" in err
    first = load_maps(tmp_path / "first.npz")
    assert int(first.extra["audio_stream"]) == 0
    assert not np.allclose(first.maps, auto.maps, atol=1e-5)     # silence and the tone differ
    code, err = infer("none.npz", "--audio-stream", "2")
    assert code == 2 and "no audio stream 2 (the file has 2: 0..1)" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "none.npz").exists()


def test_eval_names_the_stream_its_maps_hear(two_tracks, tiny_checkpoint, tmp_path, capsys):
    import json
    import shutil

    from model_core.cli import main
    from model_core.formats import AvsolE, Box, Segment, VideoAnnotation, save_avsol_e

    data = tmp_path / "data"
    (data / "videos").mkdir(parents=True)
    shutil.copy(two_tracks["silent_first"], data / "videos" / "tracks.mp4")
    seg = (Segment(0, 1, 0.5, True, sounding=(Box(0.2, 0.2, 0.8, 0.8),)),)
    save_avsol_e(AvsolE(("a", "b"), (VideoAnnotation("tracks.mp4", "a", seg),)), data / "avsol-e.json")

    def evaluate(out, *extra):
        code = main(["eval", str(data), "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / out),
                     "--device", "cpu", *extra])
        capsys.readouterr()
        return code, json.loads((tmp_path / out).read_text())

    code, rep = evaluate("auto.json")
    assert code == 0 and rep["meta"]["audio_stream"] == "first not silent"
    assert "tracks.mp4: audio stream 1 of 2 (the first that is not silent)" in rep["notes"]
    code, rep0 = evaluate("first.json", "--audio-stream", "0")
    assert code == 0 and rep0["meta"]["audio_stream"] == 0
    assert "tracks.mp4: audio stream 0 of 2 (as asked)" in rep0["notes"]
    # the silent stream and the tone give the item another p_avc
    assert rep0["items"][0]["p_avc"] != rep["items"][0]["p_avc"]
