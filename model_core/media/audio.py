"""Audio as float32 mono at 16 kHz, decoded and resampled by PyAV, read by time window.

Sample ``j`` of the returned track is the sound at ``j / sample_rate`` seconds on the media
timeline, whose 0 is the first video frame (see :class:`~model_core.media.probe.MediaInfo`),
so a window read here lines up with the frame shown at the same time. A window
``[start, end)`` holds ``round((end - start) * sr)`` samples starting at sample
``round(start * sr)``; times before 0 or past the end of the stream read as zeros.

Channels are averaged to mono after PyAV's resampler has converted rate and format (a
stereo file whose two channels are equal reads exactly like the mono file, unlike FFmpeg's
own downmix, which is 3 dB louder); more than two channels are first folded to stereo by
the resampler. A file without an audio stream reads as silence (``missing="silence"``) or
raises :class:`MediaError` (``missing="error"``); ``MediaInfo.has_audio`` /
``AudioReader.has_audio`` is the flag callers show ("computed on silence").

Which audio stream: a file may hold several (a dubbed film, a camera's second, muted
microphone). Every reader uses the same one, :func:`choose_audio_stream`'s: the stream
asked for (``stream=N``, ``--audio-stream N``), else the first that is not silent (its
peak over a few windows spread over it stays under -80 dBFS), else the first. The choice
is named (:meth:`AudioChoice.describe`) wherever maps are written, since the first stream,
what players and the previous code took, may be the silent one.
"""
from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass

import numpy as np

from model_core.lru import LRU

from model_core.errors import MediaError
from model_core.media.probe import MediaInfo, describe, open_container, probe

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
#: Decoding starts this long before a requested window (AAC needs a frame of pre-roll).
_MARGIN_S = 0.5
#: Frames whose timestamps set the time of the first decoded sample (see _start_time).
_TIMING_FRAMES = 33


def sample_span(start: float, end: float, sample_rate: int) -> tuple[int, int]:
    """(first sample index, sample count) of the window ``[start, end)`` seconds."""
    first = int(round(start * sample_rate))
    return first, max(0, int(round((end - start) * sample_rate)))


def _place(out: np.ndarray, out_first: int, chunk: np.ndarray, chunk_first: int) -> None:
    """Copy the part of ``chunk`` (starting at sample ``chunk_first``) that overlaps ``out``."""
    lo = max(out_first, chunk_first)
    hi = min(out_first + len(out), chunk_first + len(chunk))
    if hi > lo:
        out[lo - out_first:hi - out_first] = chunk[lo - chunk_first:hi - chunk_first]


