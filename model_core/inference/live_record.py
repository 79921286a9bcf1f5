"""Live › Record: the live session to a video file (picture + sound) and its maps beside it.

Qt-free. A recorder thread writes, at the camera's rate, the newest frame that has maps
(each output frame ``k`` at ``k / fps`` s: a constant-rate file any player and the viewer
open) with the sound captured meanwhile, through the project's one encoder
(:class:`~model_core.media.writer.Mp4Writer`), and keeps each head's map of that frame.

The sound is **every block the microphone delivered**, taken from a tap on the live ring
buffer (:class:`AudioTap`), never read back from the ring at the video's pace: the ring
only holds what was captured so far, and reading ahead of a capture thread that is a few
ms late (any load) read zeros in place of samples that arrived just after, while the
device lost none. What cannot be kept is counted, never hidden: a stretch the recorder could not
drain in time (:data:`MAX_QUEUED_S`), the time without a microphone, a change of
microphone. Those stretches are written as silence, so picture and sound stay in step,
and listed in the recording's sidecar (:func:`sidecar_path`) and
:meth:`LiveRecorder.summary` (the live HUD and the status bar).

On :meth:`LiveRecorder.close` the maps are written as SPEC 9 maps files beside the video,
one per head (:func:`maps_path`), with ``p_avc``; the viewer opening the video finds them
and shows them without recomputing. The video is written to a temporary name and renamed
when complete; the outputs are checked and locked with ``model_core.outputs`` like every
other writer.
"""
from __future__ import annotations

import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

import numpy as np

from model_core.inference.audio_window import SAMPLE_RATE

#: Seconds of captured sound the tap queues for a recorder that is late; older blocks are
#: dropped (and counted as missing) beyond this, so memory stays bounded.
MAX_QUEUED_S = 30.0
#: On close, how long to wait for the capture to deliver the sound of the last frame.
TAIL_WAIT_S = 0.5


def maps_path(video: str | os.PathLike, model_name: str) -> Path:
    """``REC.mp4`` -> ``REC.NAME.maps.npz`` (the maps of head ``NAME`` in that recording)."""
    v = Path(video)
    return v.with_name(f"{v.stem}.{model_name}.maps.npz")


def sidecar_path(video: str | os.PathLike) -> Path:
    """``REC.mp4`` -> ``REC.recording.json``: what was recorded, and what sound is missing."""
    v = Path(video)
    return v.with_name(f"{v.stem}.recording.json")


class AudioTap:
    """Every block a :class:`~model_core.inference.live_sources.RingBuffer` receives, with
    its position in the stream since the tap was added, queued for the recorder thread.

    Called in the capture thread (under the ring's lock): it only appends. When more than
    ``max_seconds`` are queued the oldest blocks are dropped; the recorder sees the jump
    in positions and counts it as missing sound.
    """

    def __init__(self, rate: int, max_seconds: float | None = None):
        self.rate = int(rate)
        self.max_samples = int((MAX_QUEUED_S if max_seconds is None else max_seconds) * self.rate)
        self._q: deque = deque()
        self._queued = 0
        self.received = 0          # samples seen since the tap was added
        self._lock = threading.Lock()

    def __call__(self, block: np.ndarray) -> None:
        with self._lock:
            self._q.append((self.received, block))
            self.received += len(block)
            self._queued += len(block)
            while self._queued > self.max_samples and len(self._q) > 1:
                _pos, old = self._q.popleft()
                self._queued -= len(old)

    def take(self) -> list[tuple[int, np.ndarray]]:
        """The queued ``(position, block)`` pairs, oldest first; empties the queue."""
        with self._lock:
            out = list(self._q)
            self._q.clear()
            self._queued = 0
        return out


