"""Live inputs for the map engine: a camera is a frame source, a microphone an audio source.

Part of the map engine (:mod:`model_core.inference.engine`), Qt-free. SPEC 7 (live mode)
and the live-audio habit of ``ARCHITECTURE.md``: the capture never waits for the model.

- :class:`LiveFrames` is a :class:`~model_core.inference.frame_sources.FrameProvider`
  whose capture thread keeps only the newest frame (a one-slot mailbox); frames that are
  replaced before the model takes them are not queued. :class:`CameraFrames` reads an
  OpenCV capture by index; :class:`FileCameraFrames` plays a video file in real time,
  looping (how live mode is tested here and how a user replays a recording through it).
- :class:`LiveAudio` is an :class:`~model_core.inference.audio_sources.AudioSource` over a
  ring buffer of the last seconds; the stream time of sample ``n`` is ``n / 16000`` s, so
  ``window(centre)`` is the same rule as for a file. :class:`MicrophoneAudio`'s
  sounddevice callback only copies into the ring; :class:`FileMicrophone` feeds a file's
  track into the same ring in real time, looping.
- :class:`LiveSpec` describes both on the caller's side (``--camera INDEX|FILE``,
  ``--microphone DEVICE|INDEX|FILE``) and opens them in the thread that uses them.

Problems are :class:`~model_core.errors.DeviceError` with a one-line message: no camera,
no microphone, PortAudio missing, a device gone mid-stream.
"""
from __future__ import annotations

import glob
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model_core.errors import DeviceError, InputError
from model_core.inference.audio_sources import AudioSource
from model_core.inference.audio_window import SAMPLE_RATE, WINDOW_SECONDS, window_key
from model_core.inference.frame_sources import FrameProvider

#: Seconds of audio the ring buffer holds (the spectrogram tail and the 1 s window).
RING_SECONDS = 8.0
#: Names that mean a file, not a device, for ``--microphone``.
MEDIA_SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".ogg", ".aac", ".mp4", ".mkv", ".mov", ".webm", ".avi")
#: A device that delivers nothing for this long is taken as gone.
STALL_S = 2.0


@dataclass
class LiveFrame:
    """One captured frame: ``index`` counts captures, ``captured`` is ``time.monotonic()``."""

    index: int
    time: float            # seconds since the source started
    captured: float        # monotonic clock at capture
    image: np.ndarray      # H x W x 3 uint8 RGB


