"""Write video files with an audio track through PyAV (H.264 + AAC in mp4 by default).

:class:`Mp4Writer` is the project's one encoder (synthetic data, test fixtures,
benchmarks, the viewer's export); :func:`write_video` writes a whole clip with it. Frames
are streamed: nothing holds more than one frame and one audio chunk in memory.
"""
from __future__ import annotations

import os
from fractions import Fraction
from typing import Iterable

import numpy as np

from model_core.atomic import atomic_path


class Mp4Writer:
    """A streaming video writer (H.264 + AAC in mp4 by default): one picture and one stretch
    of mono sound at a time, so nothing longer than a frame and an audio chunk is held,
    whatever the length. The project's one encoder: :func:`write_video` (synthetic data,
    benchmarks, test clips), the viewer's export (sound interleaved with the pictures as
    they are drawn) and the tests' variable-rate and gapped clips (explicit ``pts``).

    Parameters
    ----------
    path : the file to write (its extension picks the container; write to a temporary
        path and rename for atomicity, as :func:`write_video` does).
    size : (width, height), even (4:2:0).
    fps : frame rate of the stream (its time base is ``1 / fps`` unless ``time_base``).
    sample_rate : the mono sound's rate; None: no sound track.
    codec, crf, preset, threads : the video encoder (x264 options where they apply;
        ``threads`` 0 = the codec decides; x264 with several threads is not
        bit-reproducible).
    audio_codec, audio_bitrate : the sound encoder.
    time_base : a ``Fraction`` clock for :meth:`picture`'s ``pts`` (variable frame rate).
    container : FFmpeg format name; default from ``path``'s extension (mp4 otherwise).
    metadata : container tags (``input_protection.OWN_VIDEO_METADATA`` marks a video as
        ours, so the next export or recording may replace it; nobody else's video).
    """

    def __init__(self, path: str | os.PathLike, size: tuple[int, int], fps: float,
                 sample_rate: int | None = None, *, codec: str = "libx264", crf: int = 23,
                 preset: str = "veryfast", threads: int = 0, audio_codec: str = "aac",
                 audio_bitrate: int = 64000, time_base: Fraction | None = None, container: str | None = None,
                 metadata: dict[str, str] | None = None):
        import av  # local: PyAV is only needed when writing

        width, height = size
        if width % 2 or height % 2:
            raise ValueError(f"frame size {width}x{height}: 4:2:0 video needs even width and height")
        self.size = (int(width), int(height))
        self.container = av.open(str(path), mode="w", format=container or container_for(path))
        try:
            self.container.metadata.update(metadata or {})
            v = self.video_stream = self.container.add_stream(
                codec, rate=Fraction(fps).limit_denominator(1001) if time_base is None else Fraction(1, 1) / time_base)
            v.width, v.height = self.size
            v.pix_fmt = "yuv420p"
            v.codec_context.thread_count = int(threads)
            if time_base is not None:
                v.time_base = time_base
                v.codec_context.time_base = time_base
            if codec in ("libx264", "h264"):
                options = {"crf": str(crf), "preset": preset}
                if threads:
                    options["x264-params"] = f"threads={int(threads)}:lookahead-threads=1:sliced-threads=0"
                v.options = options  # assign whole: the property returns a copy
            self.time_base = time_base
            self.audio_stream = None
            if sample_rate:
                a = self.audio_stream = self.container.add_stream(audio_codec, rate=int(sample_rate))
                a.layout = "mono"
                if audio_bitrate:
                    a.bit_rate = audio_bitrate
                self._chunk = a.codec_context.frame_size or 1024
        except BaseException:
            self.container.close()
            raise
        self._pending = np.zeros(0, np.float32)
        self._apts = 0
        self._pictures_done = False

    def end_pictures(self) -> None:
        """Flush the video encoder now (what follows in the file is sound only)."""
        if not self._pictures_done:
            self._pictures_done = True
            for packet in self.video_stream.encode():
                self.container.mux(packet)

    def picture(self, img: np.ndarray, pts: int | None = None) -> None:
        """Encode one H x W x 3 uint8 RGB picture (``pts`` on ``time_base`` for VFR)."""
        frame = _yuv_frame(img, *self.size)
        if pts is not None:
            frame.pts = int(pts)
            frame.time_base = self.time_base
        for packet in self.video_stream.encode(frame):
            self.container.mux(packet)

    def sound(self, samples: np.ndarray, final: bool = False) -> None:
        """Queue mono float samples in [-1, 1]; whole encoder frames are encoded at once,
        the rest with ``final``. Planar float in the encoder's own frame size: no
        re-buffering inside PyAV, and each frame's pts is exact."""
        if self.audio_stream is None:
            return
        x = np.clip(np.asarray(samples, np.float32).reshape(-1), -1.0, 1.0)
        self._pending = np.concatenate([self._pending, x]) if len(self._pending) else x
        while len(self._pending) >= self._chunk or (final and len(self._pending)):
            piece, self._pending = self._pending[:self._chunk], self._pending[self._chunk:]
            self._encode_audio(piece)

    def _encode_audio(self, piece: np.ndarray) -> None:
        import av

        stream = self.audio_stream
        assert stream is not None       # write_audio returns early for a writer without sound
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(piece)[None, :], format="fltp", layout="mono")
        frame.sample_rate = stream.rate
        frame.pts = self._apts
        self._apts += len(piece)
        for packet in stream.encode(frame):
            self.container.mux(packet)

    def close(self, complete: bool = True) -> None:
        """Flush the encoders (when ``complete``) and close the file."""
        try:
            if complete:
                self.end_pictures()
                self.sound(np.zeros(0, np.float32), final=True)
                if self.audio_stream is not None:
                    for packet in self.audio_stream.encode():
                        self.container.mux(packet)
        finally:
            self.container.close()

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        self.close(complete=exc_type is None)


