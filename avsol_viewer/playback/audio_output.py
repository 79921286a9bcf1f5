"""Sound out through sounddevice (PortAudio): the playback master clock when it plays.

The stream's callback runs on PortAudio's thread: it only copies the next samples of the
track into the output buffer and advances a position counter (no Qt calls, no locks, no
allocation at normal speed), the habit of Friture and ffplay. The GUI reads
:meth:`AudioOutput.position`: the last callback's position, plus the wall time elapsed
since it, minus the output latency, so the clock is smooth between callbacks.

Speeds other than 1x play the track resampled by linear interpolation (pitch changes with
speed, like a tape); so does a device that refuses the track's 16 kHz rate.

Missing PortAudio (``OSError`` on import), no output device, or a stream that cannot
open all raise :class:`AudioUnavailable` with a sentence for the status bar; the player
then runs on a wall clock and shows "no audio output".
"""
from __future__ import annotations

import time

import numpy as np


class AudioUnavailable(RuntimeError):
    """No usable audio output; ``str(exc)`` is a short reason for the user."""


def _sounddevice():
    try:
        import sounddevice as sd
    except (OSError, ImportError) as exc:
        raise AudioUnavailable(f"PortAudio not available ({exc})") from None
    return sd


def default_output_device() -> dict:
    """The default output device's description, or :class:`AudioUnavailable`."""
    sd = _sounddevice()
    try:
        dev = sd.query_devices(kind="output")
    except Exception as exc:  # noqa: BLE001 - PortAudio reports "no device" variously
        raise AudioUnavailable(f"no audio output device ({exc})") from None
    if not dev or int(dev.get("max_output_channels", 0)) < 1:
        raise AudioUnavailable("no audio output device")
    return dev


