"""Where the maps' audio comes from: the video's own track, silence, noise or another file.

Part of the map engine (:mod:`model_core.inference.engine`); Qt-free and torch-free.
SPEC 7 asks the viewer to let a user swap the sound a head hears, to see at once whether
its map follows the sound or only the picture (the audio-dependence check of SPEC 5). The
engine therefore takes its audio from a pluggable :class:`AudioSource` (one method: the
1 s window centred on a time), described by an immutable :class:`AudioSpec` that the
engine opens in the thread that reads it. ``avsol eval --negatives`` uses the same kinds
(silence, noise at the RMS of the own window, another clip's track): the viewer's noise
and eval's are one source, :class:`WindowNoiseAudio`, so the viewer shows the map eval
scores; a live microphone's ring buffer is one more source
(:class:`model_core.inference.live_sources.LiveAudio`).

Which window a frame uses is :mod:`model_core.inference.audio_window`'s rule; the windows
are read with ``model_core.media.audio.AudioReader`` (zero outside the track), so they are
the samples the CLI uses.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model_core.inference.audio_window import SAMPLE_RATE, WINDOW_SECONDS, window_key

#: RMS of the noise when the clip itself is silent (a quiet but clearly audible hiss).
NOISE_FLOOR_RMS = 0.05
KINDS = ("own", "silence", "noise", "file", "offscreen")
LABELS = {"own": "Own audio", "silence": "Silence", "noise": "White noise (window RMS)",
          "file": "Other file", "offscreen": "Off-screen sound"}


class AudioSource:
    """1 s windows of 16 kHz mono float32 audio, by centre time. Used by one thread."""

    key = "base"
    label = "audio"
    #: True when every window is silence (the map was computed on silence: flag it)
    silent = False
    #: seconds of sound a window can be placed in (None: endless, as silence and noise)
    duration: float | None = None

    def window(self, centre: float, seconds: float = WINDOW_SECONDS) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def whole(self) -> np.ndarray:
        """Every sample (for tiling a track shorter than a window); sources with a
        ``duration`` override it."""
        raise NotImplementedError(f"{type(self).__name__} has no end to tile from")

    def window_id(self, centre: float, seconds: float = WINDOW_SECONDS, placed: bool = False) -> int:
        """The identity (first sample) of the window :meth:`read_window` gives: frames
        whose windows are shifted or tiled to the same samples share one key, so the window
        is read and embedded once (a tiled window starts at 0)."""
        if not placed or self.duration is None:
            return window_key(centre, seconds)
        from model_core.models.protocol import place_window

        start, tile = place_window(centre, seconds, self.duration)
        return 0 if tile else window_key(start + seconds / 2.0, seconds)

    def read_window(self, centre: float, seconds: float = WINDOW_SECONDS, placed: bool = False) -> np.ndarray:
        """The ``seconds`` window for a frame window centred on ``centre``: zero outside
        the track (``placed`` False, our heads' rule), or placed inside the track by
        :func:`~model_core.models.protocol.place_window` (shifted at the ends, tiled when
        the track is shorter than the window: the published families' rule; see
        :mod:`model_core.inference.audio_window`)."""
        if not placed or self.duration is None:
            return self.window(centre, seconds)
        from model_core.models.protocol import cut_window, place_window

        start, tile = place_window(centre, seconds, self.duration)
        if tile:
            return cut_window(self.whole(), centre, seconds, SAMPLE_RATE)
        return self.window(start + seconds / 2.0, seconds)

    def close(self) -> None:
        """Release files."""


class SilenceAudio(AudioSource):
    key, label, silent = "silence", "silence", True

    def window(self, centre: float, seconds: float = WINDOW_SECONDS) -> np.ndarray:
        return np.zeros(int(round(seconds * SAMPLE_RATE)), np.float32)


class NoiseAudio(AudioSource):
    """White noise at a given RMS, the same samples for the same window (cacheable)."""

    label = "noise"

    def __init__(self, rms: float, seed: int = 0):
        self.rms = float(rms)
        self.seed = int(seed)
        self.key = f"noise:{self.rms:.6g}:{self.seed}"

    def window(self, centre: float, seconds: float = WINDOW_SECONDS) -> np.ndarray:
        n = int(round(seconds * SAMPLE_RATE))
        rng = np.random.default_rng([self.seed, window_key(centre, seconds) & 0x7FFFFFFF])
        return (rng.standard_normal(n) * self.rms).astype(np.float32)


class ArrayAudio(AudioSource):
    """Windows cut from samples in memory (tests, a decoded track, a microphone buffer)."""

    def __init__(self, samples: np.ndarray, key: str = "array", label: str = "array"):
        self.samples = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
        self.key, self.label = key, label
        self.silent = not bool(np.any(self.samples))
        self.duration = len(self.samples) / SAMPLE_RATE

    def whole(self) -> np.ndarray:
        return self.samples

    def window(self, centre: float, seconds: float = WINDOW_SECONDS) -> np.ndarray:
        first = window_key(centre, seconds)
        n = int(round(seconds * SAMPLE_RATE))
        out = np.zeros(n, np.float32)
        lo, hi = max(first, 0), min(first + n, len(self.samples))
        if hi > lo:
            out[lo - first:hi - first] = self.samples[lo:hi]
        return out


class FileAudio(AudioSource):
    """A media file's audio track (a file without one reads as silence, ``silent``).

    The track is ``model_core.media.audio.choose_audio_stream``'s: ``stream`` if given,
    else the first stream that is not silent; ``note`` names it when the file has several.
    """

    def __init__(self, path: str | os.PathLike, key: str, label: str, stream: int | None = None):
        from model_core.media.audio import AudioReader

        self.reader = AudioReader(path, stream=stream)
        self.key, self.label = key, label
        self.silent = not self.reader.has_audio
        self.note = self.reader.choice.describe()
        # a file without sound reads as silence everywhere: nothing to place a window in
        self.duration = float(self.reader.duration) if self.reader.has_audio else None

    def whole(self) -> np.ndarray:
        return self.reader.read(0.0, self.reader.duration)

    def window(self, centre: float, seconds: float = WINDOW_SECONDS) -> np.ndarray:
        return self.reader.window(centre, seconds)

    def close(self) -> None:
        self.reader.close()


class WindowNoiseAudio(AudioSource):
    """White noise for the negative-audio test (SPEC 5) and the viewer's noise: at the RMS
    of the own track's window heard by the same frame (``level="rms"``: the same window,
    placed as the model places it), or of unit variance (``level="unit"``, Juanola et al.'s
    setting, so numbers compare). Same samples for the same window centre and seed.
    ``stream``: the own track's audio stream (None: the first that is not silent)."""

    label = "noise"

    def __init__(self, video_path: str | os.PathLike, level: str = "rms", seed: int = 0,
                 stream: int | None = None):
        if level not in ("rms", "unit"):
            raise ValueError(f"noise level must be rms or unit, got {level!r}")
        self.level, self.seed, self.stream = level, int(seed), stream
        self.key = f"noise-{level}:{self.seed}" + (f":{stream}" if stream is not None else "")
        self._path = video_path
        self._own: FileAudio | None = None   # opened when first read (in the reading thread)

    def window(self, centre: float, seconds: float = WINDOW_SECONDS) -> np.ndarray:
        return self.read_window(centre, seconds)

    def read_window(self, centre: float, seconds: float = WINDOW_SECONDS, placed: bool = False) -> np.ndarray:
        """The noise for the frame window centred on ``centre``, at the RMS of the own
        track's window that frame hears (``placed`` as :meth:`AudioSource.read_window`)."""
        own = None
        if self.level == "rms":
            if self._own is None:
                self._own = FileAudio(self._path, "own", "own audio", self.stream)
            own = self._own.read_window(centre, seconds, placed)
        return self.from_own(own, centre, seconds)

    def from_own(self, own: np.ndarray | None, centre: float, seconds: float = WINDOW_SECONDS) -> np.ndarray:
        """:meth:`window` given the own track's window at ``centre`` (the video pipeline has
        just read it: no second decode of the track)."""
        n = int(round(seconds * SAMPLE_RATE))
        rms = 1.0
        if self.level == "rms":
            x = np.asarray(own, np.float32)
            rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0
            rms = rms if rms > 1e-6 else NOISE_FLOOR_RMS
        rng = np.random.default_rng([self.seed, window_key(centre, seconds) & 0x7FFFFFFF])
        return (rng.standard_normal(n) * rms).astype(np.float32)

    def close(self) -> None:
        if self._own is not None:
            self._own.close()


