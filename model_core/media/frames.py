"""Video frames as RGB uint8 arrays, streamed: OpenCV by default, PyAV where OpenCV can't.

:class:`VideoReader` keeps one decoder open and tracks where it is, so consecutive reads
never seek: a read a few frames ahead decodes forward (``grab`` without colour conversion),
and only a jump backwards or far ahead seeks. Every frame read is checked against its
timestamp, so a seek that lands on the wrong frame (some codecs) is corrected, and a frame
absent from the file (dropped, an AVI null frame, lost to damage) reads as the picture
shown at that time instead of silently shifting every later index.

Frame ``i`` is shown from ``time_at_index(i)`` seconds; the frame at time ``t`` is the last
one shown at or before ``t`` (``floor(t * fps + 1e-6)`` on constant-rate files), which is
what a player displays and what the playback clock of the viewer uses.

Backends: OpenCV (``cv2.VideoCapture`` with its FFmpeg build) for constant-rate files, as
the specification asks (it is the fastest here); PyAV for variable-rate files (OpenCV's
seeking assumes a constant rate and lands on the wrong frames) and for codecs the OpenCV
build cannot decode (AV1 with the current wheels).

Rotation: one rule for every backend. A video whose display matrix says "turn 90
degrees" (a phone held upright) is read as a player shows it: the decoder returns the
stored picture (OpenCV's own auto-rotation is switched off, ``CAP_PROP_ORIENTATION_AUTO``
= 0, so it can't rotate a second time or differently), resized to the stored shape, and
:func:`model_core.media.probe.rotate` turns it by the matrix's angle as PyAV reads it
(``VideoFrame.rotation``). So OpenCV and PyAV, dense and sparse reads, give the same
pixels, and ``infer``, ``eval``, the viewer and the export the same maps.

Resizing: :func:`resize_frame`, an INTER_AREA-quality downscale at a fifth of its cost
(see its docstring and ``benchmarks/bench_decode.py``). Use it for every frame that goes to
a model, in training and inference alike.
"""
from __future__ import annotations

import bisect
import logging
import math
import os
from typing import Iterator

import numpy as np

from model_core.errors import MediaError
from model_core.media.probe import (MediaInfo, display_rotation, normal_rotation, open_container, probe,
                                    rotate, video_streams, with_rotation)

log = logging.getLogger(__name__)

#: A target at most this many frames ahead is reached by decoding forward, not seeking.
SEEK_AHEAD_FRAMES = 48
#: Decoder threads of a dense read, at most. FFmpeg's frame threading holds a picture and
#: a codec context per thread, and both backends default to one thread per core (up to 16):
#: memory would grow with the machine. Four decode 720p H.264 several times faster than
#: real time; fewer cores, one per core.
DECODE_THREADS = 4


def decode_threads() -> int:
    """Threads a dense read decodes with: one per core, at most :data:`DECODE_THREADS`."""
    return max(1, min(DECODE_THREADS, os.cpu_count() or 1))