class AudioOutput:
    """Plays a float32 mono track; position in seconds of the track.

    Parameters
    ----------
    samples : the track, float32 or int16 mono at ``sample_rate``, or a
        ``playback.audio_loader.StreamedSamples`` (decoded just ahead of the position by
        its own thread: the memory of a few seconds, whatever the track's length).
    sample_rate : its rate (16 kHz from ``model_core.media.audio``).
    stream_factory : builds the output stream from sounddevice's ``OutputStream`` keyword
        arguments (tests pass a fake and call its callback by hand); default
        ``sounddevice.OutputStream``.
    timer : monotonic time source (tests).
    """

    def __init__(self, samples: np.ndarray, sample_rate: int = 16000, stream_factory=None,
                 timer=time.monotonic, blocksize: int = 512):
        if not hasattr(samples, "want"):  # an array; else the loader's StreamedSamples (int16)
            samples = np.asarray(samples)
            samples = np.ascontiguousarray(
                samples if samples.dtype == np.int16 else samples.astype(np.float32, copy=False)).reshape(-1)
        # int16 tracks (the loader's) are scaled in the callback; anything else is float32
        self._track = samples
        self._scale = np.float32(1.0 / 32768.0 if samples.dtype == np.int16 else 1.0)
        self._src_rate = int(sample_rate)
        self._timer = timer
        self._speed = 1.0
        self._playing = False
        self._pending_seek: float | None = None
        # (position in source samples, monotonic time it is heard from, playing) swapped whole
        self._stamp = (0.0, timer(), False)
        self._last = 0.0
        self._ramp = np.arange(4096, dtype=np.float64)
        self.stream = None
        self.device_rate = self._src_rate
        self.latency = 0.0
        self._open(stream_factory, blocksize)

    # -- stream -------------------------------------------------------------------------
    def _open(self, factory, blocksize) -> None:
        if factory is None:
            sd = _sounddevice()
            dev = default_output_device()
            factory = sd.OutputStream
            rates = [self._src_rate, int(dev.get("default_samplerate") or 48000)]
        else:
            rates = [self._src_rate]
        last = None
        for rate in dict.fromkeys(rates):
            try:
                stream = factory(samplerate=rate, channels=1, dtype="float32", blocksize=blocksize,
                                 callback=self._callback, latency="low")
                self.device_rate = int(rate)
                self.latency = float(getattr(stream, "latency", 0.0) or 0.0)
                self.stream = stream
                stream.start()
                return
            except AudioUnavailable:
                raise
            except Exception as exc:  # noqa: BLE001 - PortAudioError and friends
                last = exc
                self.stream = None
        raise AudioUnavailable(f"audio output refused the stream ({last})")

    @property
    def _step(self) -> float:
        """Source samples per output sample."""
        return self._speed * self._src_rate / self.device_rate

    def _callback(self, outdata, frames, time_info, status) -> None:  # PortAudio thread
        seek = self._pending_seek
        pos = self._stamp[0]
        if seek is not None:
            self._pending_seek = None
            pos = seek
        out = outdata[:, 0]
        if not self._playing:
            out.fill(0.0)
            self._stamp = (pos, self._timer(), False)
            return
        step = self._step
        track = self._track
        n = len(track)
        if step == 1.0 and pos == int(pos):
            i0 = int(pos)
            lo, hi = min(max(i0, 0), n), min(max(i0 + frames, 0), n)
            k0 = lo - i0
            if k0 > 0:
                out[:k0].fill(0.0)
            np.multiply(track[lo:hi], self._scale, out=out[k0:k0 + hi - lo], casting="unsafe")
            out[k0 + hi - lo:].fill(0.0)
        else:
            if len(self._ramp) < frames:
                self._ramp = np.arange(frames, dtype=np.float64)
            x = pos + step * self._ramp[:frames]
            i = np.floor(x).astype(np.int64)
            f = (x - i).astype(np.float32)
            ok = (i >= 0) & (i + 1 < n)
            ic = np.clip(i, 0, max(n - 2, 0))
            if n >= 2:
                vals = (track[ic] * (1.0 - f) + track[ic + 1] * f) * self._scale
            else:
                vals = np.zeros(frames, np.float32)
            out[:] = np.where(ok, vals, 0.0)
        # these samples are heard after the output latency
        self._stamp = (pos + frames * step, self._timer() + self.latency + frames / self.device_rate, True)

    # -- control (GUI thread) ------------------------------------------------------------
    def position(self) -> float:
        """Seconds of the track being heard now."""
        pos, heard_at, playing = self._stamp
        t = pos / self._src_rate
        if playing and self._playing:
            t += (self._timer() - heard_at) * self._speed
            t = max(t, self._last)  # never backwards while playing (latency jitter)
        self._last = t
        return max(0.0, t)

    def play(self) -> None:
        pos = self._stamp[0]
        self._stamp = (pos, self._timer() + self.latency, True)
        self._last = pos / self._src_rate
        self._playing = True

    def pause(self) -> None:
        t = self.position()
        self._playing = False
        self.seek(t)

    def seek(self, t: float) -> None:
        t = max(0.0, float(t))
        sample = float(round(t * self._src_rate))  # whole samples: the fast copy path
        if hasattr(self._track, "want"):
            self._track.want(int(sample))  # a streamed track: decode there before it is played
        self._pending_seek = sample
        self._stamp = (sample, self._timer() + self.latency, self._playing)
        self._last = sample / self._src_rate

    def set_rate(self, speed: float) -> None:
        t = self.position()
        self._speed = float(speed)
        self.seek(t)

    @property
    def playing(self) -> bool:
        return self._playing

    def close(self) -> None:
        """Stop and close the stream (idempotent)."""
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception:  # noqa: BLE001 - closing a dead stream
                pass
        if hasattr(self._track, "close"):
            self._track.close()  # a streamed track's feeder thread

    @property
    def duration(self) -> float:
        return len(self._track) / self._src_rate if self._src_rate else 0.0

    def __del__(self):  # best effort
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


def open_output(samples: np.ndarray, sample_rate: int = 16000) -> AudioOutput:
    """An :class:`AudioOutput` on the default device, or :class:`AudioUnavailable` (a
    streamed track is then closed: its feeder thread stops)."""
    try:
        return AudioOutput(samples, sample_rate)
    except BaseException:
        if hasattr(samples, "close"):
            samples.close()
        raise
