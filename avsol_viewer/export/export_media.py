"""The export's sound: the track read in order, in blocks, for the streaming writer.

``model_core.media.writer.write_video`` takes the whole sound track as one array; an hour
at 48 kHz would be 700 MB of samples. Here the sound is read in blocks (``AudioReader``,
resampled to a rate AAC encodes) and handed to the project's one encoder
(``model_core.media.writer.Mp4Writer``) interleaved with the pictures as they are
encoded, so memory stays flat whatever the length.
"""
from __future__ import annotations

import numpy as np

#: Sample rates AAC encodes; other sources are resampled to 48 kHz.
AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)


class SoundFeed:
    """The exported sound track, read in order from ``t0`` seconds of ``video_path``.

    ``spec`` None: the file's own track, mono, at its own rate when AAC can encode it (else
    48 kHz); ``rate`` is None when the file has no sound (the export then has no track).
    ``spec`` an ``AudioSpec``: what the maps heard (silence, noise, another file), 16 kHz.
    """

    def __init__(self, video_path: str, t0: float, spec=None):
        from model_core.media.audio import AudioReader
        from model_core.media.probe import probe

        self.t0, self.sent = t0, 0
        self._source = self._reader = None
        self.rate: int | None = None
        if spec is not None:
            self._source = spec.open(video_path)
            self.rate = 16000
            return
        info = probe(video_path)
        if info.has_audio:
            self.rate = info.audio_rate if info.audio_rate in AAC_RATES else 48000
            self._reader = AudioReader(video_path, sample_rate=self.rate, cache_seconds=0.0, block_seconds=30.0)

    def until(self, seconds: float) -> np.ndarray:
        """The samples from where the last call stopped to ``seconds`` after ``t0``."""
        n = int(round(seconds * self.rate)) - self.sent
        if n <= 0:
            return np.zeros(0, np.float32)
        a = self.t0 + self.sent / self.rate
        b = a + n / self.rate
        x = self._source.window((a + b) / 2, b - a) if self._source is not None else self._reader.read(a, b)
        self.sent += n
        x = np.asarray(x, np.float32).reshape(-1)[:n]
        return x if len(x) == n else np.pad(x, (0, n - len(x)))

    def close(self) -> None:
        for obj in (self._source, self._reader):
            if obj is not None:
                obj.close()