def resize_frame(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize ``img`` (H x W x C uint8) to ``size`` = (width, height), antialiased and fast.

    Plain ``INTER_AREA`` from 1280 x 720 to 224 x 224 is slow; ``INTER_LINEAR`` is fast
    but aliases badly (it samples 2 x 2 source pixels per output pixel at a 5.7x
    reduction). This does: exact 2x ``INTER_AREA`` halvings (OpenCV's fast integer path)
    while the image stays at least the target size, ``INTER_LINEAR`` to twice the target
    (a reduction of at most ~2x, or an enlargement), then one exact 2x ``INTER_AREA``
    halving: close to ``INTER_AREA``'s quality at a fraction of its cost (PSNR and times
    in ``benchmarks/README.md``, ``decode``). An odd row or column is
    dropped before a halving (at most half a source pixel of shift).
    """
    import cv2

    width, height = int(size[0]), int(size[1])
    h, w = img.shape[:2]
    if (w, h) == (width, height):
        return img
    if w <= width and h <= height:  # pure enlargement: nothing to antialias
        return cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)
    while w >= 2 * width and h >= 2 * height:
        img = img[: h - h % 2, : w - w % 2]
        h, w = h // 2, w // 2
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    if (w, h) != (2 * width, 2 * height):
        img = cv2.resize(img, (2 * width, 2 * height), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


class _EndOfStream(Exception):
    """Internal: the decoder has no frame at or after the requested position."""


class _CvSource:
    """``cv2.VideoCapture`` with the frame index of the grabbed frame taken from its pts."""

    name = "opencv"

    def __init__(self, path: str, fps: float):
        import cv2

        self._cv2 = cv2
        self.fps = fps
        # CAP_FFMPEG: never let OpenCV read a name with '%' as an image sequence
        self.cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, decode_threads()])
        if not self.cap.isOpened():
            raise _EndOfStream("OpenCV cannot open the file")
        # the stored picture: VideoReader applies the one rotation rule (module docstring)
        if not self.cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0):
            self.cap.release()
            raise _EndOfStream("this OpenCV build cannot switch off its auto-rotation")

    def rotated(self) -> bool:
        """Whether OpenCV saw a display matrix that turns the picture (read with the file's
        header: free). Only a hint: the angle applied is PyAV's (module docstring)."""
        return int(round(self.cap.get(self._cv2.CAP_PROP_ORIENTATION_META))) % 360 != 0

    def seek(self, index: int) -> None:
        self.cap.set(self._cv2.CAP_PROP_POS_FRAMES, float(index))

    def grab(self) -> int:
        if not self.cap.grab():
            raise _EndOfStream()
        return int(round(self.cap.get(self._cv2.CAP_PROP_POS_MSEC) / 1000.0 * self.fps))

    def retrieve(self, size: tuple[int, int] | None) -> np.ndarray:
        ok, bgr = self.cap.retrieve()
        if not ok or bgr is None:
            raise _EndOfStream()
        if size is not None:
            bgr = resize_frame(bgr, size)  # resize first: converting fewer pixels is cheaper
        return self._cv2.cvtColor(bgr, self._cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self.cap.release()


class _AvSource:
    """PyAV decoder; frame indices from a table of timestamps (VFR) or from pts * fps."""

    name = "pyav"

    def __init__(self, path: str, fps: float, times: list[float] | None, origin: int | None,
                 sparse: bool = False):
        self.container = open_container(path)
        self.stream = video_streams(self.container)[0]
        if sparse:  # one thread: frame threading costs 1.5x the CPU and delays every seek
            self.stream.codec_context.thread_count = 1
        else:
            self.stream.thread_type = "AUTO"
            self.stream.codec_context.thread_count = decode_threads()
        self.tb = self.stream.time_base
        self.start = origin if origin is not None else (self.stream.start_time or 0)
        self.fps = fps
        self.times = times  # sorted presentation times (s) of every frame, VFR only
        #: frames below this index may go undecoded when no other frame refers to them
        #: (``VideoReader._forward`` sets it while it decodes towards a target); None: none
        self.skip_below: int | None = None
        self._skipping = False
        self._frames = self._decode()
        self._frame = None
        #: the display rotation of the first frame decoded (``VideoFrame.rotation``)
        self.rotation: int | None = None

    def _decode(self):
        """Decoded frames in order; a packet of a frame below ``skip_below`` is decoded
        with ``skip_frame = NONREF`` (a non-reference frame then costs nothing)."""
        ctx = self.stream.codec_context
        for packet in self.container.demux(self.stream):
            skip = (self.skip_below is not None and packet.pts is not None
                    and self._index(self._time(packet)) < self.skip_below)
            if skip != self._skipping:
                ctx.skip_frame = "NONREF" if skip else "DEFAULT"
                self._skipping = skip
            yield from packet.decode()

    def _time(self, frame) -> float:
        """Seconds from the start of a frame (or a packet: the same pts and dts)."""
        pts = frame.pts if frame.pts is not None else frame.dts
        return float((pts - self.start) * self.tb) if pts is not None else 0.0

    def _index(self, t: float) -> int:
        if self.times is None:
            return int(round(t * self.fps))
        k = bisect.bisect_left(self.times, t - 1e-6)
        return min(k, len(self.times) - 1)

    def seek(self, index: int) -> None:
        t = self.times[index] if self.times is not None else index / self.fps
        self.container.seek(self.start + int(math.floor(t / self.tb)), stream=self.stream, backward=True)
        self._frames = self._decode()
        self._frame = None

    def grab(self) -> int:
        import av

        try:
            self._frame = next(self._frames)
        except (StopIteration, av.error.FFmpegError) as exc:
            raise _EndOfStream() from exc
        if self.rotation is None:
            self.rotation = normal_rotation(getattr(self._frame, "rotation", 0))
        return self._index(self._time(self._frame))

    def retrieve(self, size: tuple[int, int] | None) -> np.ndarray:
        if self._frame is None:
            raise _EndOfStream()
        rgb = self._frame.to_ndarray(format="rgb24")
        return resize_frame(rgb, size) if size is not None else rgb

    def close(self) -> None:
        self.container.close()


def frame_index_at(t: float, fps: float, times, count: int) -> int:
    """Index of the frame shown at time ``t``: the last frame starting at or before it
    (``times``: each frame's presentation time, for variable-rate files; else ``i / fps``),
    with 1 µs of slack for times computed from an index, clamped to ``[0, count - 1]``.
    The reader and the viewer's timeline both use it, so a time never maps to two frames."""
    if times is not None:
        i = bisect.bisect_right(times, t + 1e-6) - 1
    else:
        i = int(math.floor(t * fps + 1e-6))
    return min(max(i, 0), count - 1)


def _pts_table(path: str | os.PathLike) -> tuple[int | None, list[float]]:
    container = open_container(path)
    with container:
        stream = video_streams(container)[0]
        start = stream.start_time
        pts = sorted(p.pts for p in container.demux(stream) if p.pts is not None)
    if not pts:
        return start, []
    origin = pts[0] if start is None else min(start, pts[0])
    return origin, [float((p - origin) * stream.time_base) for p in pts]


def frame_times(path: str | os.PathLike) -> list[float]:
    """Presentation time (s) of every frame, by demuxing the whole file (no decoding).

    Needed only for variable-rate files; reads the file once (seconds for an hour of video).
    """
    return _pts_table(path)[1]


class VideoReader:
    """Random and sequential access to the frames of one video file.

    Parameters
    ----------
    path
        The media file. Raises :class:`MediaError` if it is not readable media, has no
        video stream ("audio-only file, no video stream"), or its video can't be decoded.
    backend
        ``"auto"`` (OpenCV for constant-rate files, PyAV otherwise or when OpenCV fails),
        ``"opencv"`` or ``"pyav"``.

    Not thread-safe: use one reader per thread. Use as a context manager or call ``close``.
    """

    def __init__(self, path: str | os.PathLike, backend: str = "auto", sparse: bool = False):
        self.path = os.fspath(path)
        self.sparse = bool(sparse)
        self.info: MediaInfo = probe(self.path)
        if not self.info.has_video:
            raise MediaError(self.path, "audio-only file, no video stream")
        if self.info.video_codec is None:
            raise MediaError(self.path, "unsupported video codec (unknown to this FFmpeg build)")
        if self.info.fps <= 0:
            raise MediaError(self.path, "video stream has no frame rate")
        self.fps = self.info.fps
        self.frame_count = self.info.frame_count
        self.truncated = False
        self._times: list[float] | None = None
        self._origin: int | None = None
        if not self.info.constant_frame_rate:
            self._origin, self._times = _pts_table(self.path)
            self.frame_count = len(self._times)
            if not self._times:
                raise MediaError(self.path, "video stream has no frames")
        auto = ["pyav"] if self._times is not None else ["pyav", "opencv"] if self.sparse else ["opencv", "pyav"]
        order = {"auto": auto,
                 "opencv": ["opencv"], "pyav": ["pyav"]}[backend]
        self._src: _CvSource | _AvSource | None = None
        self.rotation = 0  # frames are read as stored until the rotation is known
        #: the count the container announces; ``frame_count`` drops below it when decoding
        #: finds the file truncated
        self.announced_frame_count = self.frame_count
        for name in order:
            self.frame_count, self.truncated = self.announced_frame_count, False
            self._quiet = True  # a backend that can't decode frame 0 is not a truncated file
            try:
                self._open(name)
                first = self._read(0, None)
                break
            except (_EndOfStream, MediaError):
                self._close_src()
            finally:
                self._quiet = False
        else:
            raise MediaError(self.path, f"cannot decode the video stream (codec {self.info.video_codec})")
        # the one rotation rule: PyAV's reading of the display matrix (a PyAV decoder has
        # it from frame 0 already; for OpenCV, PyAV decodes the first frame once more, only
        # when OpenCV saw a turning matrix: that decode costs as much as the rest of opening)
        src = self._source
        rot = src.rotation if isinstance(src, _AvSource) else None
        if rot is None:
            rot = display_rotation(self.path) if isinstance(src, _CvSource) and src.rotated() else 0
        self.rotation = rot
        self.info = with_rotation(self.info, self.rotation)
        first = rotate(first, self.rotation)
        self._kept: tuple[int, tuple | None, np.ndarray] | None = None  # may hold frame 0 as stored
        self.height, self.width = first.shape[:2]

    # -- public API -------------------------------------------------------------------
    @property
    def backend(self) -> str:
        """``"opencv"`` or ``"pyav"``: which decoder serves this file."""
        return self._source.name

    @property
    def duration(self) -> float:
        """Seconds from the first frame to the end of the last one."""
        if self._times:
            return max(self.info.duration, self._times[-1])
        return self.announced_frame_count / self.fps

    def time_at_index(self, index: int) -> float:
        """Presentation time (s) of frame ``index``."""
        return self._times[index] if self._times is not None else index / self.fps

    def index_at_time(self, t: float) -> int:
        """Index of the frame shown at time ``t`` (clamped to the video)."""
        # clamped to the announced count: past a truncation, reads raise, consistently
        return frame_index_at(t, self.fps, self._times, self.announced_frame_count)

    def read_at_index(self, index: int, size: tuple[int, int] | None = None) -> np.ndarray:
        """Frame ``index`` as H x W x 3 RGB uint8 (resized to ``size`` = (w, h) if given).

        Raises ``IndexError`` outside ``0..announced_frame_count-1`` and
        :class:`MediaError` when the frame can't be decoded (truncated or damaged file).
        """
        index = int(index)
        if not 0 <= index < self.announced_frame_count:
            raise IndexError(f"frame {index} outside 0..{self.announced_frame_count - 1} of {self.path}")
        try:
            if index >= self.frame_count:  # past a truncation found earlier
                raise _EndOfStream()
            return self._read(index, size)
        except _EndOfStream:
            if index < self.frame_count:
                problem = f"frame {index} cannot be decoded (damaged file)"
            else:
                problem = (f"frame {index} cannot be decoded: only {self.frame_count} of "
                           f"{self.announced_frame_count} frames are readable (truncated or damaged file)")
            raise MediaError(self.path, problem) from None

    def decode_to(self, index: int) -> None:
        """Decode up to frame ``index`` without converting its picture: a live camera that
        replays this file decodes every frame (each is a reference for the next) but
        converts only the frames its loop takes; ``read_at_index(index)`` next converts this
        one with no decoding left. Raises as :meth:`read_at_index`."""
        index = int(index)
        if not 0 <= index < self.announced_frame_count:
            raise IndexError(f"frame {index} outside 0..{self.announced_frame_count - 1} of {self.path}")
        try:
            if index >= self.frame_count:
                raise _EndOfStream()
            self._locate(index)
        except _EndOfStream:
            raise MediaError(self.path, f"frame {index} cannot be decoded (damaged or truncated file)") from None

    def read_at_time(self, t: float, size: tuple[int, int] | None = None) -> np.ndarray:
        """The frame shown at time ``t`` seconds (see :meth:`index_at_time`)."""
        return self.read_at_index(self.index_at_time(t), size)

    def iter_frames(self, start_index: int = 0, step: int = 1, size: tuple[int, int] | None = None,
                    stop_index: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, frame)`` for every index of ``range(start_index, stop_index, step)``.

        Reads sequentially: frames between two yielded ones are decoded and skipped (no
        seek) when ``step`` is small. An index whose frame is absent from the file (a
        dropped or damaged frame) yields the frame shown at that time, the one before it.
        The iteration ends early at a truncated tail (``self.truncated`` is then True).
        """
        if step < 1:
            raise ValueError("step must be >= 1")
        i = max(0, int(start_index))
        while i < (self.frame_count if stop_index is None else min(stop_index, self.frame_count)):
            try:
                img = self._read(i, size)
            except _EndOfStream:
                return
            yield i, img
            i += step

    def close(self) -> None:
        """Release the decoder (idempotent)."""
        self._close_src()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # best effort; close() is the contract
        try:
            self._close_src()
        except Exception:  # noqa: BLE001
            pass

    # -- internals ----------------------------------------------------------------------
    def _open(self, name: str) -> None:
        self._close_src()
        self._src = (_CvSource(self.path, self.fps) if name == "opencv"
                     else _AvSource(self.path, self.fps, self._times, self._origin, self.sparse))
        # index of the frame the source holds, and the one before
        self._cur: int | None = None
        self._prev: int | None = None
        self._kept = None
        self._gappy = False
        self._exact = False  # a sparse reader going back over a gap: decode every frame

    def _close_src(self) -> None:
        src = getattr(self, "_src", None)
        if src is not None:
            src.close()
            self._src = None

    @property
    def _source(self) -> _CvSource | _AvSource:
        """The open decoder; reading a closed reader is named as such."""
        if self._src is None:
            raise MediaError(self.path, "the video reader is closed")
        return self._src

    def _end_at(self, index: int) -> None:
        """Record that no frame at or after ``index`` can be decoded."""
        self._cur = self._prev = None
        if index < self.frame_count and not self._quiet:
            log.warning("%s: decoding stops at frame %d of %d (truncated or damaged file)",
                        self.path, index, self.frame_count)
            self.frame_count = max(index, 0)
            self.truncated = True

    def _grab_from(self, expected: int) -> int:
        """Decode the next frame; its index by timestamp, or ``expected`` if pts stalls."""
        prev = self._cur
        try:
            landed = self._source.grab()
        except _EndOfStream:
            self._end_at(expected)
            raise
        # a timestamp ahead means a missing frame; one behind means no usable pts: count
        cur = max(landed, expected)
        self._cur, self._prev = cur, prev
        return cur

    def _seek(self, index: int) -> int:
        """Seek so that the source holds the last frame at or before ``index`` (or the first)."""
        back = 0
        while True:
            target = max(0, index - back)
            self._source.seek(target)
            self._cur = self._prev = None
            try:
                cur = self._source.grab()
            except _EndOfStream:
                if target == 0:
                    self._end_at(0)
                    raise
                cur = index + 1  # seeking near a damaged tail: retry from further back
            if cur <= index or target == 0:
                break
            back = max(2 * back, int(self.fps) + 1)  # landed past it: start further back
        self._cur = cur
        return self._forward(index) if cur < index else cur

    def _forward(self, index: int) -> int:
        """Decode forward until ``index``; the index of the frame shown there.

        A sparse reader lets the decoder skip the non-reference frames before ``index``
        (``_AvSource.skip_below``); should ``index`` itself be absent (a gap), the frame
        shown there may be one it skipped, so it goes back and decodes them all.
        """
        src, cur = self._source, self._cur
        if cur is None:                 # nothing decoded yet: a seek places the source
            return self._seek(index)
        # the PyAV source that may skip frames on the way, or None
        skipping = (src if isinstance(src, _AvSource) and self.sparse and not self._exact
                    and index - cur > 1 else None)
        if skipping is not None:
            skipping.skip_below = index
        try:
            while cur < index:
                prev = cur
                cur = self._grab_from(prev + 1)
                if cur > index:
                    if skipping is None:
                        return prev  # no frame at index: the previous one is still shown
                    skipping.skip_below = None
                    skipping = None
                    self._exact = True
                    try:
                        return self._seek(index)
                    finally:
                        self._exact = False
                if skipping is not None:
                    self._prev = None  # frames between may be undecoded, not absent
        finally:
            if skipping is not None:
                skipping.skip_below = None
        return cur

    def _locate(self, index: int) -> int:
        """Index of the frame shown at ``index``, moving the source as little as possible."""
        cur, prev = self._cur, self._prev
        if cur is not None:
            if cur == index:
                return cur
            if prev is not None and prev <= index < cur:
                return prev  # in the gap just behind the source
            if cur < index <= cur + SEEK_AHEAD_FRAMES:
                return self._forward(index)
        return self._seek(index)

    def _read(self, index: int, size) -> np.ndarray:
        """Frame ``index`` as shown (rotated), resized to ``size`` = (w, h) if given."""
        key = None if size is None else (int(size[0]), int(size[1]))
        shown = self._locate(index)
        if self._kept is not None and self._kept[:2] == (shown, key):
            return self._kept[2].copy()
        if self._cur != shown:
            # the source went past the frame shown here (a gap in the timestamps): go back
            # for it, and from now on keep a private copy of each frame for the next gap
            self._gappy = True
            self._cur = self._prev = None
            if self._seek(shown) != shown or self._cur != shown:
                raise _EndOfStream()
        # resized as stored (a quarter turn swaps the sides), then turned as shown
        stored = key[::-1] if key is not None and self.rotation in (90, 270) else key
        img = rotate(self._source.retrieve(stored), self.rotation)
        if self._gappy:
            self._kept = (shown, key, img.copy())
        return img
