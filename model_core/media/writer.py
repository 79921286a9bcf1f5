"""Write video files with an audio track through PyAV (H.264 + AAC in mp4 by default).

Used by the synthetic data generator, the test fixtures and the benchmarks. Frames are
streamed: nothing holds more than one frame and one audio chunk in memory.
"""
from __future__ import annotations

import os
from fractions import Fraction
from typing import Iterable

import numpy as np

from model_core.atomic import atomic_path


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
    generator passes 1. The file appears atomically at ``path``.
    """
    import av  # local: PyAV is only needed when writing

    frames = iter(frames)
    first = None
    if size is None:
        first = next(frames)
        size = (first.shape[1], first.shape[0])
    width, height = size
    fmt = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}.get(
        os.path.splitext(os.fspath(path))[1].lower(), "mp4")
    rate = Fraction(fps).limit_denominator(1001)
    with atomic_path(path) as tmp:
        with av.open(str(tmp), mode="w", format=fmt) as container:
            vstream = container.add_stream(codec, rate=rate)
            vstream.width, vstream.height = width, height
            vstream.pix_fmt = "yuv420p"
            vstream.codec_context.thread_count = int(threads)
            if codec in ("libx264", "h264"):
                vstream.options = {"crf": str(crf), "preset": preset}
            astream = None
            if audio is not None:
                astream = container.add_stream(audio_codec, rate=sample_rate)
                astream.layout = "mono"
                if audio_bitrate:
                    astream.bit_rate = audio_bitrate

            def put(img: np.ndarray) -> None:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img, dtype=np.uint8), format="rgb24")
                for packet in vstream.encode(frame):
                    container.mux(packet)

            if first is not None:
                put(first)
            for img in frames:
                put(img)
            for packet in vstream.encode():
                container.mux(packet)

            if astream is not None:
                samples = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
                chunk = 1024 * 16
                pts = 0
                for start in range(0, len(samples), chunk):
                    piece = samples[start:start + chunk]
                    # AAC wants planar float; PyAV's encoder resamples from 'flt'.
                    aframe = av.AudioFrame.from_ndarray(piece[None, :], format="flt", layout="mono")
                    aframe.sample_rate = sample_rate
                    aframe.pts = pts
                    pts += len(piece)
                    for packet in astream.encode(aframe):
                        container.mux(packet)
                for packet in astream.encode():
                    container.mux(packet)