def container_for(path: str | os.PathLike) -> str:
    """The FFmpeg format for a file name's extension (mp4 when unknown)."""
    return {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}.get(
        os.path.splitext(os.fspath(path))[1].lower(), "mp4")


def write_video(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    fps: float,
    audio: np.ndarray | None = None,
    sample_rate: int = 16000,
    *,
    codec: str = "libx264",
    crf: int = 23,
    preset: str = "veryfast",
    audio_codec: str = "aac",
    audio_bitrate: int = 64000,
    size: tuple[int, int] | None = None,
    threads: int = 0,
) -> None:
    """Encode ``frames`` (H x W x 3 uint8 RGB) at ``fps`` and optional mono ``audio``.

    ``audio`` is float32 in [-1, 1] at ``sample_rate``. ``size`` (w, h) must be given when
    ``frames`` is a generator whose first frame should not be peeked at; otherwise it is
    read from the first frame. ``threads`` is the encoder's thread count (0 = the codec
    decides); x264 with several threads is not bit-reproducible, so the synthetic data
    generator passes 1 (and even then a long-lived process can see a second bitstream
    now and then: the tests compare the encoder's input exactly, decoded frames loosely).
    The file appears atomically at ``path``. The sound follows the pictures in the file.
    """
    frames = iter(frames)
    first = None
    if size is None:
        first = next(frames)
        size = (first.shape[1], first.shape[0])
    with atomic_path(path) as tmp:
        with Mp4Writer(tmp, size, fps, sample_rate if audio is not None else None, codec=codec, crf=crf,
                       preset=preset, threads=threads, audio_codec=audio_codec,
                       audio_bitrate=audio_bitrate, container=container_for(path)) as w:
            if first is not None:
                w.picture(first)
            for img in frames:
                w.picture(img)
            if audio is not None:
                w.end_pictures()  # pictures first, then the sound (as the generator always wrote)
                w.sound(audio, final=True)


def _yuv_frame(img: np.ndarray, width: int, height: int):
    """An I420 ``av.VideoFrame`` of an RGB image, with every byte of its planes set.

    The conversion is OpenCV's (BT.601, limited range, what decoders assume for untagged
    video). The frame's rows are padded to an alignment, and x264 reads into that padding:
    left uninitialised (as ``VideoFrame.from_ndarray`` leaves it) the same frames gave
    different bitstreams from run to run once the process had freed other buffers.
    Zeroed padding makes the output reproducible.
    """
    import av
    import cv2

    yuv = cv2.cvtColor(np.ascontiguousarray(img, dtype=np.uint8), cv2.COLOR_RGB2YUV_I420)
    h2, w2 = height // 2, width // 2
    chroma = yuv[height:].reshape(2, h2, w2)  # I420: the U plane, then the V plane
    planes = (yuv[:height], chroma[0], chroma[1])
    frame = av.VideoFrame(width, height, "yuv420p")
    for plane, data in zip(frame.planes, planes):
        buf = np.zeros((data.shape[0], plane.line_size), np.uint8)
        buf[:, : data.shape[1]] = data
        plane.update(buf)
    return frame
