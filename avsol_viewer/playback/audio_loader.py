"""Decode a file's sound track and its log-mel spectrogram in the background.

One short-lived thread per opened file: the track (16 kHz mono, int16, for playback) and
``model_core.features.spectrogram_for_display`` of it (the same log-mel the model hears;
importing it imports torch, which therefore happens off the GUI thread). Results of files
opened before are kept by the caller, so reopening one shows its spectrogram at once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Signal

from avsol_viewer.workers import TrackedThread

log = logging.getLogger(__name__)


#: Seconds of sound decoded and turned into spectrogram columns at a time.
CHUNK_SECONDS = 60.0
#: Dynamic range of the spectrogram image (dB below the loudest value).
DISPLAY_RANGE_DB = 80.0


@dataclass(frozen=True)
class TrackAudio:
    """A file's sound and what the spectrogram view draws.

    ``samples`` are int16 (half the memory of float32: an hour is 115 MB; playback only
    needs 16 bits) and ``display`` is the spectrogram already mapped to 0..255 over the
    top ``DISPLAY_RANGE_DB`` dB, so the view draws it on pyqtgraph's uint8 fast path.
    """

    samples: np.ndarray        # int16 mono at sample_rate
    sample_rate: int
    has_audio: bool
    spectrogram: np.ndarray    # 64 x F float32 dB, row 0 = lowest band
    times: np.ndarray          # (F,) centre time of each column (s)
    mel_freqs: np.ndarray      # (64,) band centres (Hz)
    display: np.ndarray        # 64 x F uint8
    top_db: float              # the loudest value (255 in ``display``)

    @property
    def nbytes(self) -> int:
        return int(self.samples.nbytes + self.spectrogram.nbytes + self.display.nbytes)


def load_track(path: str, duration: float | None = None, chunk_seconds: float = CHUNK_SECONDS) -> TrackAudio:
    """Read ``path``'s sound (silence of the video's length when it has none) and its
    spectrogram, ``chunk_seconds`` at a time.

    Each chunk goes through ``model_core.features.spectrogram_for_display`` with two hops
    of context either side (more than half an FFT window), so every column equals the one
    a single call on the whole track gives, while the memory in flight stays at a chunk
    (an hour read whole would need ~500 MB at its peak).
    """
    from model_core.features import HOP_LENGTH, N_MELS, SAMPLE_RATE, mel_frequencies, n_frames, spectrogram_for_display
    from model_core.media.audio import AudioReader

    with AudioReader(path) as reader:
        seconds = reader.duration if reader.has_audio else (duration or reader.duration)
        n = max(0, int(round(seconds * SAMPLE_RATE)))
        samples = np.empty(n, np.int16)
        frames = n_frames(n)
        spec = np.empty((N_MELS, frames), np.float32)
        step = max(HOP_LENGTH, int(chunk_seconds * SAMPLE_RATE) // HOP_LENGTH * HOP_LENGTH)
        ctx = 2 * HOP_LENGTH
        for a in range(0, max(n, 1), step):
            b = min(n, a + step)
            s0, s1 = max(0, a - ctx), min(n, b + ctx)
            x = reader.read(s0 / SAMPLE_RATE, s1 / SAMPLE_RATE)
            samples[a:b] = np.clip(np.round(x[a - s0:b - s0] * 32767.0), -32768, 32767).astype(np.int16)
            chunk_spec, _, _ = spectrogram_for_display(x, SAMPLE_RATE)
            j0 = a // HOP_LENGTH
            j1 = frames if b >= n else b // HOP_LENGTH
            k0 = (a - s0) // HOP_LENGTH
            spec[:, j0:j1] = chunk_spec[:, k0:k0 + (j1 - j0)]
        has_audio = bool(reader.has_audio)
    top = float(spec.max()) if spec.size else 0.0
    display = np.empty(spec.shape, np.uint8)
    scale = 255.0 / DISPLAY_RANGE_DB
    for j in range(0, frames, 65536):  # in slices: no full-size float temporary
        part = (spec[:, j:j + 65536] - (top - DISPLAY_RANGE_DB)) * scale
        display[:, j:j + 65536] = np.clip(part, 0, 255).astype(np.uint8)
    times = np.arange(frames, dtype=np.float64) * HOP_LENGTH / SAMPLE_RATE
    return TrackAudio(samples, SAMPLE_RATE, has_audio, spec, times, mel_frequencies(), display, top)


class AudioLoader(TrackedThread):
    """Runs :func:`load_track` once; emits ``loaded(key, TrackAudio)`` or ``failed(key, msg)``."""

    loaded = Signal(str, object)
    failed = Signal(str, str)

    def __init__(self, key: str, path: str, duration: float, parent=None):
        super().__init__("avsol-audio-loader", parent)
        self.key, self.path, self.duration = key, path, duration

    def request_stop(self) -> None:
        self.requestInterruption()  # decoding a track is short; the caller waits for it

    def run(self) -> None:
        try:
            track = load_track(self.path, self.duration)
        except Exception as exc:  # noqa: BLE001 - MediaError or a decoder failure
            log.debug("audio of %s failed", self.path, exc_info=True)  # the window says why
            self.failed.emit(self.key, str(exc))
            return
        if not self.isInterruptionRequested():
            self.loaded.emit(self.key, track)
