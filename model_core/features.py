"""The model's audio features (SPEC 3): log-mel spectrograms of 1 s windows at 16 kHz.

One function, :func:`log_mel`, computes them, and the viewer's spectrogram
(:func:`spectrogram_for_display`) is made of its output, so what the user sees is exactly
what the model hears.

Convention
----------
- Input: float32 mono at 16 kHz, in [-1, 1] (``model_core.media.audio`` delivers that).
- The values of ``torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=512,
  win_length=400, hop_length=160, n_mels=64)`` with torchaudio's defaults otherwise: periodic
  Hann window, ``center=True`` with reflect padding (frame ``j`` is centred on sample
  ``160 * j``, so 16000 samples give ``1 + 16000 // 160 = 101`` frames), power 2, HTK mel
  scale from 0 to 8000 Hz, no filter-bank normalisation. Computed here with ``torch.stft``
  and the same filter bank, operation for operation (:class:`_LogMel`), not by torchaudio:
  torchaudio 2.11 is its last release, and its compiled part, which this code never needed,
  links CUDA builds of torch only, so it kept the CPU desktop bundle from loading.
  ``tests/test_features.py`` holds the two equal (torchaudio stays a test-only reference).
- dB: as ``AmplitudeToDB(stype="power", top_db=None)``, i.e. ``10 * log10(max(power,
  1e-10))``: decibels relative to a power of 1, with an absolute floor at -100 dB
  (:data:`DB_FLOOR`, exact digital silence). A 1 kHz tone of amplitude 0.5 peaks at
  +35 dB. The relative ``top_db=80`` clamp was rejected: torchaudio computes it from
  the loudest value of the whole tensor passed (of the whole batch for 3-D input), so a
  window's values would depend on what else was in the call, and the display of a whole
  track would differ from the model's view of one window.
- Normalisation: none here. Every value depends only on the samples under its own STFT
  frame, so batches, windows and the display agree to float precision. A model that
  wants inputs near unit scale should apply a fixed affine map (e.g. ``(x + 50) / 50``)
  or a BatchNorm on its input, inside the model.
"""
from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported lazily: `avsol --help` must stay fast
    import torch

SAMPLE_RATE = 16000
N_FFT = 512
WIN_LENGTH = 400
HOP_LENGTH = 160
N_MELS = 64
DB_FLOOR = -100.0  # 10 * log10(1e-10), AmplitudeToDB's default amin
WINDOW_SECONDS = 1.0

_lock = threading.Lock()
_transforms: dict = {}


