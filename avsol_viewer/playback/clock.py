"""Playback clocks: one time value (media seconds) that every view follows.

- :class:`AudioClock`: the audio output's position when sound plays (master clock, as in
  ffplay and Friture: the picture follows the sound, never the other way round);
- :class:`WallClock`: a monotonic clock scaled by the speed, when there is no audio output;
- :class:`ManualClock`: stepped by hand, for tests (no timers, no sleeps).

All share the same small interface (``now``, ``start``, ``pause``, ``seek``, ``set_rate``,
``playing``), so the player never knows which one it has.
"""
from __future__ import annotations

import time


class Clock:
    """Base: a media time that advances at ``rate`` while playing."""

    kind = "base"

    def __init__(self) -> None:
        self._playing = False
        self._rate = 1.0

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def rate(self) -> float:
        return self._rate

    def now(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def start(self) -> None:
        self._playing = True

    def pause(self) -> None:
        self._playing = False

    def seek(self, t: float) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def set_rate(self, rate: float) -> None:
        self._rate = float(rate)

    def close(self) -> None:
        """Release what the clock holds (the audio stream)."""


class WallClock(Clock):
    """Media time = anchor + (monotonic now - anchor time) x rate while playing."""

    kind = "wall"

    def __init__(self, timer=time.monotonic) -> None:
        super().__init__()
        self._timer = timer
        self._t0 = 0.0  # media time at the anchor
        self._m0 = timer()

    def now(self) -> float:
        if not self._playing:
            return self._t0
        return self._t0 + (self._timer() - self._m0) * self._rate

    def _anchor(self) -> None:
        self._t0, self._m0 = self.now(), self._timer()

    def start(self) -> None:
        if not self._playing:
            self._m0 = self._timer()
            self._playing = True

    def pause(self) -> None:
        self._anchor()
        self._playing = False

    def seek(self, t: float) -> None:
        self._t0, self._m0 = float(t), self._timer()

    def set_rate(self, rate: float) -> None:
        self._anchor()
        self._rate = float(rate)


class ManualClock(Clock):
    """A clock that moves only when told (:meth:`advance`): deterministic tests."""

    kind = "manual"

    def __init__(self) -> None:
        super().__init__()
        self._t = 0.0

    def now(self) -> float:
        return self._t

    def seek(self, t: float) -> None:
        self._t = float(t)

    def advance(self, seconds: float) -> None:
        """Move on by ``seconds`` of wall time (x rate) if playing."""
        if self._playing:
            self._t += float(seconds) * self._rate


class AudioClock(Clock):
    """The position of an :class:`~avsol_viewer.playback.audio_output.AudioOutput` (master clock)."""

    kind = "audio"

    def __init__(self, output) -> None:
        super().__init__()
        self.output = output

    def now(self) -> float:
        return self.output.position()

    def start(self) -> None:
        self._playing = True
        self.output.play()

    def pause(self) -> None:
        self._playing = False
        self.output.pause()

    def seek(self, t: float) -> None:
        self.output.seek(t)

    def set_rate(self, rate: float) -> None:
        self._rate = float(rate)
        self.output.set_rate(rate)

    def close(self) -> None:
        self.output.close()