class SoundTrack:
    """The recording's sound as it is written: real blocks at their stream positions,
    silence (counted, with why) wherever there is none. ``write(samples)`` is the encoder's
    (``Mp4Writer.sound``)."""

    def __init__(self, write, rate: int):
        self.write = write
        self.rate = int(rate)
        self.written = 0            # samples in the track so far
        self.missing = 0            # of which silence put in for sound not captured
        self.gaps: list[dict] = []  # {"at": s, "seconds": s, "why": ...}, merged when adjacent

    def feed(self, at: int, block: np.ndarray) -> None:
        """Captured ``block`` that belongs at track sample ``at``."""
        if at > self.written:
            self.silence(at - self.written, "not drained in time: dropped")
        elif at < self.written:      # never expected; keep the track's timing
            block = block[self.written - at:]
        if len(block):
            self.write(block)
            self.written += len(block)

    def silence(self, n: int, why: str) -> None:
        """``n`` samples of silence for sound that is missing, and why."""
        n = int(n)
        if n <= 0:
            return
        self.write(np.zeros(n, np.float32))
        last = self.gaps[-1] if self.gaps else None
        at = self.written / self.rate
        if last is not None and last["why"] == why and abs(last["at"] + last["seconds"] - at) < 1e-6:
            last["seconds"] = round(last["seconds"] + n / self.rate, 6)
        else:
            self.gaps.append({"at": round(at, 6), "seconds": round(n / self.rate, 6), "why": why})
        self.written += n
        self.missing += n


