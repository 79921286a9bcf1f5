"""log_mel and the display spectrogram: shapes, a tone in its mel band, silence, identity."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torchaudio
from media_helpers import make_clip, tone

from model_core import features
from model_core.features import (DB_FLOOR, log_mel, mel_frequencies, n_frames, spectrogram_for_display,
                                 window_for_time, windows_for_times)

SR = 16000


def test_shape_of_one_second():
    out = log_mel(np.zeros(SR, np.float32))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    assert tuple(out.shape) == (1, 64, 101)


@pytest.mark.parametrize("n", [0, 1, 159, 160, 256, 257, 400, 8000, 16000, 16159, 48000])
def test_frames_rule_for_any_length(n):
    assert n_frames(n) == 1 + n // 160
    assert tuple(log_mel(np.zeros(n, np.float32)).shape) == (1, 64, n_frames(n))


def test_batch_equals_one_by_one():
    rng = np.random.default_rng(0)
    batch = (rng.normal(size=(3, SR)) * np.array([[0.01], [0.1], [0.5]])).astype(np.float32)
    out = log_mel(batch)
    assert tuple(out.shape) == (3, 1, 64, 101)
    for i in range(3):
        torch.testing.assert_close(out[i], log_mel(batch[i]), rtol=0, atol=1e-4)


def _expected_band(freq_hz):
    """The mel band whose triangle weighs the STFT bin of ``freq_hz`` most (by hand)."""
    fb = torchaudio.functional.melscale_fbanks(257, 0.0, 8000.0, 64, SR)  # 257 x 64
    k = int(round(freq_hz / (SR / 512)))
    return int(torch.argmax(fb[k]))


@pytest.mark.parametrize("freq", [250.0, 1000.0, 3000.0, 6000.0])  # whole STFT bins (31.25 Hz)
def test_tone_lands_in_its_mel_band(freq):
    out = log_mel(tone(1.0, freq, SR, 0.5))[0]  # 64 x 101
    band = int(torch.argmax(out[:, 10:-10].mean(dim=1)))
    assert band == _expected_band(freq)
    # and by the mel formula: the band whose centre is nearest in mel
    def mel(f):
        return 2595 * np.log10(1 + f / 700)
    centres = mel(mel_frequencies())
    assert abs(band - int(np.argmin(np.abs(centres - mel(freq))))) <= 1
    # a pure tone stands far above the rest of the spectrum
    assert out[band, 50] - out[:, 50].median() > 40


def test_silence_is_the_floor():
    out = log_mel(np.zeros(SR, np.float32))
    assert torch.all(out == DB_FLOOR)
    assert DB_FLOOR == -100.0


def test_values_do_not_depend_on_what_else_is_in_the_batch():
    """No relative (top_db) clamp: a quiet clip reads the same next to a loud one."""
    quiet = (np.random.default_rng(1).normal(size=SR) * 1e-4).astype(np.float32)
    loud = tone(1.0, 1000.0, SR, 0.9)
    alone = log_mel(quiet)
    together = log_mel(np.stack([quiet, loud]))[0]
    torch.testing.assert_close(alone, together, rtol=0, atol=1e-4)
    assert alone.min() > DB_FLOOR  # not clamped


def test_display_is_the_model_view():
    rng = np.random.default_rng(2)
    x = (rng.normal(size=SR) * 0.1).astype(np.float32)
    S, times, freqs = spectrogram_for_display(x, SR)
    assert S.dtype == np.float32 and S.shape == (64, 101)
    np.testing.assert_array_equal(S, log_mel(x)[0].numpy())
    assert times[1] == pytest.approx(0.01) and len(times) == 101
    assert freqs.shape == (64,) and np.all(np.diff(freqs) > 0)
    assert freqs[0] == pytest.approx(27.67, abs=0.05) and freqs[-1] < 8000


def test_display_of_a_long_track_in_chunks_matches_the_windows():
    rng = np.random.default_rng(3)
    x = (rng.normal(size=7 * SR + 123) * 0.1).astype(np.float32)
    S, times, _ = spectrogram_for_display(x, SR, chunk_seconds=0.77)  # many chunk seams
    whole = log_mel(x)[0].numpy()
    assert S.shape == whole.shape
    np.testing.assert_allclose(S, whole, rtol=0, atol=1e-3)
    # the model's window for a frame at t: its inner columns are the display's columns
    t = 3.0
    w = log_mel(window_for_time(x, SR, t))[0].numpy()  # window starts at sample 40000
    j0 = round((t - 0.5) * SR) // 160
    np.testing.assert_allclose(w[:, 2:-2], S[:, j0 + 2:j0 + 99], rtol=0, atol=1e-3)


def test_window_for_time_centres_and_pads():
    x = np.arange(1, 3 * SR + 1, dtype=np.float32)  # sample j holds j + 1
    w = window_for_time(x, SR, 1.5)
    assert w.shape == (SR,) and w.dtype == np.float32
    assert w[0] == 16001 and w[-1] == 32000  # samples 16000 .. 31999
    edge = window_for_time(x, SR, 0.25)  # starts at -0.25 s: 4000 zeros first
    assert not edge[:4000].any() and edge[4000] == 1
    end = window_for_time(x, SR, 2.9)  # 0.4 s past the end
    assert end[-1] == 0 and not end[-6400:].any() and end[SR - 6400 - 1] == 3 * SR
    tw = window_for_time(torch.from_numpy(x), SR, 1.5)
    assert isinstance(tw, torch.Tensor) and torch.equal(tw, torch.from_numpy(w))
    batch = windows_for_times(x, SR, [0.25, 1.5])
    assert batch.shape == (2, SR) and np.array_equal(batch[1], w)


def test_window_from_file_equals_window_cut_from_track(tmp_path):
    from model_core.media.audio import read_audio

    path = make_clip(tmp_path / "c.mp4", n_frames=50, fps=25, size=(64, 48), tone_hz=700)
    track = read_audio(path)
    for t in (0.3, 1.04, 1.9):
        # AAC decodes the second-to-last frame ~3e-5 differently after a seek (FFmpeg)
        np.testing.assert_allclose(read_audio(path, t - 0.5, t + 0.5), window_for_time(track, SR, t), atol=1e-4)


def test_input_types_and_gradients():
    x16 = (tone(0.5, 1000.0) * 32767).astype(np.int16)
    torch.testing.assert_close(log_mel(x16), log_mel(x16.astype(np.float32) / 32768.0))
    with pytest.raises(TypeError):
        log_mel(np.zeros(100, np.int64))
    with pytest.raises(ValueError):
        log_mel(np.zeros((1, 2, 100), np.float32))
    # the output feeds a model in training: it must not be an inference tensor
    feats = log_mel(np.zeros((2, SR), np.float32) + 0.01)
    conv = torch.nn.Conv2d(1, 2, 3)
    conv(feats).sum().backward()
    assert conv.weight.grad is not None


def test_transform_is_created_once():
    log_mel(np.zeros(SR, np.float32))
    module = features._transform(torch.device("cpu"))
    log_mel(np.zeros(SR, np.float32))
    assert features._transform(torch.device("cpu")) is module


def test_display_resamples_other_rates():
    x = tone(1.0, 1000.0, 48000)
    S, times, _ = spectrogram_for_display(x, 48000)
    assert S.shape == (64, 101)
    assert int(np.argmax(S[:, 50])) == _expected_band(1000.0)


# -- the log-mel and the resampler are torchaudio's (torchaudio is a test-only reference) --
def _torchaudio_log_mel():
    return torch.nn.Sequential(
        torchaudio.transforms.MelSpectrogram(sample_rate=SR, n_fft=512, win_length=400, hop_length=160, n_mels=64),
        torchaudio.transforms.AmplitudeToDB(stype="power", top_db=None)).eval()


def _signals():
    rng = np.random.default_rng(7)
    noise = rng.normal(size=SR).astype(np.float32)
    return {
        "silence": np.zeros(SR, np.float32),
        "quiet noise": noise * 1e-4,
        "noise": noise * 0.1,
        "clipped": np.clip(noise * 4.0, -1.0, 1.0),                    # hard clipping at full scale
        "square": np.sign(tone(1.0, 440.0, SR, 1.0)).astype(np.float32),  # all samples at +-1
        "tone": tone(1.0, 3000.0, SR, 0.5),
        "short": noise[:300] * 0.3,
        "odd length": noise[:16159] * 0.3,
        "batch": np.stack([noise * 0.01, noise * 0.5, np.zeros(SR, np.float32)]),
    }


def test_filterbank_is_torchaudios():
    assert torch.equal(features.mel_filterbank(), torchaudio.functional.melscale_fbanks(257, 0.0, 8000.0, 64, SR))


@pytest.mark.parametrize("name", list(_signals()))
def test_log_mel_is_torchaudios(name):
    """Same values as torchaudio's MelSpectrogram + AmplitudeToDB (bit for bit on the machine
    where this was written; 1e-5 dB allowed for another FFT library's rounding)."""
    x = torch.from_numpy(_signals()[name])
    ours = features._transform(x.device)(x)
    with torch.no_grad():
        ref = _torchaudio_log_mel()(x)
    assert ours.shape == ref.shape and ours.dtype == ref.dtype
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-5)
    if name == "silence":
        assert torch.all(ours == DB_FLOOR)


@pytest.mark.parametrize("sr", [48000, 44100, 32000, 22050, 8000, 11025])
def test_resample_is_torchaudios(sr):
    from model_core.resample import resample

    rng = np.random.default_rng(sr)
    x = torch.from_numpy(np.clip(rng.normal(size=(2, sr + 17)) * 0.4, -1, 1).astype(np.float32))
    ours, ref = resample(x, sr, SR), torchaudio.functional.resample(x, sr, SR)
    assert ours.shape == ref.shape
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6)
    torch.testing.assert_close(resample(x[0], sr, SR), ref[0], rtol=0, atol=1e-6)  # 1-D too
    assert resample(x, SR, SR) is x
    with pytest.raises(ValueError):
        resample(x, 0, SR)


def test_display_of_a_48k_track_is_the_torchaudio_resampled_one():
    x = tone(1.5, 700.0, 48000, 0.3)
    S, _, _ = spectrogram_for_display(x, 48000)
    ref = log_mel(torchaudio.functional.resample(torch.from_numpy(x), 48000, SR))[0].numpy()
    np.testing.assert_allclose(S, ref, rtol=0, atol=1e-4)
