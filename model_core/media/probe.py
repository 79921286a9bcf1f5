"""Container metadata for a media file, read with PyAV without decoding the streams.

``probe`` is the one place that decides whether a file is usable media at all: a missing,
empty, non-media or index-less (truncated) file raises :class:`~model_core.errors.MediaError`
naming the file and the problem, so every caller (CLI, viewer, datasets) reports it the same
way. Decoding problems found later (a truncated tail) are reported by the readers.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from model_core.errors import MediaError

#: Relative tolerance between a stream's average rate and its base rate below which the
#: stream is taken to have a constant frame rate.
_CFR_TOLERANCE = 0.01
#: Seconds before the end where the tail scan starts demuxing to find the last frame.
_TAIL_SECONDS = 3.0


@dataclass(frozen=True)
class MediaInfo:
    """What a media file holds. Times are seconds on the media timeline (frame 0 at 0 s).

    ``duration`` is the video's duration (``frame_count / fps`` on constant-rate files) when
    there is video, else the audio's. ``start_time`` is where that timeline starts in the
    container's clock (the first video timestamp), which the audio reader subtracts so
    sound and pictures stay in sync. ``frame_count`` comes from the container's count when
    it has one, else from the timestamp of the last packet (a cheap tail scan), else
    ``duration * fps``; ``frame_count_exact`` says whether it came from one of the first
    two. ``constant_frame_rate`` is a best-effort reading of the stream's rates.

    ``rotation`` is the display matrix's turn (a phone held upright records landscape
    pictures and says "turn 90 degrees" in the container): degrees counterclockwise, one of
    0, 90, 180, 270, that every reader applies (``np.rot90(picture, rotation // 90)``,
    :func:`rotate`), so all readers, and everything computed from them, see the picture
    as a player shows it; None when not read (``probe(rotation=False)``, the default).
    Once read, ``width`` and ``height`` are the picture as shown (swapped from the stored
    one for 90 and 270).
    """

    path: str
    duration: float
    fps: float
    frame_count: int
    width: int
    height: int
    has_video: bool
    has_audio: bool
    audio_rate: int
    audio_channels: int
    video_codec: str | None
    audio_codec: str | None
    constant_frame_rate: bool
    audio_duration: float = 0.0
    start_time: float = 0.0
    frame_count_exact: bool = False
    container: str = ""
    rotation: int | None = None
    #: how many audio streams the file has, and which of them (0-based, among the audio
    #: streams) ``has_audio``, ``audio_rate`` ... describe (see ``media.audio.choose_audio_stream``)
    audio_streams: int = 0
    audio_stream: int | None = None


def rotate(img, rotation: int):
    """``img`` (H x W x C) turned ``rotation`` degrees counterclockwise (0/90/180/270), as
    :attr:`MediaInfo.rotation` says it is shown; a contiguous array (a view would make
    every later copy slow). The one rotation rule of every reader."""
    import numpy as np

    k = (int(rotation) // 90) % 4
    return img if k == 0 else np.ascontiguousarray(np.rot90(img, k))


def normal_rotation(degrees) -> int:
    """A display matrix's angle (PyAV: counterclockwise, -180..180) as 0, 90, 180 or 270."""
    try:
        d = float(degrees)
    except (TypeError, ValueError):
        return 0
    if not math.isfinite(d):
        return 0
    return int(round(d / 90.0)) % 4 * 90


def _display_rotation(container, stream) -> int:
    """The rotation of ``stream``'s display matrix, from its first decoded frame.

    PyAV exposes the matrix on frames (``VideoFrame.rotation``, av >= 12), not on streams;
    the decoder attaches the stream's matrix to every frame, so one decoded frame tells.
    The container is read from its start (seeking back first if it was read before); any
    failure means no rotation, and the readers then report the undecodable stream.
    """
    try:
        try:  # describe may have demuxed the tail
            container.seek(stream.start_time or 0, stream=stream, backward=True)
        except Exception:  # noqa: BLE001 - an unseekable stream: decode from where it is
            pass
        stream.codec_context.thread_count = 1
        for frame in container.decode(stream):
            return normal_rotation(getattr(frame, "rotation", 0))
    except Exception:  # noqa: BLE001 - PyAV raises various types for damaged streams
        return 0
    return 0


def check_file(path: str | os.PathLike) -> Path:
    """Raise :class:`MediaError` unless ``path`` is an existing, non-empty regular file
    (a FIFO, a device or a symlink loop is named as such: ``input_problem``)."""
    from model_core.input_protection import input_problem

    p = Path(path)
    problem = input_problem(p, "media file")
    if problem is not None:
        raise MediaError(p, problem)
    return p


def open_container(path: str | os.PathLike):
    """Open ``path`` with PyAV, turning every failure into :class:`MediaError`."""
    import av

    p = check_file(path)
    try:
        return av.open(str(p), metadata_errors="ignore")
    except av.error.InvalidDataError as exc:
        raise MediaError(p, "not a media file, or its index is missing (truncated download?)") from exc
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise MediaError(p, f"cannot open as media ({exc})") from exc


def video_streams(container) -> list:
    """Video streams that are real pictures (not cover art attached to an audio file)."""
    import av

    out = []
    for s in container.streams.video:
        try:
            if s.disposition & av.stream.Disposition.attached_pic:
                continue
        except (AttributeError, TypeError):
            pass
        out.append(s)
    return out


def _seconds(value, time_base) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _codec_name(stream) -> str | None:
    try:
        codec = stream.codec_context.codec
        name = getattr(codec, "canonical_name", None) or stream.codec_context.name
    except Exception:  # noqa: BLE001 - PyAV raises various types for unknown codecs
        return None
    return None if not name or name == "none" else name


def _rate(stream) -> float:
    for attr in ("average_rate", "guessed_rate", "base_rate"):
        r = getattr(stream, attr, None)
        if r is not None and r.denominator and float(r) > 0 and math.isfinite(float(r)):
            return float(r)
    return 0.0


def _is_cfr(stream) -> bool:
    avg, base = getattr(stream, "average_rate", None), getattr(stream, "base_rate", None)
    if not avg or not base or float(avg) <= 0 or float(base) <= 0:
        return True  # nothing says otherwise
    return abs(float(avg) - float(base)) <= _CFR_TOLERANCE * float(base)


def _tail_end(container, stream, duration_hint: float | None) -> float | None:
    """Media time just after the last packet of ``stream`` (demux only, from near the end)."""
    tb = stream.time_base
    start = stream.start_time or 0
    try:
        if duration_hint and duration_hint > _TAIL_SECONDS:
            target = start + int((duration_hint - _TAIL_SECONDS) / tb)
            container.seek(target, stream=stream, backward=True, any_frame=False)
        end = None
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            stop = packet.pts + (packet.duration or 0)
            end = stop if end is None else max(end, stop)
        return None if end is None else float((end - start) * tb)
    except Exception:  # noqa: BLE001 - a failed scan only means we fall back to the header
        return None


def probe(path: str | os.PathLike, rotation: bool = False, audio_stream: int = 0) -> MediaInfo:
    """Read the metadata of ``path`` without decoding it.

    ``rotation=True`` also reads the display rotation, which costs decoding the first
    frame (for 720p H.264 as much as the rest of the probe: ``benchmarks/README.md``):
    without it ``MediaInfo.rotation`` is None ("not read") and width and height
    are the picture as stored. ``VideoReader`` always knows the rotation.
    ``audio_stream``: which audio stream the audio fields describe (0-based among the
    audio streams; the first by default, which is not always the one the readers use:
    ``model_core.media.audio.choose_audio_stream``).

    Raises
    ------
    MediaError
        If the file is missing, empty, not media, has no audio or video stream, or is an
        mp4/mov whose index was lost (the usual truncated download).
    """
    container = open_container(path)
    with container:
        info = describe(container, path, audio_stream=audio_stream)
        if info.has_video and rotation:
            info = with_rotation(info, _display_rotation(container, video_streams(container)[0]))
        return info


def display_rotation(path: str | os.PathLike) -> int:
    """The rotation of ``path``'s video (see :attr:`MediaInfo.rotation`), by decoding its
    first frame with PyAV (0 without video). ``VideoReader`` calls it when its decoder is
    OpenCV; a PyAV decoder reads the same matrix from the frames it decodes anyway."""
    container = open_container(path)
    with container:
        vids = video_streams(container)
        return _display_rotation(container, vids[0]) if vids else 0


def with_rotation(info: MediaInfo, rotation: int) -> MediaInfo:
    """``info`` with its rotation set (and width, height swapped for a quarter turn)."""
    import dataclasses

    rotation = normal_rotation(rotation)
    w, h = (info.height, info.width) if rotation in (90, 270) else (info.width, info.height)
    return dataclasses.replace(info, rotation=rotation, width=w, height=h)


def describe(container, path: str | os.PathLike, scan_tail: bool = True, audio_stream: int = 0) -> MediaInfo:
    """:func:`probe` on a container already open (the readers open each file once).

    ``scan_tail=False`` leaves the container where it is (no demuxing): the frame count
    and duration of a file without a frame count in its header are then estimates.
    """
    p = Path(path)
    vids = video_streams(container)
    auds = list(container.streams.audio)
    if not vids and not auds:
        raise MediaError(p, "no audio or video stream")
    cdur = container.duration / 1e6 if container.duration else None
    if auds and not 0 <= audio_stream < len(auds):
        raise MediaError(p, f"no audio stream {audio_stream} (the file has {len(auds)}: "
                            f"0..{len(auds) - 1})")
    audio = auds[audio_stream] if auds else None
    n_audio, chosen = len(auds), (audio_stream if auds else None)
    a_dur = 0.0
    a_start = 0.0
    if audio is not None:
        a_dur = _seconds(audio.duration, audio.time_base) or cdur or 0.0
        a_start = _seconds(audio.start_time, audio.time_base) or 0.0
    if not vids:
        return MediaInfo(
            path=str(p), duration=a_dur, fps=0.0, frame_count=0, width=0, height=0,
            has_video=False, has_audio=True, audio_rate=_sample_rate(audio),
            audio_channels=_channels(audio), video_codec=None, audio_codec=_codec_name(audio),
            constant_frame_rate=True, audio_duration=a_dur, start_time=a_start,
            frame_count_exact=False, container=container.format.name, audio_streams=n_audio,
            audio_stream=chosen)
    video = vids[0]
    fps = _rate(video)
    cfr = _is_cfr(video)
    v_start = _seconds(video.start_time, video.time_base) or 0.0
    v_dur = _seconds(video.duration, video.time_base)
    exact = False
    if video.frames and video.frames > 0:
        frame_count, exact = int(video.frames), True
        if not cfr and scan_tail:  # the header's duration may stop at the last decode timestamp
            v_dur = _tail_end(container, video, v_dur or cdur) or v_dur
        if v_dur is None and fps > 0:
            v_dur = frame_count / fps
    else:
        end = _tail_end(container, video, v_dur or cdur) if scan_tail else None
        if end is not None and fps > 0:
            v_dur = end
            # exact on constant-rate streams; an estimate (average rate) otherwise
            frame_count, exact = max(1, int(round(end * fps))), cfr
        else:
            v_dur = v_dur or cdur or 0.0
            frame_count = int(round(v_dur * fps)) if fps > 0 else 0
    if cfr and fps > 0 and frame_count > 0:
        v_dur = frame_count / fps
    cc = video.codec_context  # None for a codec this FFmpeg doesn't know
    return MediaInfo(
        path=str(p), duration=float(v_dur or 0.0), fps=fps, frame_count=frame_count,
        width=int(getattr(cc, "width", 0) or 0), height=int(getattr(cc, "height", 0) or 0), has_video=True,
        has_audio=audio is not None,
        audio_rate=_sample_rate(audio) if audio is not None else 0,
        audio_channels=_channels(audio) if audio is not None else 0,
        video_codec=_codec_name(video), audio_codec=_codec_name(audio) if audio is not None else None,
        constant_frame_rate=cfr, audio_duration=a_dur, start_time=v_start,
        frame_count_exact=exact, container=container.format.name, audio_streams=n_audio,
        audio_stream=chosen)


def _channels(stream) -> int:
    cc = stream.codec_context
    try:
        return int(cc.layout.nb_channels)
    except AttributeError:
        return int(getattr(cc, "channels", 0) or 0)


def _sample_rate(stream) -> int:
    return int(getattr(stream.codec_context, "sample_rate", 0) or 0)