def _decode(container, stream, origin: float, t_from: float | None, t_to: float | None,
            sample_rate: int, path: str, end_time: float = 0.0) -> tuple[int, np.ndarray]:
    """Decode ``stream`` from about ``t_from`` to past ``t_to`` (media seconds; None = ends).

    Returns (index of the first sample on the media timeline, float32 mono samples),
    cut at ``end_time`` when it is > 0 (the stream's duration: encoders pad the last
    frame, AAC by up to 1024 samples of near-silence). A damaged tail ends the decoding (what was decoded is kept, the rest reads as zeros).
    """
    import av

    tb = stream.time_base
    channels = stream.codec_context.layout.nb_channels or 1
    layout = "mono" if channels == 1 else "stereo"
    margin = _MARGIN_S
    for _attempt in range(4):
        if t_from is None or _from_beginning(stream, origin, t_from, margin):
            seek_to = None  # the caller passes a freshly opened container: no seek at all
            if _attempt:  # ... unless a seek already moved it (retry after a late landing)
                container.seek(stream.start_time or 0, stream=stream, backward=True)
        else:
            seek_to = origin + t_from - margin
            container.seek(int(math.floor(seek_to / tb)), stream=stream, backward=True)
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
        chunks = _Samples(_expected_samples(stream, t_from, t_to, margin, sample_rate))
        t0, count, in_count = None, 0, 0
        offsets: list[float] = []  # frame time minus input samples before it, per frame
        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    if frame.time is not None and len(offsets) < _TIMING_FRAMES:
                        offsets.append(frame.time - origin - in_count / frame.sample_rate)
                    if t0 is None:
                        t0 = offsets[0] if offsets else -origin
                    in_count += frame.samples
                    for out in resampler.resample(frame):
                        chunks.append(_mono(out))
                        count += out.samples
                if t_to is not None and t0 is not None and t0 + count / sample_rate > t_to + 0.05:
                    break
            for out in resampler.resample(None):
                chunks.append(_mono(out))
        except av.error.FFmpegError as exc:
            log.warning("%s: audio decoding stopped early (%s); the rest reads as silence", path, exc)
        if t0 is None:
            return 0, np.zeros(0, np.float32)
        # a container whose index put us after the window: seek further back and retry
        if seek_to is not None and t_from is not None and t0 > t_from + 1.0 / sample_rate:
            margin *= 4
            continue
        break
    samples = chunks.array()
    assert t0 is not None              # a window in which no frame was decoded returned above
    t0 = _start_time(offsets, t0)
    first = int(round(t0 * sample_rate))
    if end_time > 0:
        samples = samples[:max(0, int(round(end_time * sample_rate)) - first)]
    return first, samples


def _expected_samples(stream, t_from, t_to, margin, sample_rate) -> int:
    """A first guess of the decoded length, so the buffer rarely has to grow."""
    if t_to is not None:
        return int(((t_to - (t_from or 0.0)) + margin + 0.2) * sample_rate)
    if stream.duration is not None and stream.time_base is not None:
        return int((float(stream.duration * stream.time_base) - (t_from or 0.0) + 0.2) * sample_rate)
    return sample_rate * 60


