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
    ``_open`` / ``_grab`` (-> RGB image or None) / ``_release``, all in the capture thread.
    ``clock()`` gives the capture times (seconds, monotonic).

    ``model_size`` ((w, h) or None, settable at any time): each frame is also resized to it
    in the capture thread (:attr:`LiveFrame.model_input`), with the resize the models'
    own input path uses (``resize_frame``), so when a pass ends the next frame is already
    at the model's input size and the visual thread starts its next pass at once.
    Resizing every captured frame, taken or not, costs a little more CPU in all (a 640 x
    480 frame to 224 px: well under 1 ms) than resizing only the frames taken, but off the
    visual thread's critical path.
    """

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
        self.model_size: tuple[int, int] | None = None

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
                now = self.clock()
                small = self._prepare(img)
                with self._cond:
                    self._latest = LiveFrame(self.captured, now - self._t0, now, img, small)
                    self.captured += 1
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._cond.notify_all()
            try:
                self._release()
            except Exception:  # noqa: BLE001 - releasing must not raise
                pass

    def _prepare(self, img: np.ndarray) -> np.ndarray | None:
        """``img`` at ``model_size`` (None when no size is asked for)."""
        size = self.model_size
        if size is None:
            return None
        from model_core.media.frames import resize_frame

        return resize_frame(img, size)

    def _open(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _grab(self) -> np.ndarray | None:  # pragma: no cover - abstract
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

    def _grab(self) -> np.ndarray | None:
        reader = self._reader
        assert reader is not None             # the capture thread opens before it grabs
        due_at = self._start + self._shown / self.fps
        wait = due_at - self.clock()
        if wait > 0:   # not due yet: wait, then ask the clock again
            self._stop.wait(wait)
            return None
        else:  # behind real time: skip the frames already past, as a camera loses them
            behind = int(-wait * self.fps)
            if behind > 0:
                self.dropped += behind
                self._shown += behind
                self._next = (self._next + behind) % reader.frame_count
        n = reader.frame_count
        try:
            img = reader.read_at_index(self._next % n)
        except InputError as exc:
            raise DeviceError(self.path, f"stopped delivering frames ({exc.problem})") from None
        self._next = (self._next + 1) % n
        self._shown += 1
        return img

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
