"""Live cameras for the map engine: frame sources that keep only the newest frame.

Part of :mod:`model_core.inference.live_sources` (the live inputs), Qt-free.
:class:`LiveFrames` is a :class:`~model_core.inference.frame_sources.FrameProvider` whose
capture thread keeps only the newest frame (a one-slot mailbox); frames replaced before
the model takes them are never queued. :class:`CameraFrames` reads an OpenCV capture by
index; :class:`FileCameraFrames` plays a video file in real time, looping (how live mode
is tested here, and how a user replays a recording through it). Problems are
:class:`~model_core.errors.DeviceError` with a one-line message.

Every source reads the time from its ``clock`` (``time.monotonic`` unless given): a test
drives a file camera with a clock it advances by hand, so what it checks is the pacing
rule, not how busy the machine was.
"""
from __future__ import annotations

import glob
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from model_core.errors import DeviceError, InputError
from model_core.inference.frame_sources import FrameProvider

if TYPE_CHECKING:   # imported when a file camera opens
    from model_core.media.frames import VideoReader


@dataclass
class LiveFrame:
    """One captured frame: ``index`` counts captures, ``captured`` is the source's clock."""

    index: int
    time: float            # seconds since the source started
    captured: float        # the source's clock (time.monotonic by default) at capture
    image: np.ndarray      # H x W x 3 uint8 RGB
    #: the image resized to the source's ``model_size`` in the capture thread (S x S x 3
    #: uint8 RGB), or None when no size was asked for
    model_input: np.ndarray | None = None