class PickedAudio(AudioSource):
    """Off-screen sound (SPEC 5): the window of frame window ``k`` is the 1 s window of
    another file centred on a chosen time, ``picks[k] = (path, centre)``; windows without a
    pick read as silence. One reader per other file, opened when first needed."""

    label = "off-screen sound"
    #: the video pipeline reads these windows only when their embedding is not cached
    #: already (in the model's thread: an off-screen window is often another video's own
    #: window, embedded before)
    lazy = True

    def __init__(self, picks: dict[int, tuple[str, float]], key: str = "offscreen"):
        self.picks = {int(k): (str(p), float(c)) for k, (p, c) in picks.items()}
        self.key = key
        self._readers: dict[str, FileAudio] = {}

    def window(self, centre: float, seconds: float = WINDOW_SECONDS) -> np.ndarray:
        pick = self.picks.get(window_key(centre, seconds))
        if pick is None:
            return np.zeros(int(round(seconds * SAMPLE_RATE)), np.float32)
        return self._reader(pick[0]).window(pick[1], seconds)

    def read_window(self, centre: float, seconds: float = WINDOW_SECONDS, placed: bool = False) -> np.ndarray:
        """The picked file's window at its pick, placed inside THAT file (``placed``)."""
        pick = self.picks.get(window_key(centre, WINDOW_SECONDS))
        if pick is None:
            return np.zeros(int(round(seconds * SAMPLE_RATE)), np.float32)
        return self._reader(pick[0]).read_window(pick[1], seconds, placed)

    def _reader(self, path: str) -> "FileAudio":
        if path not in self._readers:
            self._readers[path] = FileAudio(path, "offscreen", self.label)
        return self._readers[path]

    def ident(self, key: int, seconds: float = WINDOW_SECONDS) -> tuple[str, int]:
        """Embedding-cache identity of the ``seconds`` window frame window ``key`` (its 1 s
        key) hears: the other file's own window (``"own|PATH"``, the first sample of the
        window centred on the pick), so an eval run embeds it once. The caller adds the
        window rule to the audio key (``audio_window.group_audio_key``)."""
        pick = self.picks.get(int(key))
        if pick is None:
            return ("silence", 0)
        return (f"own|{pick[0]}", window_key(pick[1], seconds))

    def close(self) -> None:
        for r in self._readers.values():
            r.close()
        self._readers.clear()