class LiveFrames(FrameProvider):
    """A capture thread writing the newest frame into a one-slot mailbox.

    ``captured`` counts frames delivered, ``dropped`` frames the source lost (a file camera
    that fell behind real time skips frames; a camera's failed reads). Subclasses implement
    ``_open`` / ``_grab`` (-> RGB image or None) / ``_release``, all in the capture thread.
    """

    def __init__(self, name: str):
        self.name = name
        self.captured = 0
        self.dropped = 0
        self.error: DeviceError | None = None
        self._latest: LiveFrame | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._opened = threading.Event()

    # -- consumer side ------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> "LiveFrames":
        """Start capturing; raises the source's ``DeviceError`` if it cannot open."""
        self._thread = threading.Thread(target=self._run, name=f"avsol-live-camera", daemon=True)
        self._thread.start()
        self._opened.wait(timeout)
        if self.error is not None:
            self.close()
            raise self.error
        return self

    def latest(self, after: int = -1, timeout: float = 0.5) -> LiveFrame | None:
        """The newest frame if newer than ``after`` (waits up to ``timeout``), else None.
        Raises the ``DeviceError`` that stopped the capture."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.error is None and (self._latest is None or self._latest.index <= after):
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return None
                self._cond.wait(left)
            if self.error is not None:
                raise self.error
            return self._latest

    @property
    def frame_count(self) -> int:  # FrameProvider: the frames captured so far
        return self.captured

    def time_at(self, index: int) -> float:
        f = self._latest
        if f is None or f.index != index:
            raise IndexError(f"frame {index} is no longer held (live sources keep the newest)")
        return f.time

    def read(self, indices: list[int], size: int) -> list[np.ndarray]:
        from model_core.media.frames import resize_frame

        f = self._latest
        out = []
        for i in indices:
            if f is None or f.index != i:
                raise IndexError(f"frame {i} is no longer held (live sources keep the newest)")
            out.append(resize_frame(f.image, (size, size)))
        return out

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(5.0)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- capture thread -----------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._open()
        except DeviceError as exc:
            self.error = exc
            self._opened.set()
            return
        except Exception as exc:  # noqa: BLE001 - any backend failure is one line
            self.error = DeviceError(None, f"{self.name}: cannot open ({type(exc).__name__}: {exc})")
            self._opened.set()
            return
        self._t0 = time.monotonic()
        self._opened.set()
        try:
            while not self._stop.is_set():
                try:
                    img = self._grab()
                except DeviceError as exc:
                    self.error = exc
                    break
                except Exception as exc:  # noqa: BLE001
                    self.error = DeviceError(None, f"{self.name}: capture failed ({type(exc).__name__}: {exc})")
                    break
                if img is None:
                    continue
                now = time.monotonic()
                with self._cond:
                    self._latest = LiveFrame(self.captured, now - self._t0, now, img)
                    self.captured += 1
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._cond.notify_all()
            try:
                self._release()
            except Exception:  # noqa: BLE001 - releasing must not raise
                pass

    def _open(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _grab(self) -> np.ndarray | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _release(self) -> None:
        pass


class CameraFrames(LiveFrames):
    """An OpenCV capture device by index (``cv2.VideoCapture(index)``)."""

    FAILS = 30   # consecutive failed reads that mean the camera is gone

    def __init__(self, index: int):
        super().__init__(f"camera {index}")
        self.index = int(index)
        self.fps = 30.0
        self._cap = None
        self._fails = 0

    def _open(self) -> None:
        import cv2

        cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            raise DeviceError(None, f"camera {self.index}: not found or busy (no such capture device)")
        ok, img = cap.read()
        if not ok or img is None:
            cap.release()
            raise DeviceError(None, f"camera {self.index}: opens but delivers no frames")
        self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 30.0) or 30.0
        self._cap = cap

    def _grab(self) -> np.ndarray | None:
        import cv2

        ok, img = self._cap.read()
        if not ok or img is None:
            self._fails += 1
            self.dropped += 1
            if self._fails >= self.FAILS:
                raise DeviceError(None, f"camera {self.index}: stopped delivering frames (unplugged?)")
            time.sleep(0.01)
            return None
        self._fails = 0
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class FileCameraFrames(LiveFrames):
    """A video file played as a camera: in real time, looping; frames whose time has passed
    are skipped (counted in ``dropped``), as a camera would lose them."""

    def __init__(self, path: str | os.PathLike):
        super().__init__(f"file {Path(path).name}")
        self.path = os.fspath(path)
        self.fps = 25.0
        self._reader = None
        self._next = 0          # index in the file
        self._shown = 0         # frames due since the start (across loops)
        self._start = 0.0

    def _open(self) -> None:
        from model_core.media.frames import VideoReader

        if not Path(self.path).is_file():
            raise DeviceError(self.path, "no such file for --camera")
        try:
            self._reader = VideoReader(self.path)
        except InputError as exc:
            raise DeviceError(self.path, f"cannot be used as a camera ({exc.problem})") from None
        self.fps = float(self._reader.fps)
        self._start = time.monotonic()

    def _grab(self) -> np.ndarray | None:
        due_at = self._start + self._shown / self.fps
        wait = due_at - time.monotonic()
        if wait > 0:
            if self._stop.wait(wait):
                return None
        else:  # behind real time: skip the frames already past, as a camera loses them
            behind = int(-wait * self.fps)
            if behind > 0:
                self.dropped += behind
                self._shown += behind
                self._next = (self._next + behind) % self._reader.frame_count
        n = self._reader.frame_count
        try:
            img = self._reader.read_at_index(self._next % n)
        except InputError as exc:
            raise DeviceError(self.path, f"stopped delivering frames ({exc.problem})") from None
        self._next = (self._next + 1) % n
        self._shown += 1
        return img

    def _release(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


class RingBuffer:
    """The last ``capacity`` samples of a stream, by absolute sample number.

    ``write`` is what an audio callback calls: one or two slice copies into a preallocated
    array under a short lock, nothing else.
    """

    def __init__(self, capacity: int):
        self.capacity = int(capacity)
        self._buf = np.zeros(self.capacity, np.float32)
        self.total = 0          # samples written since the start
        self._lock = threading.Lock()

    def write(self, chunk: np.ndarray) -> None:
        n = len(chunk)
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
    input stopped. ``last(seconds)`` is the tail of what was heard.
    """

    def __init__(self, name: str, rate: int = SAMPLE_RATE):
        self.name = self.label = name
        self.key = f"live:{name}:{id(self)}"
        self.rate = int(rate)
        self.ring = RingBuffer(int(RING_SECONDS * self.rate))
        self.overruns = 0
        self.error: DeviceError | None = None
        self._t0 = time.monotonic()
        self._last_write = time.monotonic()

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
        if time.monotonic() - self._last_write > STALL_S:
            self.error = DeviceError(None, f"{self.name}: no sound for {STALL_S:g} s (device gone?)")
            raise self.error

    def start(self) -> "LiveAudio":
        return self