class _Samples:
    """A growing float32 buffer: decoded frames are copied in as they come.

    Keeping a list of per-frame arrays and concatenating at the end held every decoded
    frame alive through its buffer view until then (a peak several times the samples'
    size for a long file: ``benchmarks/README.md``, ``viewer``); one buffer sized from the
    stream's duration holds only the samples.
    """

    def __init__(self, capacity: int):
        self._buf = np.empty(max(1024, capacity), np.float32)
        self._n = 0

    def append(self, chunk: np.ndarray) -> None:
        end = self._n + len(chunk)
        if end > len(self._buf):
            grown = np.empty(max(end, int(len(self._buf) * 1.5)), np.float32)
            grown[:self._n] = self._buf[:self._n]
            self._buf = grown
        self._buf[self._n:end] = chunk
        self._n = end

    def __len__(self) -> int:
        return self._n

    def array(self) -> np.ndarray:
        out = self._buf[:self._n]
        # give back a large unused tail (a guess that overshot), otherwise keep the view
        return out.copy() if len(self._buf) - self._n > max(self._n // 4, 1 << 16) else out


def _mono(frame) -> np.ndarray:
    """The mean of the planes of a planar float32 frame (no copy of a single plane)."""
    planes = [np.frombuffer(p, np.float32, count=frame.samples) for p in frame.planes]
    return planes[0] if len(planes) == 1 else np.stack(planes).mean(axis=0, dtype=np.float32)


def _start_time(offsets: list[float], fallback: float) -> float:
    """Time of the first decoded sample, from the timestamps of the first frames.

    Containers with a millisecond clock (Matroska, WebM) round each frame's timestamp, and
    the first frame after a seek may be shortened by the decoder; a trimmed mean over the
    following frames puts the samples within about one sample of where a decode from the
    start puts them. On an mp4, whose clock is the sample rate, every offset is the same.
    """
    rest = sorted(offsets[1:])
    if len(rest) < 3:
        return offsets[0] if offsets else fallback
    k = len(rest) // 4
    trimmed = rest[k:len(rest) - k]
    return float(sum(trimmed) / len(trimmed))


def _from_beginning(stream, origin: float, t_from: float | None, margin: float = _MARGIN_S) -> bool:
    """Whether a window from ``t_from`` is decoded from the first packet, not after a seek.

    Seeking back to the first packet would lose the encoder-priming handling that FFmpeg
    applies only when it reads the stream from its start, so those reads reopen the file.
    """
    if t_from is None:
        return True
    s_start = float((stream.start_time or 0) * stream.time_base)
    return origin + t_from - margin <= s_start + margin


def _audio_stream(container, index: int = 0):
    auds = list(container.streams.audio)
    return auds[index] if auds else None


#: A stream whose peak stays under this (-80 dBFS) in every probed window is silent.
SILENT_PEAK = 1e-4
#: Windows (of :data:`_PROBE_SECONDS`) spread over a stream to tell whether it is silent.
_PROBE_WINDOWS = 8
_PROBE_SECONDS = 1.0


@dataclass(frozen=True)
class AudioChoice:
    """Which audio stream a file's readers use (index among its audio streams; None: the
    file has none), how many it has, which were passed over as silent, and whether the
    user asked for this one."""

    index: int | None
    count: int
    silent: tuple[int, ...] = ()
    requested: bool = False

    def describe(self) -> str:
        """One phrase for a note or a report ("" when there is nothing to say: one stream)."""
        if self.index is None or (self.count <= 1 and not self.silent):
            return ""
        why = ("as asked" if self.requested
               else "every stream is silent" if len(self.silent) == self.count
               else "the first that is not silent" if self.silent else "the first, not silent")
        return f"audio stream {self.index} of {self.count} ({why})"


def _peak(frame) -> float:
    """Largest absolute sample of an audio frame, on the -1..1 scale of its format."""
    x = frame.to_ndarray()
    name = frame.format.name.rstrip("p")
    if name == "u8":
        return float(np.abs(x.astype(np.float32) - 128.0).max() / 128.0) if x.size else 0.0
    scale = {"s16": 32768.0, "s32": 2147483648.0, "s64": 9.223372036854776e18}.get(name, 1.0)
    return float(np.abs(x.astype(np.float64)).max() / scale) if x.size else 0.0


def _stream_is_silent(path: str, index: int) -> bool:
    """Whether audio stream ``index`` of ``path`` peaks under :data:`SILENT_PEAK` in each of
    :data:`_PROBE_WINDOWS` windows spread over it (a damaged stream counts as silent)."""
    import av

    with open_container(path) as container:
        stream = list(container.streams.audio)[index]
        tb = stream.time_base
        start = stream.start_time or 0
        dur = float(stream.duration * tb) if stream.duration is not None else (
            container.duration / 1e6 if container.duration else 0.0)
        if dur <= _PROBE_WINDOWS * _PROBE_SECONDS:
            spans = [(0.0, max(dur, _PROBE_SECONDS))]
        else:
            spans = [((k + 0.5) * dur / _PROBE_WINDOWS, (k + 0.5) * dur / _PROBE_WINDOWS + _PROBE_SECONDS)
                     for k in range(_PROBE_WINDOWS)]
        try:
            for a, b in spans:
                if a > 0:
                    container.seek(start + int(a / tb), stream=stream, backward=True)
                for packet in container.demux(stream):
                    done = packet.pts is not None and float((packet.pts - start) * tb) > b
                    for frame in packet.decode():
                        if _peak(frame) >= SILENT_PEAK:
                            return False
                    if done:
                        break
        except av.error.FFmpegError:
            pass
    return True


def stream_notes(paths, stream: int | None = None, most: int = 20) -> list[str]:
    """Report notes naming the audio stream heard in each file of ``paths`` that has
    several (``"clip.mp4: audio stream 1 of 2 (the first that is not silent)"``), at most
    ``most`` of them then a count; files that can't be read are left to their own errors.
    Opening each file costs a few ms; only those with several streams are probed further."""
    notes = []
    for path in paths:
        try:
            with open_container(path) as container:
                count = len(container.streams.audio)
            if count > 1:
                notes.append(f"{os.path.basename(os.fspath(path))}: "
                             f"{choose_audio_stream(path, stream, count).describe()}")
        except MediaError as exc:
            if stream is not None and "no audio stream" in str(exc):
                notes.append(str(exc))
    if len(notes) > most:
        notes = notes[:most] + [f"... and {len(notes) - most} more files with several audio streams"]
    return notes


def choose_audio_stream(path: str | os.PathLike, stream: int | None = None,
                        count: int | None = None) -> AudioChoice:
    """The audio stream every reader of ``path`` uses (see the module docstring).

    ``stream``: the one asked for (0-based among the audio streams); :class:`MediaError`
    naming the file when it has no such stream. ``count``: the number of audio streams,
    when the caller has probed already. Files with one audio stream cost nothing more;
    with several, each stream before the chosen one is probed for silence.
    """
    path = os.fspath(path)
    if count is None:
        with open_container(path) as container:
            count = len(container.streams.audio)
    if stream is not None:
        stream = int(stream)
        if not 0 <= stream < count:
            have = f"{count}: 0..{count - 1}" if count else "none"
            raise MediaError(path, f"no audio stream {stream} (the file has {have})")
        return AudioChoice(stream, count, (), True)
    if count == 0:
        return AudioChoice(None, 0)
    if count == 1:
        return AudioChoice(0, 1)
    silent: list[int] = []
    for i in range(count):
        if not _stream_is_silent(path, i):
            return AudioChoice(i, count, tuple(silent))
        silent.append(i)
    return AudioChoice(0, count, tuple(silent))


def _silence_or_raise(info: MediaInfo, start, end, sample_rate, missing: str) -> np.ndarray:
    if missing != "silence":
        raise MediaError(info.path, "no audio stream")
    start = 0.0 if start is None else start
    end = info.duration if end is None else end
    return np.zeros(sample_span(start, end, sample_rate)[1], np.float32)


def read_audio(path: str | os.PathLike, start: float | None = None, end: float | None = None,
               sample_rate: int = SAMPLE_RATE, *, missing: str = "silence",
               stream: int | None = None) -> np.ndarray:
    """Samples of ``[start, end)`` seconds (default: the whole track) as float32 mono.

    The track is :func:`choose_audio_stream`'s (``stream``: the one asked for).

    Seeks near ``start``, so a window of a long file costs about the window. The length is
    exactly ``round((end - start) * sample_rate)``, zero-padded outside the stream. Without
    ``end``, the track runs to the audio stream's announced duration.

    Raises
    ------
    MediaError
        Unreadable file, or no audio stream with ``missing="error"``.
    """
    container = open_container(path)
    with container:
        info = describe(container, path, scan_tail=False)  # leaves the file unread
        choice = choose_audio_stream(path, stream, info.audio_streams)
        if not info.has_audio:
            # the silence must last as long as the video: that needs the exact duration
            return _silence_or_raise(probe(path), start, end, sample_rate, missing)
        if choice.index:
            info = describe(container, path, scan_tail=False, audio_stream=choice.index)
        audio = _audio_stream(container, choice.index or 0)   # the file has audio: an index
        audio.thread_type = "AUTO"
        first, samples = _decode(container, audio, info.start_time, start, end, sample_rate, info.path,
                                 info.audio_duration)
    t_start = 0.0 if start is None else start
    t_end = end if end is not None else (info.audio_duration or (first + len(samples)) / sample_rate)
    out_first, n = sample_span(t_start, t_end, sample_rate)
    out = np.zeros(n, np.float32)
    _place(out, out_first, samples, first)
    return out


class AudioReader:
    """Repeated window reads from one file's audio (the viewer, evaluation, analysis).

    The track is :func:`choose_audio_stream`'s (``choice``). A track of at most ``cache_seconds`` is decoded once, on the first read, and kept
    (10 minutes at 16 kHz = 38 MB). A longer one is decoded in aligned blocks of
    ``block_seconds``, of which the last few are kept, so sliding windows cost nothing
    and a jump costs one block. Not thread-safe.
    """

    def __init__(self, path: str | os.PathLike, sample_rate: int = SAMPLE_RATE,
                 cache_seconds: float = 600.0, block_seconds: float = 10.0, max_blocks: int = 4,
                 stream: int | None = None):
        self.path = os.fspath(path)
        self.info = probe(self.path)
        #: which audio stream is read (:func:`choose_audio_stream`; ``stream``: the one asked for)
        self.choice = choose_audio_stream(self.path, stream, self.info.audio_streams)
        if self.choice.index:
            self.info = probe(self.path, audio_stream=self.choice.index)
        self.sample_rate = sample_rate
        self.has_audio = self.info.has_audio
        #: seconds of audio (of video when there is no audio and reads are silence)
        self.duration = self.info.audio_duration if self.has_audio else self.info.duration
        self._cache_whole = self.has_audio and self.duration <= cache_seconds
        self._block = max(1, int(round(block_seconds * sample_rate)))
        self._max_blocks = max(2, max_blocks)
        self._blocks: LRU[int, np.ndarray] = LRU(max_items=self._max_blocks)
        self._track: tuple[int, np.ndarray] | None = None
        self._container = None
        self._stream = None
        self._fresh = False

    def _open(self):
        if self._container is None:
            self._container = open_container(self.path)
            self._stream = _audio_stream(self._container, self.choice.index or 0)
            self._stream.thread_type = "AUTO"
            self._fresh = True   # nothing read yet: a read from the start needs no reopening
        return self._container, self._stream

    def _decode(self, t_from, t_to) -> tuple[int, np.ndarray]:
        container, stream = self._open()
        if _from_beginning(stream, self.info.start_time, t_from) and not self._fresh:
            self.close()
            container, stream = self._open()
        self._fresh = False
        return _decode(container, stream, self.info.start_time, t_from, t_to, self.sample_rate, self.path,
                       self.info.audio_duration)

    def _get_block(self, b: int) -> np.ndarray:
        block = self._blocks.get(b)
        if block is None:
            first = b * self._block
            block = np.zeros(self._block, np.float32)
            got_first, samples = self._decode(first / self.sample_rate, (first + self._block) / self.sample_rate)
            _place(block, first, samples, got_first)
            self._blocks.put(b, block)
        return block

    def read(self, start: float, end: float) -> np.ndarray:
        """Samples of ``[start, end)`` seconds, exactly ``round((end - start) * sr)`` long."""
        out_first, n = sample_span(start, end, self.sample_rate)
        out = np.zeros(n, np.float32)
        if not self.has_audio or n == 0:
            return out
        if self._cache_whole:
            if self._track is None:
                self._track = self._decode(None, None)
                self.close()
            _place(out, out_first, self._track[1], self._track[0])
            return out
        end_sample = int(round(self.duration * self.sample_rate))
        lo, hi = max(out_first, 0), min(out_first + n, end_sample)
        for b in range(lo // self._block, (hi - 1) // self._block + 1 if hi > lo else lo // self._block):
            _place(out, out_first, self._get_block(b), b * self._block)
        return out

    def window(self, t: float, seconds: float = 1.0) -> np.ndarray:
        """The ``seconds`` window centred on ``t`` (the model's audio for the frame at ``t``)."""
        return self.read(t - seconds / 2.0, t + seconds / 2.0)

    def close(self) -> None:
        """Close the file (cached samples stay usable; a later read reopens it)."""
        if self._container is not None:
            self._container.close()
            self._container = None
            self._stream = None

    def __enter__(self) -> "AudioReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