@dataclass(frozen=True)
class AudioSpec:
    """What the maps should hear, described on the GUI side and opened by the map worker.

    ``kind`` is ``own`` (the video's track), ``silence``, ``noise`` (white noise at the
    RMS of each own window: :class:`WindowNoiseAudio`, eval's negative) or ``file`` (another file's track, same times; silence
    past its end) or ``offscreen`` (the 1 s window of another file centred on ``at``, for
    every frame: the off-screen negative of SPEC 5).
    """

    kind: str = "own"
    path: str | None = None
    at: float = 0.0
    #: ``own``: which audio stream of the video (``--audio-stream N``); None: the first
    #: that is not silent (``model_core.media.audio.choose_audio_stream``)
    stream: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown audio kind {self.kind!r}")
        if self.kind in ("file", "offscreen") and not self.path:
            raise ValueError(f"audio kind {self.kind!r} needs a path")

    @property
    def key(self) -> str:
        """Cache identity (with the video's key it names the maps' audio)."""
        if self.kind == "offscreen":
            return f"offscreen:{self.path}@{self.at:.3f}"
        if self.kind == "own" and self.stream is not None:
            return f"own:{self.stream}"
        return f"file:{self.path}" if self.kind == "file" else self.kind

    @property
    def _file(self) -> str:
        """The other file of a ``file`` or ``offscreen`` spec (``__post_init__`` requires it)."""
        if not self.path:
            raise ValueError(f"audio kind {self.kind!r} needs a path")
        return self.path

    @property
    def label(self) -> str:
        if self.kind == "offscreen":
            return f"off-screen: {Path(self._file).name} at {self.at:.1f} s"
        if self.kind == "file":
            return f"audio of {Path(self._file).name}"
        return LABELS[self.kind].lower()

    def open(self, video_path: str | os.PathLike) -> AudioSource:
        """The source for ``video_path`` (in the thread that will read it).

        Raises ``model_core.errors.MediaError`` if the other file can't be read.
        """
        if self.kind == "silence":
            return SilenceAudio()
        if self.kind == "file":
            return FileAudio(self._file, self.key, self.label)
        if self.kind == "offscreen":
            return _FixedWindowAudio(self.path, self.at, self.key, self.label)
        if self.kind == "noise":   # eval's noise (its default level and seed): one rule
            return WindowNoiseAudio(video_path, "rms", 0, self.stream)
        return FileAudio(video_path, self.key, "own audio", self.stream)


class _FixedWindowAudio(FileAudio):
    """The same 1 s window of a file (centred on ``at``) for every frame."""

    def __init__(self, path, at: float, key: str, label: str):
        super().__init__(path, key, label)
        self.at = float(at)

    def window(self, centre: float, seconds: float = WINDOW_SECONDS) -> np.ndarray:
        return self.reader.window(self.at, seconds)

    def read_window(self, centre: float, seconds: float = WINDOW_SECONDS, placed: bool = False) -> np.ndarray:
        return super().read_window(self.at, seconds, placed)
