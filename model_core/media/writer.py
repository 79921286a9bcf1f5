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
    generator passes 1 (and even then a long-lived process can see a second bitstream
    now and then: the tests compare the encoder's input exactly, decoded frames loosely). The file appears atomically at ``path``.
    """
    frames = iter(frames)
    first = None
    if size is None:
        first = next(frames)
        size = (first.shape[1], first.shape[0])
    width, height = size
    if width % 2 or height % 2:
        raise ValueError(f"frame size {width}x{height}: 4:2:0 video needs even width and height")
    fmt = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}.get(
        os.path.splitext(os.fspath(path))[1].lower(), "mp4")
    rate = Fraction(fps).limit_denominator(1001)
    import av  # local: PyAV is only needed when writing
    with atomic_path(path) as tmp:
        with av.open(str(tmp), mode="w", format=fmt) as container:
            vstream = container.add_stream(codec, rate=rate)
            vstream.width, vstream.height = width, height
            vstream.pix_fmt = "yuv420p"
            vstream.codec_context.thread_count = int(threads)
            if codec in ("libx264", "h264"):
                options = {"crf": str(crf), "preset": preset}
                if threads:
                    options["x264-params"] = f"threads={int(threads)}:lookahead-threads=1:sliced-threads=0"
                vstream.options = options  # assign whole: the property returns a copy
            astream = None
            if audio is not None:
                astream = container.add_stream(audio_codec, rate=sample_rate)
                astream.layout = "mono"
                if audio_bitrate:
                    astream.bit_rate = audio_bitrate

            def put(img: np.ndarray) -> None:
                for packet in vstream.encode(_yuv_frame(img, width, height)):
                    container.mux(packet)

            if first is not None:
                put(first)
            for img in frames:
                put(img)
            for packet in vstream.encode():
                container.mux(packet)
            if astream is not None:
                _encode_audio(container, astream, audio, sample_rate)


def _encode_audio(container, astream, audio: np.ndarray, sample_rate: int) -> None:
    """Encode mono float audio in the encoder's own frame size, as planar float: no
    conversion or re-buffering inside PyAV, and each frame's pts is exact."""
    import av

    samples = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
    chunk = astream.codec_context.frame_size or 1024
    for start in range(0, len(samples), chunk):
        piece = np.ascontiguousarray(samples[start:start + chunk])
        aframe = av.AudioFrame.from_ndarray(piece[None, :], format="fltp", layout="mono")
        aframe.sample_rate = sample_rate
        aframe.pts = start
        for packet in astream.encode(aframe):
            container.mux(packet)
    for packet in astream.encode():
        container.mux(packet)


def _yuv_frame(img: np.ndarray, width: int, height: int):
    """An I420 ``av.VideoFrame`` of an RGB image, with every byte of its planes set.

    The conversion is OpenCV's (BT.601, limited range, what decoders assume for untagged
    video). The frame's rows are padded to an alignment, and x264 reads into that padding:
    left uninitialised (as ``VideoFrame.from_ndarray`` leaves it) the same frames gave
    different bitstreams from run to run once the process had freed other buffers
    (measured: 3-4 variants in 8 runs). Zeroed padding makes the output reproducible.
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
