"""Build small test clips whose pixels say which frame they are and whose audio is a tone.

Every frame carries its index as a 4 x 5 grid of black/white cells in the top half of the
picture (16 data bits + a 4-bit check), big enough to survive H.264 at small sizes and any
rescaling, so a test can assert that a seek landed on the right frame with
:func:`read_frame_index`. The lower half holds a red square that moves with the index, so
the encoder has motion to code and overlays have something to sit on.

Plain functions (no pytest fixtures) so that any test module, benchmark or script can use
them; wrap them in session-scoped fixtures where a clip is shared.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

ROWS, COLS = 4, 5
DATA_BITS = 16
CHECK_BITS = 4
MAX_INDEX = (1 << DATA_BITS) - 1


def _check(value: int) -> int:
    """4-bit check: popcount of the 16 data bits, modulo 16 (catches any single misread)."""
    return bin(value).count("1") % 16


def _cells(value: int) -> list[int]:
    bits = [(value >> b) & 1 for b in range(DATA_BITS)]
    chk = _check(value)
    bits += [(chk >> b) & 1 for b in range(CHECK_BITS)]
    return bits  # 20 cells, row-major over the 4 x 5 grid


def _cell_box(k: int, width: int, height: int) -> tuple[int, int, int, int]:
    """Pixel box (x0, y0, x1, y1) of cell ``k`` in a frame of ``width`` x ``height``."""
    r, c = divmod(k, COLS)
    band = height / 2.0
    return (round(c * width / COLS), round(r * band / ROWS),
            round((c + 1) * width / COLS), round((r + 1) * band / ROWS))


def make_frame(index: int, size: tuple[int, int] = (96, 64), draw_index: bool = True) -> np.ndarray:
    """Return frame ``index`` (H x W x 3 uint8 RGB) of a synthetic clip of ``size`` (w, h)."""
    if not 0 <= index <= MAX_INDEX:
        raise ValueError(f"frame index {index} outside 0..{MAX_INDEX}")
    width, height = size
    img = np.empty((height, width, 3), np.uint8)
    img[...] = (40, 90, 60)  # dark green background
    if draw_index:
        for k, bit in enumerate(_cells(index)):
            x0, y0, x1, y1 = _cell_box(k, width, height)
            img[y0:y1, x0:x1] = 255 if bit else 0
    side = max(2, height // 4)
    span = max(1, width - side)
    x = (index * 7) % span
    y = height // 2 + (height // 2 - side) // 2
    img[y:y + side, x:x + side] = (220, 30, 30)
    return img


def read_frame_index(img: np.ndarray) -> int:
    """Decode the index drawn by :func:`make_frame` from an RGB (or BGR, or grey) image.

    Works at any resolution the frame was rescaled to. Raises ``ValueError`` when the check
    bits disagree (not one of our frames, or damaged beyond reading).
    """
    img = np.asarray(img)
    grey = img.astype(np.float32).mean(axis=2) if img.ndim == 3 else img.astype(np.float32)
    height, width = grey.shape
    bits = []
    for k in range(ROWS * COLS):
        x0, y0, x1, y1 = _cell_box(k, width, height)
        # sample the central half of the cell: edges blur under compression and resizing
        dx, dy = max(0, (x1 - x0) // 4), max(0, (y1 - y0) // 4)
        patch = grey[y0 + dy:max(y0 + dy + 1, y1 - dy), x0 + dx:max(x0 + dx + 1, x1 - dx)]
        bits.append(1 if float(patch.mean()) >= 128.0 else 0)
    value = sum(b << i for i, b in enumerate(bits[:DATA_BITS]))
    chk = sum(b << i for i, b in enumerate(bits[DATA_BITS:]))
    if chk != _check(value):
        raise ValueError("frame index code unreadable (check bits disagree)")
    return value


def tone(seconds: float, hz: float = 440.0, sample_rate: int = 16000, amplitude: float = 0.5) -> np.ndarray:
    """A float32 mono sine of ``round(seconds * sample_rate)`` samples."""
    n = int(round(seconds * sample_rate))
    t = np.arange(n, dtype=np.float64) / sample_rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def make_clip(
    path: str | os.PathLike,
    n_frames: int = 50,
    fps: float = 25.0,
    size: tuple[int, int] = (96, 64),
    tone_hz: float = 440.0,
    with_audio: bool = True,
    draw_index: bool = True,
    *,
    sample_rate: int = 16000,
    amplitude: float = 0.5,
    audio: np.ndarray | None = None,
    audio_seconds: float | None = None,
    codec: str = "libx264",
    audio_codec: str = "aac",
    crf: int = 18,
) -> Path:
    """Write a clip of ``n_frames`` at ``fps`` and ``size`` (w, h; even numbers for H.264).

    The audio is a ``tone_hz`` sine lasting the video's duration (or ``audio_seconds``),
    unless ``audio`` (float32 mono at ``sample_rate``) is given. The container follows the
    extension of ``path`` (.mp4, .mkv, .mov, .webm, .avi). Returns ``Path(path)``.
    """
    from model_core.media.writer import write_video

    if with_audio and audio is None:
        seconds = n_frames / fps if audio_seconds is None else audio_seconds
        audio = tone(seconds, tone_hz, sample_rate, amplitude)
    frames = (make_frame(i, size, draw_index) for i in range(n_frames))
    write_video(path, frames, fps, audio=audio if with_audio else None, sample_rate=sample_rate,
                codec=codec, crf=crf, audio_codec=audio_codec, size=size)
    return Path(path)


def make_audio_only(path: str | os.PathLike, seconds: float = 2.0, tone_hz: float = 440.0,
                    sample_rate: int = 16000, channels: int = 1, codec: str | None = None) -> Path:
    """Write an audio-only file (.wav as pcm_s16le, .m4a/.mp4 as AAC, .mka as FLAC, ...)."""
    import av

    path = Path(path)
    ext = path.suffix.lower()
    fmt = {".wav": "wav", ".m4a": "mp4", ".mp4": "mp4", ".mka": "matroska", ".flac": "flac",
           ".ogg": "ogg", ".mp3": "mp3"}[ext]
    codec = codec or {".wav": "pcm_s16le", ".m4a": "aac", ".mp4": "aac", ".mka": "flac",
                      ".flac": "flac", ".ogg": "libopus", ".mp3": "mp3"}[ext]
    layout = "mono" if channels == 1 else "stereo"
    signal = tone(seconds, tone_hz, sample_rate)
    planes = np.repeat(signal[None, :], channels, axis=0)
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=sample_rate)
        stream.layout = layout
        chunk = 4096
        for start in range(0, planes.shape[1], chunk):
            piece = np.ascontiguousarray(planes[:, start:start + chunk])
            # packed 'flt' wants 1 x (samples*channels) interleaved
            frame = av.AudioFrame.from_ndarray(piece.T.reshape(1, -1), format="flt", layout=layout)
            frame.sample_rate = sample_rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def make_vfr_clip(path: str | os.PathLike, times: list[float], size: tuple[int, int] = (96, 64),
                  with_audio: bool = False) -> Path:
    """Write a variable-frame-rate H.264 clip whose frame ``i`` is shown from ``times[i]`` s.

    Timestamps are on a 1/1000 s clock, so ``times`` should be whole milliseconds.
    """
    from model_core.media.writer import Mp4Writer

    with Mp4Writer(path, size, 1000.0, 16000 if with_audio else None, crf=18,
                   time_base=Fraction(1, 1000)) as w:
        for i, t in enumerate(times):
            w.picture(make_frame(i, size), pts=int(round(t * 1000)))
        if with_audio:
            w.end_pictures()
            w.sound(tone(times[-1] + 0.1), final=True)
    return Path(path)


def truncate_copy(src: str | os.PathLike, dst: str | os.PathLike, fraction: float = 0.5) -> Path:
    """Copy the first ``fraction`` of ``src``'s bytes to ``dst`` (a torn download)."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * fraction)])
    return Path(dst)


def remux_faststart(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Copy an mp4 with its index (moov) moved to the front, so a truncated copy still probes."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4",
                                           options={"movflags": "faststart"}) as out:
        mapping = {}
        for s in inp.streams:
            mapping[s.index] = out.add_stream_from_template(s)
        for packet in inp.demux():
            if packet.dts is None:
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)
    return Path(dst)


def make_gap_clip(path: str | os.PathLike, slots: list[int], fps: int = 25,
                  size: tuple[int, int] = (96, 64), codec: str = "mpeg4") -> Path:
    """Write a constant-rate clip with frames only at ``slots`` (others dropped).

    Frame ``slots[k]`` is drawn with index ``slots[k]``, so :func:`read_frame_index` tells
    which picture a reader returned for a slot; a player shows the previous picture in a
    gap. AVI (the default use: ``.avi``) keeps such files constant-rate, as old capture
    software and encoders that drop or skip frames make them.
    """
    from model_core.media.writer import Mp4Writer

    path = Path(path)
    with Mp4Writer(path, size, fps, codec=codec, time_base=Fraction(1, fps)) as w:
        for slot in slots:
            w.picture(make_frame(slot, size), pts=slot)
    return path
