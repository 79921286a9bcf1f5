"""The open file: probe, first frame, timeline and annotations (no Qt, no threads).

:func:`open_session` does all the checking up front, on the caller's thread, so a file that
can't be used raises before anything of the previous file is torn down (the window keeps
its state). Probing and decoding the first frame take milliseconds. The reader it opened
is then handed to the display's decoder thread, which owns it from there.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avsol_viewer.core.annotation_finder import VideoSegments, find_annotations
from model_core.media.frames import frame_index_at


@dataclass(frozen=True)
class Timeline:
    """Frame index <-> media time, as ``VideoReader`` defines them (copied, so the GUI can
    convert without touching the reader that another thread owns)."""

    fps: float
    frame_count: int
    duration: float
    times: tuple[float, ...] | None = None  # variable-rate files only

    def time_at(self, index: int) -> float:
        index = min(max(int(index), 0), max(self.frame_count - 1, 0))
        return self.times[index] if self.times is not None else index / self.fps

    def index_at(self, t: float) -> int:
        return frame_index_at(t, self.fps, self.times, max(self.frame_count, 1))

    @property
    def last_time(self) -> float:
        """Time of the last frame (where playback stops)."""
        return self.time_at(self.frame_count - 1)


def video_key(path: str | os.PathLike) -> str:
    """Identity of a file's content for the caches: resolved path, size, mtime."""
    p = Path(path).resolve()
    st = p.stat()
    return f"{p}|{st.st_size}|{st.st_mtime_ns}"


@dataclass
class Session:
    path: Path
    key: str
    info: object                 # model_core.media.probe.MediaInfo
    timeline: Timeline
    width: int
    height: int
    first_frame: np.ndarray
    reader: object | None        # VideoReader until handed to the decoder thread
    annotations: VideoSegments | None = None
    annotation_note: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def has_audio(self) -> bool:
        return bool(self.info.has_audio)

    def take_reader(self):
        """Hand the reader over (to the decoder thread); the session forgets it."""
        reader, self.reader = self.reader, None
        return reader


def open_session(path: str | os.PathLike) -> Session:
    """Open ``path`` for viewing.

    Raises
    ------
    MediaError
        Missing, unreadable, not media, audio-only, or undecodable (message names the file).
    """
    from model_core.media.frames import VideoReader

    path = Path(path)
    reader = VideoReader(path)  # probes; refuses audio-only and undecodable files
    try:
        first = reader.read_at_index(0)
        n = reader.frame_count
        times = None
        if not reader.info.constant_frame_rate:
            times = tuple(reader.time_at_index(i) for i in range(n))
        timeline = Timeline(fps=reader.fps, frame_count=n, duration=reader.duration, times=times)
        session = Session(path=path, key=video_key(path), info=reader.info, timeline=timeline,
                          width=int(first.shape[1]), height=int(first.shape[0]), first_frame=first,
                          reader=reader)
    except BaseException:
        reader.close()
        raise
    if reader.truncated:
        session.warnings.append(f"{path.name}: damaged or truncated; {n} frames readable")
    if not reader.info.has_audio:
        session.warnings.append(f"{path.name} has no audio track: maps are computed on silence")
    session.annotations, session.annotation_note = find_annotations(path, timeline.duration)
    return session
