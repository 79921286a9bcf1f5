"""Live inputs for the map engine: a camera is a frame source, a microphone an audio source.

Part of the map engine (:mod:`model_core.inference.engine`), Qt-free. SPEC 7 (live mode)
and the live-audio habit of ``ARCHITECTURE.md``: the capture never waits for the model.

- cameras (:mod:`model_core.inference.live_frames`, re-exported here): a
  :class:`LiveFrames` frame provider keeps only the newest frame; :class:`CameraFrames`
  (OpenCV, by index), :class:`FileCameraFrames` (a video file in real time, looping);
- :class:`LiveAudio` is an :class:`~model_core.inference.audio_sources.AudioSource` over a
  ring buffer of the last seconds; the stream time of sample ``n`` is ``n / 16000`` s, so
  ``window(centre)`` is the same rule as for a file. :class:`MicrophoneAudio`'s
  sounddevice callback only copies into the ring; :class:`FileMicrophone` feeds a file's
  track into the same ring in real time, looping.
- :class:`LiveSpec` describes both on the caller's side (``--camera INDEX|FILE``,
  ``--microphone DEVICE|INDEX|FILE``) and opens them in the thread that uses them.

Problems are :class:`~model_core.errors.DeviceError` with a one-line message: no camera,
no microphone, PortAudio missing, a device gone mid-stream.

Every source reads the time from its ``clock`` (``time.monotonic`` unless given): the
file microphone writes what is due by it, and a stall is measured on it, so a test drives
them with a clock it advances by hand.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from model_core.errors import DeviceError, InputError
from model_core import media_extensions as extensions
from model_core.inference.audio_sources import AudioSource
from model_core.inference.audio_window import SAMPLE_RATE, WINDOW_SECONDS, window_key
from model_core.inference.live_frames import (CameraFrames, FileCameraFrames, LiveFrame, LiveFrames,  # noqa: F401
                                              list_cameras)

#: Seconds of audio the ring buffer holds: the spectrogram tail and the longest window a
#: model hears (10 s: LVS, SSL-TIE), with room for the reader's lag.
RING_SECONDS = 12.0
#: Names that mean a file, not a device, for ``--microphone``.
MEDIA_SUFFIXES = extensions.AUDIO + extensions.VIDEO
#: A device that delivers nothing for this long is taken as gone.
STALL_S = 2.0
#: ... and a device just started gets this much longer for its first samples (PulseAudio
#: took over 1 s to deliver its first block on this machine under load).
START_GRACE_S = 3.0


class RingBuffer:
    """The last ``capacity`` samples of a stream, by absolute sample number.

    ``write`` is what an audio callback calls: one or two slice copies into a preallocated
    array under a short lock, nothing else. A *tap* (:meth:`add_tap`, Live › Record's) is
    also handed a copy of every block as it is written: the ring holds only the last
    seconds, and reading it at another clock's pace loses what was not captured yet
    (a recording that read its sound from the ring had gaps of digital silence).
    """

    def __init__(self, capacity: int):
        self.capacity = int(capacity)
        self._buf = np.zeros(self.capacity, np.float32)
        self.total = 0          # samples written since the start
        self._lock = threading.Lock()
        self._taps: list = []

    def add_tap(self, tap) -> None:
        """``tap(block)`` is called with a copy of every block written from now on (in the
        capture thread, under the ring's lock: it must only queue it)."""
        with self._lock:
            self._taps.append(tap)

    def remove_tap(self, tap) -> None:
        with self._lock:
            if tap in self._taps:
                self._taps.remove(tap)

    def write(self, chunk: np.ndarray) -> None:
        n, orig = len(chunk), chunk
        # a callback's buffer is reused: a tap gets its own copy (made outside the lock)
        whole = np.array(orig, np.float32, copy=True) if self._taps else None
        if n >= self.capacity:
            chunk, n_skip = chunk[-self.capacity:], n - self.capacity
        else:
            n_skip = 0
        with self._lock:
            start = (self.total + n_skip) % self.capacity
            m = len(chunk)
            first = min(m, self.capacity - start)
            self._buf[start:start + first] = chunk[:first]
            if first < m:
                self._buf[:m - first] = chunk[first:]
            self.total += n
            for tap in self._taps:
                if whole is None:
                    whole = np.array(orig, np.float32, copy=True)  # a tap added meanwhile
                tap(whole)

    def read(self, first: int, n: int) -> np.ndarray:
        """Samples ``first .. first + n`` of the stream (zeros where not held)."""
        out = np.zeros(n, np.float32)
        with self._lock:
            lo = max(first, self.total - self.capacity, 0)
            hi = min(first + n, self.total)
            if hi > lo:
                idx = np.arange(lo, hi) % self.capacity
                out[lo - first:hi - first] = self._buf[idx]
        return out


class LiveAudio(AudioSource):
    """An audio source over a :class:`RingBuffer` filled by a live input (see module doc).

    ``overruns`` counts input overflows (samples the device lost); ``error`` is set when the
    input stopped. ``last(seconds)`` is the tail of what was heard. ``clock()`` (seconds,
    monotonic) measures a stall.
    """

    def __init__(self, name: str, rate: int = SAMPLE_RATE, clock: Callable[[], float] = time.monotonic):
        self.name = self.label = name
        self.clock = clock
        self.key = f"live:{name}:{id(self)}"
        self.rate = int(rate)
        self.ring = RingBuffer(int(RING_SECONDS * self.rate))
        self.overruns = 0
        self.error: DeviceError | None = None
        self._t0 = clock()
        self._last_write = clock()

    @property
    def now(self) -> float:
        """Stream time (s) of the newest sample."""
        return self.ring.total / self.rate

    def _read16k(self, first16: int, n16: int) -> np.ndarray:
        if self.rate == SAMPLE_RATE:
            return self.ring.read(first16, n16)
        ratio = self.rate / SAMPLE_RATE  # resample on read, never in the callback
        first = int(np.floor(first16 * ratio))
        n = int(np.ceil(n16 * ratio)) + 2
        x = self.ring.read(first, n)
        pos = np.arange(n16) * ratio + (first16 * ratio - first)
        return np.interp(pos, np.arange(n), x).astype(np.float32)

    def window(self, centre: float, seconds: float = WINDOW_SECONDS) -> np.ndarray:
        return self._read16k(window_key(centre, seconds), int(round(seconds * SAMPLE_RATE)))

    def window_at(self, first16: int, n16: int) -> np.ndarray:
        """Samples ``first16 ..`` (16 kHz stream positions); zeros where not held."""
        return self._read16k(first16, n16)

    def last(self, seconds: float = WINDOW_SECONDS) -> tuple[int, np.ndarray]:
        """(first sample at 16 kHz, samples) of the last ``seconds`` heard."""
        n = int(round(seconds * SAMPLE_RATE))
        end = int(self.ring.total * SAMPLE_RATE / self.rate)
        return end - n, self._read16k(end - n, n)

    def check(self) -> None:
        """Raise the ``DeviceError`` of an input that stopped (or stalled)."""
        if self.error is not None:
            raise self.error
        if self.clock() - self._last_write > STALL_S:
            self.error = DeviceError(None, f"{self.name}: no sound for {STALL_S:g} s (device gone?)")
            raise self.error

    def start(self) -> "LiveAudio":
        return self


class MicrophoneAudio(LiveAudio):
    """A sounddevice ``InputStream`` (mono); the callback only writes into the ring."""

    def __init__(self, device: int | str | None = None, clock: Callable[[], float] = time.monotonic):
        sd = _sounddevice()
        try:
            info = sd.query_devices(device, "input")
        except Exception as exc:  # noqa: BLE001 - ValueError / PortAudioError
            raise DeviceError(None, f"microphone {device if device is not None else '(default)'}: "
                                    f"not found ({_first_line(exc)})") from None
        name = str(info["name"])
        rate = SAMPLE_RATE
        try:
            sd.check_input_settings(device=device, channels=1, samplerate=SAMPLE_RATE, dtype="float32")
        except Exception:  # noqa: BLE001 - the device's own rate; resampled on read
            rate = int(info["default_samplerate"])
        super().__init__(f"microphone {name}", rate, clock)
        self.device = device
        self._stream = None
        try:
            self._stream = sd.InputStream(device=device, channels=1, samplerate=rate, dtype="float32",
                                          callback=self._callback, finished_callback=self._finished)
        except Exception as exc:  # noqa: BLE001
            raise DeviceError(None, f"{self.name}: cannot open ({_first_line(exc)})") from None
        self._closing = False

    def _callback(self, indata, frames, time_info, status) -> None:
        if status.input_overflow:
            self.overruns += 1
        self.ring.write(indata[:, 0])
        self._last_write = self.clock()

    def _finished(self) -> None:
        if not self._closing and self.error is None:
            self.error = DeviceError(None, f"{self.name}: stream stopped (device gone?)")

    def start(self) -> "MicrophoneAudio":
        try:
            self._last_write = self.clock() + START_GRACE_S
            if self._stream is None:
                raise RuntimeError("closed")
            self._stream.start()
        except Exception as exc:  # noqa: BLE001
            raise DeviceError(None, f"{self.name}: cannot start ({_first_line(exc)})") from None
        return self

    def close(self) -> None:
        self._closing = True
        if self._stream is not None:
            try:
                self._stream.close()
            except Exception:  # noqa: BLE001
                pass
            self._stream = None


class FileMicrophone(LiveAudio):
    """A file's audio played as a microphone: real time, looping, in 20 ms chunks. After
    ``t`` seconds of ``clock`` the ring holds ``int(t * rate)`` samples of the track, looped."""

    CHUNK_S = 0.02

    def __init__(self, path: str | os.PathLike, clock: Callable[[], float] = time.monotonic):
        from model_core.media.audio import AudioReader

        path = os.fspath(path)
        if not Path(path).is_file():
            raise DeviceError(path, "no such file for --microphone")
        try:
            reader = AudioReader(path)
            if not reader.has_audio:
                raise DeviceError(path, "has no audio stream to use as a microphone")
            self.track = reader.read(0.0, reader.duration)
            reader.close()
        except DeviceError:
            raise
        except InputError as exc:
            raise DeviceError(path, f"cannot be used as a microphone ({exc.problem})") from None
        if not len(self.track):
            raise DeviceError(path, "has an empty audio track")
        super().__init__(f"file {Path(path).name}", clock=clock)
        self.path = path
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0

    def start(self) -> "FileMicrophone":
        """Play from now: the track's first sample is due at this call's ``clock()``."""
        self._thread = threading.Thread(target=self._run, name="avsol-live-microphone", daemon=True)
        self._started = self._last_write = self.clock()
        self._thread.start()
        return self

    def _run(self) -> None:
        chunk = int(self.CHUNK_S * self.rate)
        start = self._started
        pos = 0            # samples written so far
        n = len(self.track)
        while not self._stop.is_set():
            due = int((self.clock() - start) * self.rate)
            if due - pos > self.ring.capacity:  # far behind (suspended): lost samples
                self.overruns += 1
                pos = due - chunk
            while pos < due:
                m = min(chunk, due - pos)
                i = pos % n
                part = self.track[i:i + m]
                if len(part) < m:
                    part = np.concatenate([part, self.track[:m - len(part)]])
                self.ring.write(part)
                pos += m
            self._last_write = self.clock()
            self._stop.wait(self.CHUNK_S)

    def close(self) -> None:
        self._stop.set()
        t = self._thread
        if t is not None:
            t.join(5.0)
        self._thread = None


class SilentLive(LiveAudio):
    """No microphone: silence at the stream's pace (maps are computed on silence; flagged)."""

    silent = True

    def __init__(self, why: str = "no microphone", clock: Callable[[], float] = time.monotonic):
        super().__init__(why, clock=clock)

    @property
    def now(self) -> float:
        return self.clock() - self._t0

    def window(self, centre: float, seconds: float = WINDOW_SECONDS) -> np.ndarray:
        return np.zeros(int(round(seconds * SAMPLE_RATE)), np.float32)

    def last(self, seconds: float = WINDOW_SECONDS) -> tuple[int, np.ndarray]:
        n = int(round(seconds * SAMPLE_RATE))
        return int(self.now * SAMPLE_RATE) - n, np.zeros(n, np.float32)

    def window_at(self, first16: int, n16: int) -> np.ndarray:
        return np.zeros(n16, np.float32)

    def check(self) -> None:
        pass


# -- devices ------------------------------------------------------------------------------
def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _sounddevice():
    """The sounddevice module, or ``DeviceError`` naming PortAudio when it is missing."""
    try:
        import sounddevice as sd
    except OSError as exc:  # the PortAudio library itself is missing
        raise DeviceError(None, f"PortAudio library not found: no microphone input ({_first_line(exc)}); "
                                "install libportaudio2") from None
    except ImportError as exc:
        raise DeviceError(None, f"sounddevice is not installed: no microphone input ({_first_line(exc)})") from None
    return sd


def list_microphones() -> list[tuple[int, str]]:
    """[(index, name)] of input devices; ``DeviceError`` if PortAudio is missing."""
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
    except Exception as exc:  # noqa: BLE001
        raise DeviceError(None, f"cannot list audio devices ({_first_line(exc)})") from None
    return [(i, str(d["name"])) for i, d in enumerate(devices) if int(d.get("max_input_channels", 0)) > 0]


@dataclass(frozen=True)
class LiveSpec:
    """What live mode captures: ``camera`` an index ("0") or a video file; ``microphone`` a
    device name or index, a media file, or None for the default input device."""

    camera: str = "0"
    microphone: str | None = None

    def open_frames(self, clock: Callable[[], float] = time.monotonic) -> LiveFrames:
        cam = str(self.camera)
        if cam.strip().isdigit():
            return CameraFrames(int(cam), clock).start()
        return FileCameraFrames(cam, clock).start()

    def open_audio(self, clock: Callable[[], float] = time.monotonic) -> LiveAudio:
        mic = self.microphone
        if mic is not None and (Path(mic).is_file() or os.sep in mic or Path(mic).suffix.lower() in MEDIA_SUFFIXES):
            return FileMicrophone(mic, clock).start()
        device = int(mic) if mic is not None and mic.strip().isdigit() else mic
        return MicrophoneAudio(device, clock).start()

    @property
    def label(self) -> str:
        cam = self.camera if self.camera.strip().isdigit() else Path(self.camera).name
        mic = self.microphone if self.microphone else "default microphone"
        return f"camera {cam}, {Path(mic).name if os.sep in mic else mic}"
