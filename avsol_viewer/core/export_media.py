"""The export's media side: the sound track read in order, and a streaming mp4 writer.

``model_core.media.writer.write_video`` takes the whole sound track as one array and
writes it after the pictures; an hour at 48 kHz would be 700 MB of samples and a file
whose sound sits at the end. Here the sound is read in blocks (``AudioReader``, resampled
to a rate AAC encodes) and interleaved with the pictures as they are encoded, so memory
stays flat whatever the length.
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


class Mp4Encoder:
    """H.264 + AAC mp4 writer fed one picture and one stretch of sound at a time."""

    def __init__(self, path, size: tuple[int, int], fps: float, rate: int | None, crf: int, preset: str):
        import av
        from fractions import Fraction

        self.size = size
        self.container = av.open(str(path), mode="w", format="mp4")
        v = self.video_stream = self.container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        v.width, v.height = size
        v.pix_fmt = "yuv420p"
        v.options = {"crf": str(crf), "preset": preset}
        self.audio_stream = None
        if rate:
            a = self.audio_stream = self.container.add_stream("aac", rate=rate)
            a.layout = "mono"
            a.bit_rate = 96000
            self._chunk = a.codec_context.frame_size or 1024
        self._pending = np.zeros(0, np.float32)
        self._apts = 0

    def picture(self, img: np.ndarray) -> None:
        import av
        import cv2

        yuv = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2YUV_I420)
        for packet in self.video_stream.encode(av.VideoFrame.from_ndarray(yuv, format="yuv420p")):
            self.container.mux(packet)

    def sound(self, samples: np.ndarray, final: bool = False) -> None:
        if self.audio_stream is None:
            return
        self._pending = np.concatenate([self._pending, np.clip(samples, -1.0, 1.0).astype(np.float32)])
        while len(self._pending) >= self._chunk or (final and len(self._pending)):
            piece, self._pending = self._pending[:self._chunk], self._pending[self._chunk:]
            self._encode_audio(piece)

    def _encode_audio(self, piece: np.ndarray) -> None:
        import av

        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(piece)[None, :], format="fltp", layout="mono")
        frame.sample_rate = self.audio_stream.rate
        frame.pts = self._apts
        self._apts += len(piece)
        for packet in self.audio_stream.encode(frame):
            self.container.mux(packet)

    def close(self, complete: bool) -> None:
        try:
            if complete:
                for stream in (self.video_stream, self.audio_stream):
                    if stream is not None:
                        for packet in stream.encode():
                            self.container.mux(packet)
        finally:
            self.container.close()
