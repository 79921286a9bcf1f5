"""Band-limited resampling of a whole track for the viewer's spectrogram (a port of torchaudio's).

:func:`resample` is ``torchaudio.functional.resample`` with its defaults (windowed-sinc
interpolation, Hann window, 6 zero crossings, roll-off 0.99), ported operation for
operation from torchaudio 2.11 (BSD-2-Clause, Copyright (c) 2017 Facebook Inc.), so a
48 kHz track's spectrogram is the one it was when torchaudio computed it
(``tests/test_features.py`` holds the two equal). Only the display resamples this way:
the model's audio comes from PyAV's resampler at 16 kHz (``model_core.media.audio``).
torchaudio itself is not imported at run time (see ``model_core.features``).
"""
from __future__ import annotations

import math

LOWPASS_FILTER_WIDTH = 6
ROLLOFF = 0.99


def _kernel(orig: int, new: int, device, dtype):
    """The ``new x 1 x K`` polyphase filters and the padding width (``orig``/``new`` reduced)."""
    import torch

    base_freq = min(orig, new) * ROLLOFF  # anti-aliasing below both Nyquist frequencies
    width = math.ceil(LOWPASS_FILTER_WIDTH * orig / base_freq)
    idx = torch.arange(-width, width + orig, dtype=dtype, device=device)[None, None] / orig
    t = torch.arange(0, -new, -1, dtype=dtype, device=device)[:, None, None] / new + idx
    t *= base_freq
    t = t.clamp_(-LOWPASS_FILTER_WIDTH, LOWPASS_FILTER_WIDTH)
    window = torch.cos(t * math.pi / LOWPASS_FILTER_WIDTH / 2) ** 2
    t *= math.pi
    kernels = torch.where(t == 0, torch.tensor(1.0).to(t), t.sin() / t)
    kernels *= window * (base_freq / orig)
    return kernels, width


def resample(waveform, orig_freq: int, new_freq: int):
    """``waveform`` (``... x T`` float tensor) from ``orig_freq`` to ``new_freq`` Hz.

    ``ceil(T * new_freq / orig_freq)`` samples come out, on the input's device and dtype.
    """
    import torch

    if orig_freq <= 0 or new_freq <= 0 or int(orig_freq) != orig_freq or int(new_freq) != new_freq:
        raise ValueError(f"sample rates must be positive integers, got {orig_freq} and {new_freq}")
    if not waveform.is_floating_point():
        raise TypeError(f"waveform must be a float tensor, got {waveform.dtype}")
    if orig_freq == new_freq:
        return waveform
    gcd = math.gcd(int(orig_freq), int(new_freq))
    orig, new = int(orig_freq) // gcd, int(new_freq) // gcd
    kernel, width = _kernel(orig, new, waveform.device, waveform.dtype)
    shape = waveform.size()
    x = waveform.reshape(-1, shape[-1])
    n_wavs, length = x.shape
    x = torch.nn.functional.pad(x, (width, width + orig))
    out = torch.nn.functional.conv1d(x[:, None], kernel, stride=orig)
    out = out.transpose(1, 2).reshape(n_wavs, -1)
    target = int(torch.ceil(torch.as_tensor(new * length / orig)).long())
    out = out[..., :target]
    return out.reshape(shape[:-1] + out.shape[-1:])
