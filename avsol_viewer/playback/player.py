"""Playback: one media time that every view follows (ephyviewer's ``time_changed``).

A ~60 Hz GUI timer reads the clock (audio when it plays, else wall; manual in tests) and
announces the time and, when it crosses into another frame, the frame index that is due.
The display then shows the newest decoded frame at or before that index; frames the
decoder could not deliver in time are dropped, never queued (see ``controller``).
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from avsol_viewer.playback.clock import Clock, WallClock

SPEEDS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
TICK_MS = 16


class Player(QObject):
    """Play/pause/seek/step/speed/loop over a :class:`~avsol_viewer.core.session.Timeline`.

    Parameters
    ----------
    autotick : run the GUI timer while playing (tests drive :meth:`tick` by hand).
    """

    time_changed = Signal(float)
    index_changed = Signal(int)
    playing_changed = Signal(bool)
    speed_changed = Signal(float)
    loop_changed = Signal(bool)

    def __init__(self, parent=None, autotick: bool = True):
        super().__init__(parent)
        self.clock: Clock = WallClock()
        self.timeline = None
        self.speed = 1.0
        self.loop = False
        self._time = 0.0
        self._index = -1
        self.autotick = autotick
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.tick)

    # -- state --------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self.clock.playing

    @property
    def time(self) -> float:
        return self._time

    @property
    def index(self) -> int:
        return max(self._index, 0)

    def set_timeline(self, timeline, clock: Clock | None = None) -> None:
        """A new file: paused at 0 on ``clock`` (the old clock is closed)."""
        self.pause()
        self.timeline = timeline
        self.set_clock(clock or WallClock())
        self._index = -1
        self.seek(0.0)

    def set_clock(self, clock: Clock) -> None:
        """Swap the clock (the audio output became ready), keeping time, speed and state."""
        old = self.clock
        playing = old.playing
        t = old.now() if old is not None else 0.0
        if old is not None and old is not clock:
            old.pause()
            old.close()
        self.clock = clock
        clock.set_rate(self.speed)
        clock.seek(t)
        if playing:
            clock.start()

    # -- commands -----------------------------------------------------------------------
    def play(self) -> None:
        if self.timeline is None or self.playing:
            return
        if self._time >= self.timeline.last_time - 1e-9:
            self.seek(0.0)
        self.clock.start()
        if self.autotick:
            self._timer.start()
        self.playing_changed.emit(True)

    def pause(self) -> None:
        if not self.playing:
            return
        self.clock.pause()
        self._timer.stop()
        self._update(self.clock.now())
        self.playing_changed.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def seek(self, t: float) -> None:
        """Go to time ``t`` (clamped to the first..last frame)."""
        if self.timeline is None:
            return
        t = min(max(float(t), 0.0), self.timeline.last_time)
        self.clock.seek(t)
        self._update(t)

    def seek_index(self, index: int) -> None:
        if self.timeline is not None:
            self.seek(self.timeline.time_at(index))

    def step_frames(self, n: int) -> None:
        """Pause and move ``n`` frames (frame-accurate: lands on the frame's own time)."""
        if self.timeline is None:
            return
        self.pause()
        self.seek_index(self.timeline.index_at(self._time) + int(n))

    def step_seconds(self, seconds: float) -> None:
        self.seek(self._time + float(seconds))

    def set_speed(self, speed: float) -> None:
        self.speed = float(speed)
        self.clock.set_rate(self.speed)
        self.speed_changed.emit(self.speed)

    def faster(self, direction: int) -> None:
        """Next speed up (+1) or down (-1) in :data:`SPEEDS`."""
        k = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - self.speed))
        self.set_speed(SPEEDS[min(max(k + direction, 0), len(SPEEDS) - 1)])

    def set_loop(self, loop: bool) -> None:
        self.loop = bool(loop)
        self.loop_changed.emit(self.loop)

    # -- timer --------------------------------------------------------------------------
    def tick(self) -> None:
        """Read the clock; handle the end (loop or stop); announce time and frame."""
        if self.timeline is None:
            return
        t = self.clock.now()
        if t >= self.timeline.duration:
            if self.loop:
                self.seek(0.0)
                return
            self.pause()
            self.seek(self.timeline.last_time)
            return
        self._update(t)

    def _update(self, t: float) -> None:
        self._time = t
        self.time_changed.emit(t)
        i = self.timeline.index_at(t)
        if i != self._index:
            self._index = i
            self.index_changed.emit(i)

    def close(self) -> None:
        self._timer.stop()
        self.clock.pause()
        self.clock.close()
