"""Decode a file's sound track and its log-mel spectrogram in the background.

One short-lived thread per opened file: the track (16 kHz mono float32, for playback) and
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


@dataclass(frozen=True)
class TrackAudio:
    """A file's sound and what the spectrogram view draws."""

    samples: np.ndarray        # float32 mono
    sample_rate: int
    has_audio: bool
    spectrogram: np.ndarray    # 64 x F dB, row 0 = lowest band
    times: np.ndarray          # (F,) centre time of each column (s)
    mel_freqs: np.ndarray      # (64,) band centres (Hz)

    @property
    def nbytes(self) -> int:
        return int(self.samples.nbytes + self.spectrogram.nbytes)


def load_track(path: str, duration: float | None = None) -> TrackAudio:
    """Read ``path``'s audio (silence of the video's length when it has none)."""
    from model_core.features import SAMPLE_RATE, spectrogram_for_display
    from model_core.media.audio import read_audio
    from model_core.media.probe import probe

    info = probe(path)
    end = duration if not info.has_audio else None
    samples = read_audio(path, 0.0 if end is not None else None, end)
    spec, times, freqs = spectrogram_for_display(samples, SAMPLE_RATE)
    return TrackAudio(samples, SAMPLE_RATE, bool(info.has_audio), spec, times, freqs)


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
            log.warning("audio of %s: %s", self.path, exc)
            self.failed.emit(self.key, str(exc))
            return
        if not self.isInterruptionRequested():
            self.loaded.emit(self.key, track)