class MicrophoneAudio(LiveAudio):
    """A sounddevice ``InputStream`` (mono); the callback only writes into the ring."""

    def __init__(self, device: int | str | None = None):
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
        super().__init__(f"microphone {name}", rate)
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
        self._last_write = time.monotonic()

    def _finished(self) -> None:
        if not self._closing and self.error is None:
            self.error = DeviceError(None, f"{self.name}: stream stopped (device gone?)")

    def start(self) -> "MicrophoneAudio":
        try:
            self._last_write = time.monotonic()
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
    """A file's audio played as a microphone: real time, looping, in 20 ms chunks."""

    CHUNK_S = 0.02

    def __init__(self, path: str | os.PathLike):
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
        super().__init__(f"file {Path(path).name}")
        self.path = path
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "FileMicrophone":
        self._thread = threading.Thread(target=self._run, name="avsol-live-microphone", daemon=True)
        self._last_write = time.monotonic()
        self._thread.start()
        return self

    def _run(self) -> None:
        chunk = int(self.CHUNK_S * self.rate)
        start = time.monotonic()
        pos = 0            # samples written so far
        n = len(self.track)
        while not self._stop.is_set():
            due = int((time.monotonic() - start) * self.rate)
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
            self._last_write = time.monotonic()
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

    def __init__(self, why: str = "no microphone"):
        super().__init__(why)

    @property
    def now(self) -> float:
        return time.monotonic() - self._t0

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


def list_cameras(max_index: int = 4) -> list[tuple[int, str]]:
    """[(index, name)] of capture devices: ``/dev/video*`` on Linux (no probing, which is
    slow and noisy), else indices 0..max_index-1 that open."""
    if sys.platform.startswith("linux"):
        out = []
        for dev in sorted(glob.glob("/dev/video*")):
            tail = dev[len("/dev/video"):]
            if tail.isdigit():
                name = f"camera {tail}"
                try:
                    name = Path(f"/sys/class/video4linux/video{tail}/name").read_text().strip() or name
                except OSError:
                    pass
                out.append((int(tail), name))
        return out
    import cv2

    out = []
    for i in range(max_index):
        cap = cv2.VideoCapture(i)
        if cap.isOpened():
            out.append((i, f"camera {i}"))
        cap.release()
    return out


@dataclass(frozen=True)
class LiveSpec:
    """What live mode captures: ``camera`` an index ("0") or a video file; ``microphone`` a
    device name or index, a media file, or None for the default input device."""

    camera: str = "0"
    microphone: str | None = None

    def open_frames(self) -> LiveFrames:
        cam = str(self.camera)
        if cam.strip().isdigit():
            return CameraFrames(int(cam)).start()
        return FileCameraFrames(cam).start()

    def open_audio(self) -> LiveAudio:
        mic = self.microphone
        if mic is not None and (Path(mic).is_file() or os.sep in mic or Path(mic).suffix.lower() in MEDIA_SUFFIXES):
            return FileMicrophone(mic).start()
        device = int(mic) if mic is not None and mic.strip().isdigit() else mic
        return MicrophoneAudio(device).start()

    @property
    def label(self) -> str:
        cam = self.camera if self.camera.strip().isdigit() else Path(self.camera).name
        mic = self.microphone if self.microphone else "default microphone"
        return f"camera {cam}, {Path(mic).name if os.sep in mic else mic}"