def mel_filterbank(n_freqs: int = N_FFT // 2 + 1, n_mels: int = N_MELS, sample_rate: int = SAMPLE_RATE,
                   f_min: float = 0.0, f_max: float | None = None):
    """``n_freqs x n_mels`` float32 triangular filters (default ``257 x 64``, ours): the
    matrix of torchaudio's ``melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate)``
    (HTK scale, no normalisation), made with the same float32 operations in the same order,
    so the two agree bit for bit. The published families' front ends use other sizes."""
    import torch

    f_max = float(sample_rate // 2) if f_max is None else float(f_max)

    def hz_to_mel(f: float) -> float:
        return 2595.0 * math.log10(1.0 + f / 700.0)

    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_pts = torch.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2)
    f_pts = 700.0 * (10.0 ** (m_pts / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)  # 257 x 66
    down = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.max(torch.zeros(1), torch.min(down, up))


class _LogMel:
    """Power mel spectrogram in dB of ``... x T`` float32 audio on one device (see Convention)."""

    def __init__(self, device):
        import torch

        self.window = torch.hann_window(WIN_LENGTH).to(device)  # periodic, as torchaudio's default
        self.fb = mel_filterbank().to(device)

    def __call__(self, x):
        import torch

        shape = x.size()
        spec = torch.stft(x.reshape(-1, shape[-1]), n_fft=N_FFT, hop_length=HOP_LENGTH, win_length=WIN_LENGTH,
                          window=self.window, center=True, pad_mode="reflect", normalized=False,
                          onesided=True, return_complex=True)
        power = spec.reshape(shape[:-1] + spec.shape[-2:]).abs().pow(2.0)
        mel = torch.matmul(power.transpose(-1, -2), self.fb).transpose(-1, -2)
        return 10.0 * torch.log10(torch.clamp(mel, min=1e-10))


def _transform(device) -> _LogMel:
    """The log-mel of ``device`` (its window and filter bank), created once."""
    key = str(device)
    module = _transforms.get(key)
    if module is None:
        with _lock:
            module = _transforms.get(key)
            if module is None:
                module = _transforms[key] = _LogMel(device)
    return module


def _as_tensor(waveform):
    import torch

    if isinstance(waveform, torch.Tensor):
        x = waveform
    else:
        arr = np.asarray(waveform)
        if arr.dtype == np.int16:
            arr = arr.astype(np.float32) / 32768.0
        elif not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(f"waveform must be float (or int16) samples, got {arr.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    if x.dtype != torch.float32:
        x = x.float()
    return x


def n_frames(n_samples: int) -> int:
    """Number of log-mel frames for ``n_samples`` samples (101 for 16000)."""
    return 1 + n_samples // HOP_LENGTH


def log_mel(waveform) -> torch.Tensor:
    """Log-mel spectrogram in dB of 16 kHz mono audio.

    Parameters
    ----------
    waveform
        ``T`` samples (numpy array or tensor, any length) or a batch ``B x T``.

    Returns
    -------
    torch.Tensor
        float32, ``1 x 64 x F`` for one waveform, ``B x 1 x 64 x F`` for a batch, with
        ``F = 1 + T // 160`` (101 for a 1 s window), on the input's device. Inputs shorter
        than 257 samples are zero-padded on the right before the transform (reflect padding
        needs that many), keeping ``F``.
    """
    import torch

    x = _as_tensor(waveform)
    if x.dim() not in (1, 2):
        raise ValueError(f"waveform must be T or B x T, got shape {tuple(x.shape)}")
    t = x.shape[-1]
    if t <= N_FFT // 2:
        x = torch.nn.functional.pad(x, (0, N_FFT // 2 + 1 - t))
    # no_grad, not inference_mode: training feeds these tensors to modules that save
    # their inputs for backward, which inference tensors refuse
    with torch.no_grad():
        out = _transform(x.device)(x)[..., : n_frames(t)]
    return out.unsqueeze(0) if x.dim() == 1 else out.unsqueeze(1)


def window_for_time(audio, sr: int, t: float, seconds: float = WINDOW_SECONDS):
    """The ``seconds`` window of ``audio`` centred on time ``t``, zero-padded at the edges.

    Sample ``k`` of the result is ``audio[round((t - seconds / 2) * sr) + k]`` (zero outside
    the array); the length is ``round(seconds * sr)`` (16000 for 1 s at 16 kHz). The same
    rule as ``model_core.media.audio.read_audio(path, t - 0.5, t + 0.5)``, so reading a
    window from the file and cutting it from the decoded track give the same samples.
    Returns the input's type (numpy array or tensor).
    """
    from model_core.media.audio import sample_span

    first, n = sample_span(t - seconds / 2.0, t + seconds / 2.0, sr)
    total = audio.shape[-1]
    lo, hi = max(first, 0), min(first + n, total)
    out: np.ndarray | torch.Tensor
    if isinstance(audio, np.ndarray):
        out = np.zeros(audio.shape[:-1] + (n,), dtype=np.float32)
    else:
        import torch

        out = torch.zeros(tuple(audio.shape[:-1]) + (n,), dtype=torch.float32, device=audio.device)
    if hi > lo:
        out[..., lo - first:hi - first] = audio[..., lo:hi]
    return out


def windows_for_times(audio, sr: int, times, seconds: float = WINDOW_SECONDS) -> np.ndarray:
    """``len(times) x round(seconds * sr)`` windows (see :func:`window_for_time`), for batching."""
    audio = np.asarray(audio, dtype=np.float32)
    n = int(round(seconds * sr))
    out = np.zeros((len(times), n), np.float32)
    for i, t in enumerate(times):
        out[i] = window_for_time(audio, sr, float(t), seconds)
    return out


def mel_frequencies() -> np.ndarray:
    """Centre frequency (Hz) of each of the 64 mel bands (HTK scale, 0..8000 Hz)."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)

    mels = np.linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2)[1:-1]
    return (700.0 * (10.0 ** (mels / 2595.0) - 1.0)).astype(np.float32)


def spectrogram_for_display(audio, sr: int = SAMPLE_RATE, chunk_seconds: float = 60.0):
    """The log-mel of a whole track, for the viewer, made of :func:`log_mel` output.

    Returns ``(S, times, mel_freqs_hz)``: ``S`` float32 ``64 x F`` (row 0 = lowest band,
    dB as in :func:`log_mel`), ``times`` (F,) the centre time of each column in seconds
    (``j * 0.01``), ``mel_freqs_hz`` (64,) the band centres. Computed in chunks with
    enough context that every column equals the one a single call on the whole track
    would give (float rounding aside), so an hour of audio never builds a giant STFT.
    Audio at another rate than 16 kHz is resampled first (:func:`model_core.resample.resample`,
    torchaudio's band-limited sinc resampler; the model itself only ever sees 16 kHz from
    PyAV's resampler).
    """
    x = _as_tensor(audio).reshape(-1).cpu()
    if sr != SAMPLE_RATE:
        from model_core.resample import resample

        x = resample(x, sr, SAMPLE_RATE)
    total = x.shape[-1]
    frames = n_frames(total)
    out = np.empty((N_MELS, frames), np.float32)
    chunk = max(1, int(chunk_seconds * SAMPLE_RATE) // HOP_LENGTH)
    ctx = math.ceil((N_FFT // 2) / HOP_LENGTH)  # frames of context either side
    for j0 in range(0, frames, chunk):
        j1 = min(frames, j0 + chunk)
        a = max(0, (j0 - ctx) * HOP_LENGTH)  # segment boundaries on the hop grid
        b = min(total, (j1 + ctx) * HOP_LENGTH)
        seg = log_mel(x[a:b])[0]  # 64 x frames of the segment
        k0 = j0 - a // HOP_LENGTH
        out[:, j0:j1] = seg[:, k0:k0 + (j1 - j0)].numpy()
    times = np.arange(frames, dtype=np.float64) * HOP_LENGTH / SAMPLE_RATE
    return out, times, mel_frequencies()
