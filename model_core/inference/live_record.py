"""Live › Record: the live session to a video file (picture + sound) and its maps beside it.

Qt-free. A recorder thread writes, at the camera's rate, the newest frame that has maps
(each output frame ``k`` at ``k / fps`` s: a constant-rate file any player and the viewer
open) with the sound heard meanwhile (from the live audio source's ring buffer), through
the project's one encoder (:class:`~model_core.media.writer.Mp4Writer`), and keeps each
head's map of that frame. On :meth:`LiveRecorder.close` the maps are written as SPEC 9
maps files beside the video, one per head (:func:`maps_path`), with ``p_avc``; the viewer
opening the video finds them and shows them without recomputing. The video is written
to a temporary name and renamed when complete; the outputs are checked and locked with
``model_core.outputs`` like every other writer.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np

from model_core.inference.audio_window import SAMPLE_RATE


def maps_path(video: str | os.PathLike, model_name: str) -> Path:
    """``REC.mp4`` -> ``REC.NAME.maps.npz`` (the maps of head ``NAME`` in that recording)."""
    v = Path(video)
    return v.with_name(f"{v.stem}.{model_name}.maps.npz")


class LiveRecorder:
    """See the module docstring.

    Parameters
    ----------
    path : the ``.mp4`` to write.
    heads : {model key: (model name, head)} of the maps to keep.
    fps : output frame rate (the camera's).
    audio : the live audio source (``LiveAudio``) whose sound is recorded, or None.
    inputs : ``{label: paths}`` the session reads (a camera or microphone file), which the
        recording must not overwrite.
    """

    def __init__(self, path: str | os.PathLike, heads: dict, fps: float, audio=None, inputs: dict | None = None):
        from model_core.errors import InputError
        from model_core.outputs import OutputLock, check_output

        self.path = check_output(path, "recording", inputs)
        if self.path.suffix.lower() != ".mp4":
            raise InputError(path, "a recording must be an .mp4 file")
        self.heads = dict(heads)
        for key, (name, _head) in self.heads.items():
            check_output(maps_path(self.path, name), "recording maps", inputs)
        self.lock = OutputLock(self.path, "recording").acquire()
        self.fps = float(fps) if fps and fps > 0 else 25.0
        self.audio = audio
        self.frames = 0
        self.error: str | None = None
        self._latest = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._maps: dict[str, list] = {k: [] for k in self.heads}
        self._p: dict[str, list] = {k: [] for k in self.heads}
        self._tmp = self.path.with_name(f".{self.path.name}.part.mp4")
        self._thread = threading.Thread(target=self._run, name="avsol-live-recorder", daemon=True)
        self._thread.start()

    def add(self, result) -> None:
        """The newest :class:`~model_core.inference.live_loop.LiveMaps` (any thread; never blocks)."""
        with self._cond:
            self._latest = result
            self._cond.notify_all()

    def _run(self) -> None:
        from model_core.media.writer import Mp4Writer

        with self._cond:
            while self._latest is None and not self._stop.is_set():
                self._cond.wait(0.1)
            first = self._latest
        if first is None:
            return
        h, w = first.frame.image.shape[:2]
        size = (w - w % 2, h - h % 2)
        try:
            writer = Mp4Writer(self._tmp, size, self.fps, SAMPLE_RATE if self.audio is not None else None)
        except Exception as exc:  # noqa: BLE001
            self.error = f"{self.path}: cannot write the recording ({exc})"
            return
        start = time.monotonic()
        a0 = int(self.audio.now * SAMPLE_RATE) if self.audio is not None else 0
        written = 0
        try:
            while not self._stop.is_set():
                due = start + self.frames / self.fps
                wait = due - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    break
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
                if self.audio is not None:  # the sound up to the end of this frame
                    want = int(round(self.frames / self.fps * SAMPLE_RATE))
                    if want > written:
                        writer.sound(self.audio.window_at(a0 + written, want - written))
                        written = want
            writer.sound(np.zeros(0, np.float32), final=True)
            writer.close()
        except Exception as exc:  # noqa: BLE001 - the recording failed: say why, keep the app
            self.error = f"{self.path}: recording failed ({exc})"
            try:
                writer.close(complete=False)
            except Exception:  # noqa: BLE001
                pass

    def close(self) -> list[Path]:
        """Stop, finish the file and write the maps; returns the files written."""
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
            elif self._tmp.exists():
                self._tmp.unlink()
        finally:
            self.lock.release()
        return out