class LiveFrames(FrameProvider):
    """A capture thread writing the newest frame into a one-slot mailbox.

    ``captured`` counts frames delivered, ``dropped`` frames the source lost (a file camera
    that fell behind real time skips frames; a camera's failed reads). Subclasses implement
    ``_open`` / ``_grab`` (-> RGB image or None; or a token that ``_convert`` turns into
    the image) / ``_release``, all in the capture thread.
    ``clock()`` gives the capture times (seconds, monotonic).

    ``model_size`` ((w, h) or None, settable at any time): each frame is also resized to it
    in the capture thread (:attr:`LiveFrame.model_input`), with the resize the models'
    own input path uses (``resize_frame``), so when a pass ends the next frame is already
    at the model's input size and the visual thread starts its next pass at once.

    ``wanted_at`` (the consumer's clock time when it will next ask for a frame, or None:
    unknown) lets a source that can convert on demand (``CONVERTS_ON_DEMAND``: the file
    camera, whose capture thread waits between frames) leave unconverted a frame that will
    be replaced before it is wanted (the next frame is due earlier): it is decoded (the
    next frames need it) but not converted to RGB nor resized, which was ~1.5-2 of the
    ~4-5 ms of CPU a 640 x 480 H.264 frame costs the capture (``benchmarks/README.md``,
    live). Should the consumer ask earlier than said, the frame held unconverted is
    converted at once (:meth:`latest` waits for it). Counts: ``captured`` every frame taken
    from the source, ``converted`` those converted, ``skipped`` those replaced unconverted.
    ``cpu_s`` holds the capture thread's CPU seconds (``time.thread_time``) by step,
    ``decode`` and ``convert`` (conversion, resize and hand-over): the live benchmark's
    per-stage accounting (FFmpeg's decoder threads are not in it).
    """

    #: whether the capture thread can convert a decoded frame later, on demand (it waits
    #: between frames on an event that :meth:`latest` sets); a device's blocking read cannot
    CONVERTS_ON_DEMAND = False

    def __init__(self, name: str, clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.clock = clock
        self.captured = 0
        self.dropped = 0
        self.error: DeviceError | None = None
        self._latest: LiveFrame | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._opened = threading.Event()
        self._model_size: tuple[int, int] | None = None
        self.wanted_at: float | None = None
        self.skipped = 0
        self.converted = 0
        self.cpu_s = {"decode": 0.0, "convert": 0.0}
        #: set by a consumer waiting for a frame held unconverted (wakes the capture thread)
        self._wake = threading.Event()
        self._waiting = 0
        self._pending_index = -1     # the newest frame decoded but not converted, or -1

    @property
    def model_size(self) -> tuple[int, int] | None:
        return self._model_size

    @model_size.setter
    def model_size(self, size: tuple[int, int] | None) -> None:
        """Set the models' input size; the frame held now is resized to it at once (in the
        caller's thread), so the first frame, captured before the size was known, is as
        ready as the next ones."""
        wh = None if size is None else (int(size[0]), int(size[1]))
        with self._cond:
            self._model_size = wh
            f = self._latest
            if f is not None and wh is not None and (f.model_input is None or f.model_input.shape[1::-1] != wh):
                from model_core.media.frames import resize_frame

                self._latest = LiveFrame(f.index, f.time, f.captured, f.image, resize_frame(f.image, wh))

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
            while self.error is None and (self._latest is None or self._latest.index <= after
                                          or self._pending_index > self._latest.index):
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return None
                self._waiting += 1
                if self._pending_index >= 0:
                    self._wake.set()      # a frame held unconverted: convert it now
                try:
                    self._cond.wait(left)
                finally:
                    self._waiting -= 1
            if self.error is not None:
                raise self.error
            return self._latest

    @property   # read-only here (FrameProvider's is a plain attribute): it grows with the capture
    def frame_count(self) -> int:  # type: ignore[override]  # FrameProvider: the frames captured so far
        return self.captured

    def time_at(self, index: int) -> float:
        f = self._latest
        if f is None or f.index != index:
            raise IndexError(f"frame {index} is no longer held (live sources keep the newest)")
        return f.time

    def read(self, indices: list[int], size: int | None) -> list[np.ndarray]:
        from model_core.media.frames import resize_frame

        f = self._latest
        out = []
        for i in indices:
            if f is None or f.index != i:
                raise IndexError(f"frame {i} is no longer held (live sources keep the newest)")
            out.append(resize_frame(f.image, (size, size)) if size else f.image)
        return out

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
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
        self._t0 = self.clock()
        self._opened.set()
        pending = None        # (index, capture time, the source's token): decoded, not converted
        try:
            while not self._stop.is_set():
                try:
                    if pending is not None and self._waiting:
                        self._publish(*pending)        # asked for earlier than said
                        pending = None
                    cpu = time.thread_time()
                    token = self._grab()
                    self.cpu_s["decode"] += time.thread_time() - cpu
                    if token is None:
                        continue
                    now = self.clock()
                    with self._cond:
                        if pending is not None:
                            self.skipped += 1          # replaced before it was wanted
                        pending = (self.captured, now, token)
                        self.captured += 1
                        defer = self.CONVERTS_ON_DEMAND and not self._waiting and self._replaced_unwanted(now)
                        # held or being converted: latest() waits for it rather than
                        # handing over the older frame
                        self._pending_index = pending[0]
                    if not defer:
                        self._publish(*pending)
                        pending = None
                except DeviceError as exc:
                    self.error = exc
                    break
                except Exception as exc:  # noqa: BLE001
                    self.error = DeviceError(None, f"{self.name}: capture failed ({type(exc).__name__}: {exc})")
                    break
        finally:
            with self._cond:
                self._cond.notify_all()
            try:
                self._release()
            except Exception:  # noqa: BLE001 - releasing must not raise
                pass

    def _replaced_unwanted(self, now: float) -> bool:
        """Whether the frame decoded at ``now`` will be replaced before the consumer asks:
        it said when it will (``wanted_at``) and the next frame is due before that."""
        wanted = self.wanted_at
        return wanted is not None and wanted > self._next_due(now)

    def _next_due(self, now: float) -> float:
        """The capture time of the next frame (a camera's: one frame interval on)."""
        return now + 1.0 / max(1e-3, float(getattr(self, "fps", 30.0)))

    def _publish(self, index: int, captured: float, token) -> None:
        """Convert the frame decoded as ``token`` and make it the newest."""
        cpu = time.thread_time()
        img = self._convert(token)
        small = self._prepare(img)
        with self._cond:
            self._latest = LiveFrame(index, captured - self._t0, captured, img, small)
            self.converted += 1
            if self._pending_index == index:
                self._pending_index = -1
            self._cond.notify_all()
        self._wake.clear()
        self.cpu_s["convert"] += time.thread_time() - cpu

    def _convert(self, token) -> np.ndarray:
        """The RGB image of a token from :meth:`_grab` (by default the token is the image)."""
        return token

    def _prepare(self, img: np.ndarray) -> np.ndarray | None:
        """``img`` at ``model_size`` (None when no size is asked for)."""
        size = self._model_size
        if size is None:
            return None
        from model_core.media.frames import resize_frame

        return resize_frame(img, size)

    def _open(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _grab(self) -> Any:  # pragma: no cover - abstract: an RGB image, a token or None
        raise NotImplementedError

    def _release(self) -> None:
        pass


#: The highest camera index accepted: OpenCV reads larger numbers as a backend code plus
#: an index, and a 20-digit one overflowed into 7 lines of OpenCV errors.
MAX_CAMERA_INDEX = 99


def check_camera_index(index: int) -> None:
    """``DeviceError`` (one line) for an index that cannot be a camera, before OpenCV sees
    it: out of 0..MAX_CAMERA_INDEX, or on Linux without its ``/dev/videoN`` (OpenCV would
    print its own warnings to stderr, then fail)."""
    if not 0 <= index <= MAX_CAMERA_INDEX:
        shown = str(index) if len(str(index)) <= 12 else f"{str(index)[:12]}..."
        raise DeviceError(None, f"camera {shown}: not a camera index (0 to {MAX_CAMERA_INDEX}); "
                                "give the index of a capture device or a video file")
    if sys.platform.startswith("linux") and os.path.isdir("/dev") and not os.path.exists(f"/dev/video{index}"):
        raise DeviceError(None, f"camera {index}: not found (no /dev/video{index})")


class CameraFrames(LiveFrames):
    """An OpenCV capture device by index (``cv2.VideoCapture(index)``)."""

    FAILS = 30   # consecutive failed reads that mean the camera is gone

    def __init__(self, index: int, clock: Callable[[], float] = time.monotonic):
        check_camera_index(int(index))
        super().__init__(f"camera {index}", clock)
        self.index = int(index)
        self.fps = 30.0
        self._cap: Any = None      # a cv2.VideoCapture once open (OpenCV is read untyped)
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
    are skipped (counted in ``dropped``), as a camera would lose them. Frame ``k`` is due
    ``k / fps`` seconds of ``clock`` after the file opened."""

    def __init__(self, path: str | os.PathLike, clock: Callable[[], float] = time.monotonic):
        super().__init__(f"file {Path(path).name}", clock)
        self.path = os.fspath(path)
        self.fps = 25.0
        self._reader: VideoReader | None = None
        self._next = 0          # index in the file
        self._shown = 0         # frames due since the start (across loops)
        self._start = 0.0

    def _open(self) -> None:
        from model_core.media.frames import VideoReader

        if not Path(self.path).is_file():
            raise DeviceError(self.path, "no such file for --camera")
        try:
            # the dense reader (OpenCV where it can): its decoding releases the GIL, which
            # the visual thread needs between two of its trunk's ops; PyAV's sparse reader
            # decoded with ~20 % less CPU but held the GIL for a third of the time
            reader = self._reader = VideoReader(self.path)
        except InputError as exc:
            raise DeviceError(self.path, f"cannot be used as a camera ({exc.problem})") from None
        self.fps = float(reader.fps)
        self._start = self.clock()

    CONVERTS_ON_DEMAND = True

    def _next_due(self, now: float) -> float:
        return self._start + self._shown / self.fps

    def _convert(self, token) -> np.ndarray:
        reader = self._reader
        assert reader is not None
        try:
            return reader.read_at_index(token)      # decoded already: the conversion only
        except InputError as exc:
            raise DeviceError(self.path, f"stopped delivering frames ({exc.problem})") from None

    def _grab(self) -> int | None:
        """Wait for the next frame's time, decode it, and return its index in the file
        (converted by :meth:`_convert` when it is wanted)."""
        reader = self._reader
        assert reader is not None             # the capture thread opens before it grabs
        due_at = self._start + self._shown / self.fps
        wait = due_at - self.clock()
        if wait > 0:   # not due yet: wait (woken early by a consumer asking), then ask the clock again
            if self._wake.wait(wait):
                self._wake.clear()            # the consumer's wait is in _waiting: no spinning on a stale wake
            return None
        else:  # behind real time: skip the frames already past, as a camera loses them
            behind = int(-wait * self.fps)
            if behind > 0:
                self.dropped += behind
                self._shown += behind
                self._next = (self._next + behind) % reader.frame_count
        n = reader.frame_count
        index = self._next % n
        try:
            reader.decode_to(index)
        except InputError as exc:
            raise DeviceError(self.path, f"stopped delivering frames ({exc.problem})") from None
        self._next = (self._next + 1) % n
        self._shown += 1
        return index

    def _release(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


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
