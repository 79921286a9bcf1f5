"""The published models' input pipelines, restated in torch: audio front ends and image
transforms, each written once and shared by the families that use it.

Audio (16 kHz mono windows in, the tensor the audio trunk reads out):

- :func:`scipy_log_spectrogram`: ``scipy.signal.spectrogram(x, 16000, nperseg=512,
  noverlap=N)`` with scipy's defaults (a periodic Tukey window with alpha 0.25, the mean of
  each segment removed, one-sided density scaling), then ``log(S + 1e-7) / 12`` (EZ-VSL,
  FNAC, SLAVC, LVS with noverlap 274; SSL-align with 353). scipy is not a run-time
  dependency (the desktop bundle stays small), so the same arithmetic is done here in
  float64; ``tests/test_published_models.py`` holds it equal to scipy's.
- :func:`ssltie_log_mel`: torchaudio's ``MelSpectrogram(n_fft=512, hop_length=239,
  n_mels=257, normalized=True)`` then ``AmplitudeToDB()`` (SSL-TIE), restated in torch.
- :func:`rcgrad_spectrogram`: the STFT RCGrad's audio encoder computes inside the model
  (``Spectrogram(n_fft=512, hop_length=353)``), ``log(x + 1e-7)``, standardised per window.

Images (uint8 RGB frames in, a normalised float batch out): the repositories resize PIL
images with bicubic filtering (PIL's filter widens with the scale factor, i.e. it
antialiases); :func:`resize_bicubic` is torch's antialiased bicubic, which follows PIL's
filter, rounded to uint8 as PIL's output is. Two geometries: ``squash``
(``Resize((224, 224))``: the whole frame) and ``centre`` (``Resize(224)`` +
``CenterCrop(224)``: the short side to 224, the centre square kept; :func:`crop_box` says
which part of the frame that is).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from model_core.features import mel_filterbank

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

SAMPLE_RATE = 16000


# -- audio ---------------------------------------------------------------------------------
def _as_batch(windows) -> torch.Tensor:
    w = windows if torch.is_tensor(windows) else torch.from_numpy(np.asarray(windows, dtype=np.float32))
    if w.ndim == 1:
        w = w[None]
    if w.ndim != 2:
        raise ValueError(f"audio windows must be A x samples, got shape {tuple(w.shape)}")
    return w


def tukey_periodic(n: int, alpha: float = 0.25) -> np.ndarray:
    """scipy's ``get_window(('tukey', alpha), n)`` (periodic: the symmetric window of
    ``n + 1`` points without its last point), float64."""
    m = n + 1
    k = np.arange(m, dtype=np.float64)
    width = int(math.floor(alpha * (m - 1) / 2.0))
    w = np.ones(m, np.float64)
    head = k[:width + 1]
    tail = k[m - width - 1:]
    w[:width + 1] = 0.5 * (1 + np.cos(np.pi * (-1 + 2.0 * head / alpha / (m - 1))))
    w[m - width - 1:] = 0.5 * (1 + np.cos(np.pi * (-2.0 / alpha + 1 + 2.0 * tail / alpha / (m - 1))))
    return w[:n]


_TUKEY = tukey_periodic(512, 0.25)


def scipy_spectrogram(windows, noverlap: int = 274, nperseg: int = 512,
                      sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """(A, n) audio -> (A, nperseg // 2 + 1, T) float64 power spectral density, as
    ``scipy.signal.spectrogram(x, sample_rate, nperseg=nperseg, noverlap=noverlap)``."""
    x = _as_batch(windows).to(torch.float64)
    step = nperseg - noverlap
    if x.shape[-1] < nperseg:
        raise ValueError(f"audio window of {x.shape[-1]} samples is shorter than one segment ({nperseg})")
    win = torch.from_numpy(_TUKEY if nperseg == 512 else tukey_periodic(nperseg)).to(x.device)
    seg = x.unfold(-1, nperseg, step)                       # A x T x nperseg
    seg = (seg - seg.mean(dim=-1, keepdim=True)) * win      # detrend='constant', then window
    spec = torch.fft.rfft(seg, n=nperseg, dim=-1)
    power = (spec.real ** 2 + spec.imag ** 2) / (sample_rate * float((win * win).sum()))
    if nperseg % 2 == 0:
        power[..., 1:-1] *= 2.0
    else:
        power[..., 1:] *= 2.0
    return power.transpose(-1, -2)


def scipy_log_spectrogram(windows, noverlap: int = 274) -> torch.Tensor:
    """(A, n) audio -> (A, 1, 257, T) float32 ``log(S + 1e-7) / 12`` (EZ-VSL's
    ``Normalize(mean=0, std=12)``), the waveform clipped to [-1, 1] first."""
    x = _as_batch(windows).clamp(-1.0, 1.0)
    s = scipy_spectrogram(x, noverlap)
    return (torch.log(s + 1e-7) / 12.0).to(torch.float32).unsqueeze(1)


_SSLTIE_FB: dict = {}


def _stft_power(x: torch.Tensor, n_fft: int, hop: int, normalized: bool) -> torch.Tensor:
    window = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)   # periodic, torchaudio's default
    spec = torch.stft(x, n_fft=n_fft, hop_length=hop, win_length=n_fft, window=window, center=True,
                      pad_mode="reflect", normalized=False, onesided=True, return_complex=True)
    if normalized:  # torchaudio's normalized=True ("window"): divide by the window's L2 norm
        spec = spec / window.pow(2.0).sum().sqrt()
    return spec.abs().pow(2.0)                                           # A x (n_fft/2+1) x T


def ssltie_log_mel(windows) -> torch.Tensor:
    """(A, n) audio -> (A, 1, 257, 1 + n // 239) float32: SSL-TIE's
    ``MelSpectrogram(sample_rate=16000, n_fft=512, hop_length=239, n_mels=257,
    normalized=True)`` and ``AmplitudeToDB()`` (10 log10, floor 1e-10, no top_db)."""
    x = _as_batch(windows).to(torch.float32)
    key = str(x.device)
    fb = _SSLTIE_FB.get(key)
    if fb is None:
        fb = _SSLTIE_FB[key] = mel_filterbank(257, 257).to(x.device)   # model_core.features'
    power = _stft_power(x, 512, 239, normalized=True)
    mel = torch.matmul(power.transpose(-1, -2), fb).transpose(-1, -2)
    return (10.0 * torch.log10(torch.clamp(mel, min=1e-10))).unsqueeze(1)


def rcgrad_spectrogram(windows) -> torch.Tensor:
    """(A, n) audio -> (A, 1, 257, 1 + n // 353) float32: RCGrad's in-model front end
    (``Spectrogram(n_fft=512, hop_length=353)``, ``log(x + 1e-7)``, minus the mean over
    the window's spectrogram, over its standard deviation (unbiased, as ``torch.std``)
    + 1e-9). RCGrad's code standardises over the batch it is given; its evaluation runs
    one clip at a time, so each window is standardised on its own here."""
    x = _as_batch(windows).to(torch.float32)
    s = torch.log(_stft_power(x, 512, 353, normalized=False) + 1e-7)
    flat = s.reshape(s.shape[0], -1)
    mean = flat.mean(dim=1).view(-1, 1, 1)
    std = flat.std(dim=1).view(-1, 1, 1)
    return ((s - mean) / (std + 1e-9)).unsqueeze(1)


# -- images --------------------------------------------------------------------------------
def resize_geometry(width: int, height: int, geometry: str, size: int = 224) -> tuple[int, int, int, int]:
    """``(new_w, new_h, left, top)``: the resized frame's size and the crop's corner in it.
    ``squash``: ``(size, size, 0, 0)``. ``centre``: torchvision's ``Resize(size)`` (short
    side to ``size``, long side ``int(size * long / short)``) then ``CenterCrop(size)``
    (``int(round((new - size) / 2))``)."""
    if geometry == "squash":
        return size, size, 0, 0
    if geometry != "centre":
        raise ValueError(f"unknown image geometry {geometry!r}")
    if width <= height:
        new_w, new_h = size, int(size * height / width)
    else:
        new_w, new_h = int(size * width / height), size
    return new_w, new_h, int(round((new_w - size) / 2.0)), int(round((new_h - size) / 2.0))


def crop_box(width: int, height: int, geometry: str, size: int = 224) -> tuple[float, float, float, float]:
    """The part ``(x0, y0, x1, y1)`` of a ``width`` x ``height`` frame (pixels) a model
    with this geometry sees (and its map covers)."""
    new_w, new_h, left, top = resize_geometry(width, height, geometry, size)
    sx, sy = width / new_w, height / new_h
    return (left * sx, top * sy, (left + size) * sx, (top + size) * sy)


def resize_bicubic(x: torch.Tensor, out_h: int, out_w: int) -> torch.Tensor:
    """(B, 3, H, W) uint8/float 0..255 -> (B, 3, out_h, out_w) float32 0..255 rounded to
    integers (PIL's uint8 output), by antialiased bicubic (PIL's ``Image.BICUBIC``)."""
    if x.shape[-2:] == (out_h, out_w):
        return x.to(torch.float32)
    # two passes, horizontal then vertical, each rounded and clipped to 0..255 as PIL's
    # 8-bit resampler does (the clip matters where bicubic overshoots at sharp edges)
    y = x.to(torch.float32)
    if y.shape[-1] != out_w:
        y = F.interpolate(y, size=(y.shape[-2], out_w), mode="bicubic", antialias=True,
                          align_corners=False).round_().clamp_(0.0, 255.0)
    if y.shape[-2] != out_h:
        y = F.interpolate(y, size=(out_h, out_w), mode="bicubic", antialias=True,
                          align_corners=False).round_().clamp_(0.0, 255.0)
    return y


def frames_to_input(frames, geometry: str, mean=IMAGENET_MEAN, std=IMAGENET_STD, size: int = 224,
                    device: torch.device | str = "cpu") -> torch.Tensor:
    """(B, H, W, 3) uint8 RGB frames (or a list, all of one size) -> (B, 3, size, size)
    float32 on ``device``: resized (and centre-cropped) as the family's test transform,
    ``ToTensor`` (/255) and ``Normalize(mean, std)``."""
    if isinstance(frames, np.ndarray):
        batch = frames[None] if frames.ndim == 3 else frames
    elif len({np.shape(f) for f in frames}) > 1:   # frames of several sizes: one at a time
        return torch.cat([frames_to_input(np.asarray(f)[None], geometry, mean, std, size, device) for f in frames])
    else:
        batch = np.stack([np.asarray(f) for f in frames]) if len(frames) else np.zeros((0, size, size, 3), np.uint8)
    if batch.ndim != 4 or batch.shape[-1] != 3:
        raise ValueError(f"frames must be B x H x W x 3, got shape {batch.shape}")
    if batch.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 RGB, got {batch.dtype}")
    h, w = batch.shape[1:3]
    new_w, new_h, left, top = resize_geometry(w, h, geometry, size)
    x = torch.from_numpy(np.ascontiguousarray(batch)).to(device).permute(0, 3, 1, 2)
    x = resize_bicubic(x, new_h, new_w)[:, :, top:top + size, left:left + size]
    m = torch.tensor(mean, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
    return ((x / 255.0 - m) / s).contiguous()
