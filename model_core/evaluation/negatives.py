"""The negative audios of ``avsol eval --negatives`` (SPEC 5), as map-engine audio sources.

For one video, :func:`negative_sources` gives ``{name: AudioSource}`` for
``localize_many(..., negatives=...)``: ``silence``, ``noise`` (white noise at the RMS of the
item's own 1 s window, or unit variance with ``noise_level="unit"``) and ``offscreen``,
``offscreen#2``, ... (K draws): per item, the 1 s window of a segment from the same folder
whose class is absent from the frame (:class:`OffscreenPicker`). The picks depend only on
the seed, the video's name, the item's frame time and the draw, so they are the same
whatever the sharding across ranks or a ``--resume``; each item row records its pick.
"""
from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from model_core.errors import InputError
from model_core.inference.audio_sources import AudioSource, PickedAudio, SilenceAudio, WindowNoiseAudio
from model_core.inference.audio_window import AUDIO_HOP, window_centre, window_key

NOISE_LEVELS = ("rms", "unit")


@dataclass(frozen=True)
class NegativeOptions:
    """``--negatives`` settings (recorded in the items log header and the report)."""

    noise_level: str = "rms"
    offscreen_draws: int = 1
    seed: int = 0

    def record(self) -> dict:
        return {"kinds": ["silence", "noise", "offscreen"], "noise_level": self.noise_level,
                "offscreen_draws": self.offscreen_draws, "seed": self.seed}


def frame_classes(video, segment) -> set[str]:
    """Classes present in a frame: the video's class and the labels of every box."""
    boxes = list(segment.sounding_boxes) + list(segment.silent)
    return {c for c in [video.category, *(b.label for b in boxes)] if c}


def sound_classes(video, segment) -> set[str]:
    """Classes a segment's sound may hold: the video's class and its sounding boxes' labels."""
    return {c for c in [video.category, *(b.label for b in segment.sounding_boxes)] if c}


#: A window whose samples all stay below this is digital silence, not a sound.
SILENT_PEAK = 1e-4


def has_sound_track(path) -> bool | None:
    """Whether a file has an audio stream; None when it cannot be probed (its decoding
    fails later and names it)."""
    from model_core.media.probe import probe

    try:
        return bool(probe(path).has_audio)
    except InputError:
        return None


def window_is_silent(path, time: float) -> bool | None:
    """Whether the 1 s around ``time`` is digital silence (peak below :data:`SILENT_PEAK`);
    None when it cannot be read."""
    from model_core.media.audio import read_audio

    try:
        x = read_audio(path, max(0.0, time - 0.5), time + 0.5)
    except InputError:
        return None
    return not len(x) or float(np.max(np.abs(x))) < SILENT_PEAK


class OffscreenPicker:
    """Draws, per event item, an event segment of another video of the set whose sound
    classes are all absent from the item's frame (SPEC 5's off-screen negative).

    A video without a sound track is never a candidate (its "sound" would be silence,
    a second silence negative under the off-screen name); :attr:`without_sound`
    names those videos for the report. A drawn window that is digital silence is passed
    over for the next draw of the same generator, so the picks stay a function of the
    seed, the item and the draw. ``has_sound`` / ``is_silent`` are the checks (tests
    pass their own).
    """

    def __init__(self, videos: Sequence, seed: int = 0, source: str | os.PathLike | None = None,
                 has_sound=has_sound_track, is_silent=window_is_silent):
        self.seed = int(seed)
        self.source = source
        self._is_silent = is_silent
        self._silent: dict[tuple[str, float], bool] = {}
        present = [v for v in videos if v.path is not None]
        self.without_sound = sorted({v.name for v in present if has_sound(v.path) is False})
        mute = set(self.without_sound)
        self.candidates = [(v, s) for v in present if v.name not in mute
                           for s in v.segments if s.event]

    def _window_silent(self, v, s) -> bool:
        key = (str(v.path), float(s.frame_time))
        if key not in self._silent:
            self._silent[key] = self._is_silent(v.path, s.frame_time) is True
        return self._silent[key]

    def pick(self, video, segment, draw: int = 0, listen: bool = True):
        """(candidate video, its segment) for ``draw`` of this item; InputError if none fits.
        ``listen`` False skips the silence check (:meth:`check`: no audio read before work)."""
        present = frame_classes(video, segment)
        fit = [(v, s) for v, s in self.candidates
               if v.name != video.name and not (sound_classes(v, s) & present)]
        if not fit:
            raise InputError(self.source, f"--negatives: no event segment of a class absent from the frame of "
                                          f"{video.name} at {segment.frame_time:g} s (classes "
                                          f"{', '.join(sorted(present)) or 'none'}) in the folder"
                                          + self._mute_note() + ": the off-screen negative needs one")
        h = zlib.crc32(f"{video.name}|{segment.frame_time:.6f}|{draw}".encode())
        rng = np.random.default_rng([self.seed, h])
        tried: set[int] = set()
        while len(tried) < len(fit):   # the first draw as ever; further ones only past silence
            i = int(rng.integers(len(fit)))
            if i in tried:
                continue
            tried.add(i)
            if not listen or not self._window_silent(*fit[i]):
                return fit[i]
        raise InputError(self.source, f"--negatives: every event segment of a class absent from the frame of "
                                      f"{video.name} at {segment.frame_time:g} s is digital silence: the "
                                      "off-screen negative needs a sound")

    def _mute_note(self) -> str:
        n = len(self.without_sound)
        return f" with sound ({n} video(s) without a sound track left out)" if n else ""

    def check(self, videos: Sequence) -> None:
        """Raise before any work if some event item has no possible pick (by class and
        sound track; a window's silence is heard when the item is evaluated)."""
        for v in videos:
            for s in v.segments:
                if s.event:
                    self.pick(v, s, listen=False)

    def report_note(self) -> str | None:
        """The report's line naming the videos never used as off-screen sound, or None."""
        if not self.without_sound:
            return None
        names = self.without_sound
        shown = ", ".join(names[:20]) + (f" ... and {len(names) - 20} more" if len(names) > 20 else "")
        return (f"negatives: {len(names)} video(s) without a sound track, never used as off-screen "
                f"sound: {shown}")


def negative_sources(video, picker: OffscreenPicker, options: NegativeOptions,
                     hop: float | None = AUDIO_HOP) -> tuple[dict[str, AudioSource], dict[str, list[dict]]]:
    """The negative sources of one video and, per off-screen draw, the record of each
    item's pick (``{"source": "file.mp4@12.5"}``; None for a background item)."""
    sources: dict[str, AudioSource] = {
        "silence": SilenceAudio(),
        "noise": WindowNoiseAudio(video.path, options.noise_level, options.seed)}
    records: dict[str, list[dict]] = {}
    for d in range(options.offscreen_draws):
        name = "offscreen" if d == 0 else f"offscreen#{d + 1}"
        picks = {}
        rec: list[dict[str, str | None]] = []
        for s in video.segments:
            if not s.event:
                rec.append({"source": None})
                continue
            v, other = picker.pick(video, s, d)
            picks[window_key(window_centre(s.frame_time, hop))] = (str(v.path), window_centre(other.frame_time, hop))
            rec.append({"source": f"{v.name}@{other.frame_time:g}"})
        sources[name] = PickedAudio(picks, key=f"offscreen:{d}")
        records[name] = rec
    return sources, records


__all__ = ["NOISE_LEVELS", "NegativeOptions", "OffscreenPicker", "frame_classes", "has_sound_track",
           "negative_sources", "sound_classes", "window_is_silent"]