def _resample(block: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Linear resampling of one block (only after a change to a microphone of another rate)."""
    if src == dst or not len(block):
        return block
    n = max(1, int(round(len(block) * dst / src)))
    return np.interp(np.arange(n) * (src / dst), np.arange(len(block)), block).astype(np.float32)


class LiveRecorder:
    """See the module docstring.

    Parameters
    ----------
    path : the ``.mp4`` to write.
    heads : {model key: (model name, head)} of the maps to keep.
    fps : output frame rate (the camera's).
    audio : the live audio source (``LiveAudio``) whose sound is recorded, or a callable
        returning the current one (the live loop replaces a microphone that fails by
        silence, and back: the recording follows), or None for no sound track.
    inputs : ``{label: paths}`` the session reads (a camera or microphone file), which the
        recording must not overwrite.
    clock : seconds, monotonic (``time.monotonic``): frame ``k`` is written ``k / fps``
        after frame 0, which is written when the first result arrives (a test moves a clock
        by hand).
    """

    def __init__(self, path: str | os.PathLike, heads: dict, fps: float, audio=None, inputs: dict | None = None,
                 clock: Callable[[], float] = time.monotonic):
        from model_core.errors import InputError
        from model_core.outputs.checks import check_output
        from model_core.outputs.lock import OutputLock

        self.path = check_output(path, "recording", inputs, kind="video")
        if self.path.suffix.lower() != ".mp4":
            raise InputError(path, "a recording must be an .mp4 file")
        self.heads = dict(heads)
        for key, (name, _head) in self.heads.items():
            check_output(maps_path(self.path, name), "recording maps", inputs, kind="maps")
        check_output(sidecar_path(self.path), "recording sidecar", inputs)
        self.lock = OutputLock(self.path, "recording").acquire()
        self.fps = float(fps) if fps and fps > 0 else 25.0
        self.clock = clock
        self._source = audio if callable(audio) else (lambda a=audio: a)
        self.has_sound = audio is not None
        self.frames = 0
        self.error: str | None = None
        self.track: SoundTrack | None = None
        self.sources: list[str] = []      # the audio sources heard, in order
        self.overruns = 0                 # device overruns while recording (samples lost there)
        self._latest = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._maps: dict[str, list] = {k: [] for k in self.heads}
        self._p: dict[str, list] = {k: [] for k in self.heads}
        self._tmp = self.path.with_name(f".{self.path.name}.part.mp4")
        self._followed = False            # a source was looked for (the sound has started)
        # the source tapped now (a live audio source, read duck-typed), its tap, where its stream starts
        self._src: Any = None
        self._tap: AudioTap | None = None
        self._origin = 0
        self._overruns0 = 0
        self._thread = threading.Thread(target=self._run, name="avsol-live-recorder", daemon=True)
        self._thread.start()

    def add(self, result) -> None:
        """The newest :class:`~model_core.inference.live_loop.LiveMaps` (any thread; never blocks)."""
        with self._cond:
            self._latest = result
            self._cond.notify_all()

    # -- sound ----------------------------------------------------------------------------
    @property
    def missing_samples(self) -> int:
        t = self.track
        return t.missing if t is not None else 0

    def summary(self) -> str:
        """One line for the HUD and the status bar: how much of the sound is missing, and why."""
        t = self.track
        if not self.has_sound:
            return "no sound track"
        if t is None or not t.written:
            return "sound: nothing yet"
        if not t.missing:
            text = f"sound complete ({t.written / t.rate:.1f} s)"
        else:
            whys = sorted({g["why"] for g in t.gaps})
            text = (f"sound missing {t.missing / t.rate:.2f} s of {t.written / t.rate:.1f} s "
                    f"in {len(t.gaps)} gap(s): {'; '.join(whys)}")
        if self.overruns:
            text += f"; {self.overruns} device overrun(s)"
        return text

    @property
    def _sound_track(self) -> SoundTrack:
        """The sound being written: the recorder thread's sound steps run only when there is one."""
        if self.track is None:
            raise RuntimeError("this recording has no sound track")
        return self.track

    def _video_samples(self) -> int:
        return int(round(self.frames / self.fps * self._sound_track.rate))

    def _detach(self) -> None:
        src, tap = self._src, self._tap
        if tap is not None:
            src.ring.remove_tap(tap)
            self._drain()
            self.overruns += max(0, int(getattr(src, "overruns", 0)) - self._overruns0)
        self._src = self._tap = None

    def _follow_source(self) -> None:
        """Tap the current audio source; after a change, silence (counted) up to the picture."""
        src = self._source()
        if self._followed and src is self._src:
            return
        self._detach()
        if self._followed:
            self._sound_track.silence(self._video_samples() - self._sound_track.written, "microphone changed")
        self._followed = True
        self._src = src
        if src is None:
            return
        self.sources.append(str(getattr(src, "name", "")))
        if not getattr(src, "silent", False) and hasattr(src, "ring"):
            self._tap = AudioTap(src.rate)
            self._origin = self._sound_track.written
            self._overruns0 = int(getattr(src, "overruns", 0))
            src.ring.add_tap(self._tap)

    def _drain(self) -> None:
        tap = self._tap
        if tap is None:
            return
        track = self._sound_track
        for pos, block in tap.take():
            at = self._origin + int(round(pos * track.rate / tap.rate))
            if tap.rate != track.rate and abs(at - track.written) <= 2:
                at = track.written        # rounding of blocks resampled one by one, not a gap
            track.feed(at, _resample(block, tap.rate, track.rate))

    def _sound(self) -> None:
        """Everything captured since the last frame; silence while there is no microphone."""
        self._follow_source()
        if self._tap is not None:
            self._drain()
        else:
            self._sound_track.silence(self._video_samples() - self._sound_track.written, "no microphone")

    # -- the recorder thread --------------------------------------------------------------
    def _run(self) -> None:
        from model_core.media.writer import Mp4Writer
        from model_core.input_protection import OWN_VIDEO_METADATA

        with self._cond:
            while self._latest is None and not self._stop.is_set():
                self._cond.wait(0.1)
            first = self._latest
        if first is None:
            return
        h, w = first.frame.image.shape[:2]
        size = (w - w % 2, h - h % 2)
        src = self._source() if self.has_sound else None
        rate = int(getattr(src, "rate", SAMPLE_RATE)) if src is not None else SAMPLE_RATE
        try:
            writer = Mp4Writer(self._tmp, size, self.fps, rate if self.has_sound else None,
                               metadata=OWN_VIDEO_METADATA)      # ours: a later recording may replace it
        except Exception as exc:  # noqa: BLE001
            self.error = f"{self.path}: cannot write the recording ({exc})"
            return
        if self.has_sound:
            self.track = SoundTrack(writer.sound, rate)
            self._follow_source()         # the sound starts with the first picture
        start = self.clock()
        try:
            while not self._stop.is_set():
                due = start + self.frames / self.fps
                wait = due - self.clock()
                if wait > 0:    # not due yet: wait, then ask the clock again
                    self._stop.wait(wait)
                    continue
                with self._cond:
                    r = self._latest
                img = r.frame.image[:size[1], :size[0]]
                writer.picture(np.ascontiguousarray(img))
                for key in self.heads:
                    e = r.entries.get(key)
                    if e is not None:
                        self._maps[key].append(e.map)
                        self._p[key].append(e.p_avc)
                    else:  # no map for this head yet: an empty map keeps the rows aligned
                        self._maps[key].append(None)
                        self._p[key].append(0.0)
                self.frames += 1
                if self.track is not None:
                    self._sound()
            if self.track is not None:
                self._finish_sound()
            writer.close()
        except Exception as exc:  # noqa: BLE001 - the recording failed: say why, keep the app
            self.error = f"{self.path}: recording failed ({exc})"
            try:
                writer.close(complete=False)
            except Exception:  # noqa: BLE001
                pass
        finally:
            if self._tap is not None:
                self._src.ring.remove_tap(self._tap)

    def _finish_sound(self) -> None:
        """The sound of the last frame: the capture delivers it a block later, at most
        :data:`TAIL_WAIT_S`; what still lacks then is silence (counted)."""
        end = time.monotonic() + TAIL_WAIT_S
        while True:
            self._sound()
            if self._sound_track.written >= self._video_samples() or time.monotonic() >= end or self._tap is None:
                break
            time.sleep(0.01)
        self._detach()
        self._sound_track.silence(self._video_samples() - self._sound_track.written, "not captured before the end")

    def sidecar(self) -> dict:
        """What the sidecar file says: the picture, the sound, and every gap in it."""
        t = self.track
        audio = None
        if t is not None:
            audio = {"source": " then ".join(self.sources) or "none", "sample_rate": t.rate,
                     "samples": t.written, "seconds": round(t.written / t.rate, 6),
                     "missing_samples": t.missing, "missing_seconds": round(t.missing / t.rate, 6),
                     "gaps": t.gaps, "device_overruns": self.overruns, "summary": self.summary()}
        return {"video": self.path.name, "frames": self.frames, "fps": self.fps,
                "seconds": round(self.frames / self.fps, 6), "audio": audio}

    def close(self) -> list[Path]:
        """Stop, finish the file and write the maps and the sidecar; returns the files written."""
        from model_core.atomic import write_json
        from model_core.maps_file import save_maps

        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(30)
        out: list[Path] = []
        try:
            if self.error is None and self.frames and self._tmp.exists():
                os.replace(self._tmp, self.path)
                out.append(self.path)
                times = np.arange(self.frames, dtype=np.float64) / self.fps
                for key, (name, head) in self.heads.items():
                    rows = self._maps[key][:self.frames]
                    shape = next((m.shape for m in rows if m is not None), None)
                    if shape is None:
                        continue
                    maps = np.stack([m if m is not None else np.zeros(shape, np.float32) for m in rows])
                    p = maps_path(self.path, name)
                    save_maps(p, maps.astype(np.float32), [self.path.name] * self.frames, times, head=head,
                              extra={"p_avc": np.asarray(self._p[key][:self.frames], np.float32)})
                    out.append(p)
                side = sidecar_path(self.path)
                write_json(side, self.sidecar())
                out.append(side)
            elif self._tmp.exists():
                self._tmp.unlink()
        finally:
            self.lock.release()
        return out
