"""Maps computed in a child process: the viewer's map worker without the viewer's GIL.

Why: computed in a thread of the viewer, every map step (decoding the worker's own copy of
each frame, the models' Python between their kernels) holds the GIL the GUI thread needs to
show the next frame and paint the overlays; playing, the display then dropped frames even
when the two cores had time left (benchmarks/README.md, playback). In a child process the
decoding (at the models' input size) and the models run on their own interpreter, and only
the small grid maps come back (a 14 x 14 float32 map is 784 bytes).

The parent keeps what it had: the map cache and the choice of frames
(:meth:`~model_core.inference.engine.MapEngine.todo` on its own cache, so the child never
recomputes what the parent holds). The child holds a :class:`MapEngine` with the same
checkpoints (loaded by the same factory, under the same model keys) and computes the frames
it is sent with the same code, so its maps equal the thread's.

Started with ``spawn`` (safe whatever threads the parent runs: Qt, torch; a frozen bundle
starts itself again through ``multiprocessing.freeze_support``). Loads are sent without
waiting: until the child has every model the caller has, :meth:`MapProcess.ready_for` says
no and the caller computes in its own thread. A child that dies or cannot be started
raises :class:`MapProcessError` (one line), after which the caller falls back for good; a
computation that fails in the child (a model, a damaged frame) raises
:class:`ComputeError` with the line the same failure gives in the thread.

Qt-free; torch is imported only in the child (by the models it loads).
"""
from __future__ import annotations

import logging
import pickle
from collections import deque
from typing import Callable, Sequence

from model_core.inference.map_cache import MapCache, MapKey

log = logging.getLogger(__name__)

#: The child's own cache only hands the entries of one batch back: a few MB.
CHILD_CACHE_BYTES = 8 * 1024 * 1024
#: How often a wait for the child checks that it still lives (seconds).
POLL_S = 0.2
#: The longest wait for the child to end when closed, before it is terminated (seconds).
CLOSE_WAIT_S = 5.0


class MapProcessError(RuntimeError):
    """The child is gone, could not start, or its reply was lost: compute elsewhere."""


class ComputeError(RuntimeError):
    """The child's computation raised: the one-line message the same failure gives in the
    parent's thread (:func:`~model_core.inference.engine.one_line`)."""


def picklable(obj) -> bool:
    """``obj`` can be sent to a spawned child (the factory: a module-level function or a
    ``functools.partial`` of one, not a test's closure over in-memory fakes)."""
    try:
        pickle.dumps(obj)
    except Exception:  # noqa: BLE001 - any failure means: not sendable
        return False
    return True


def _serve(conn, factory, batch: int) -> None:
    """The child's loop: one reply per message, in order, until "stop" or the parent's end
    of the pipe closes."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is the parent's to handle
    from model_core.allocator import bound_heap

    bound_heap()   # the heap bounds the viewer's and the commands' mains set (mallopt is per process)
    from model_core.inference.engine import MapEngine

    engine = MapEngine(MapCache(CHILD_CACHE_BYTES), factory, batch)
    try:
        while True:
            try:
                op, args = conn.recv()
            except (EOFError, OSError):
                return
            if op == "stop":
                return
            reply = _answer(engine, op, args)
            try:
                conn.send(reply)
            except (OSError, EOFError):
                return
    finally:
        engine.close()


def _answer(engine, op: str, args: tuple) -> tuple:
    """The child's reply to one request: ("ok", value) or ("err", one line)."""
    from model_core.inference.engine import model_key, one_line

    try:
        if op == "load":
            path, family = args
            try:
                engine.load(path, family)   # None when loaded already: still loaded
            except Exception as exc:  # noqa: BLE001 - the loader's line, naming the file
                return ("err", one_line(exc, path))
            return ("ok", model_key(path))
        if op == "remove":
            return ("ok", engine.remove(args[0]))
        if op == "frame_count":
            frames, _audio = engine.sources(*args)
            return ("ok", int(frames.frame_count))
        if op == "compute":
            video, frames_spec, audio_spec, indices, hop, missing = args
            read0 = engine.read_seconds
            engine.compute(video, frames_spec, audio_spec, indices, hop, missing)
            out = []
            for i in indices:
                for m in missing[i]:
                    key = MapKey(video, m, audio_spec.key, i)
                    entry = engine.cache.get(key)
                    if entry is not None:
                        out.append((key, entry))
            return ("ok", (out, engine.read_seconds - read0))
        return ("err", f"map process: unknown request {op!r}")
    except Exception as exc:  # noqa: BLE001 - one line back; the child goes on
        log.debug("map process request %s failed", op, exc_info=True)
        return ("err", one_line(exc))


class MapProcess:
    """The parent's handle on the child; used by one thread at a time (the map worker's).

    Parameters
    ----------
    factory : the model factory, sent to the child (:func:`picklable` must hold).
    batch : the child engine's batch (frames per step; the parent chooses the frames).
    """

    def __init__(self, factory, batch: int = 4):
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, factory, int(batch)), name="avsol-map-process",
                                 daemon=True)
        try:
            self._proc.start()
        except Exception as exc:  # noqa: BLE001 - whatever stops a process from starting
            raise MapProcessError(f"map process could not start: {type(exc).__name__}: {exc}") from exc
        finally:
            child.close()  # the child's end lives in the child: its death closes the pipe
        #: replies not read yet: ("load", path) / ("remove", key), in the order sent
        self._pending: deque[tuple[str, str]] = deque()
        self._loaded: set[str] = set()
        self._failed: dict[str, str] = {}   # path -> why the child could not load it
        self._counts: dict = {}             # FrameSpec -> frame count
        self._dead: str | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._dead is None and self._proc.is_alive()

    # -- talking ------------------------------------------------------------------------
    def _send(self, op: str, args: tuple) -> None:
        if self._dead is not None:
            raise MapProcessError(self._dead)
        try:
            self._conn.send((op, args))
        except (OSError, EOFError, ValueError) as exc:
            raise self._died(f"map process unreachable: {type(exc).__name__}: {exc}") from exc

    def _died(self, why: str) -> MapProcessError:
        if self._dead is None:
            code = self._proc.exitcode
            self._dead = why if code is None else f"{why} (exit code {code})"
        return MapProcessError(self._dead)

    def _recv(self, stop: Callable[[], bool] | None = None, block: bool = True):
        """The next reply (None when not ``block`` and none is there yet)."""
        if self._dead is not None:
            raise MapProcessError(self._dead)
        try:
            while not self._conn.poll(POLL_S if block else 0):
                if not block:
                    return None
                if not self._proc.is_alive():
                    raise self._died("map process ended")
                if stop is not None and stop():
                    # the reply is still coming: the protocol is out of step from here on
                    raise self._died("map process abandoned while computing")
            return self._conn.recv()
        except (OSError, EOFError) as exc:
            raise self._died(f"map process ended: {type(exc).__name__}") from exc

    def _settle(self, reply, op: str, what: str) -> None:
        status, value = reply
        if op == "load":
            if status == "ok":
                self._loaded.add(value)
            else:
                self._failed[what] = value
                log.warning("map process: %s", value)
        elif op == "remove":
            self._loaded.discard(what)

    def _drain(self, block: bool, stop: Callable[[], bool] | None = None) -> None:
        while self._pending:
            reply = self._recv(stop, block)
            if reply is None:
                return
            op, what = self._pending.popleft()
            self._settle(reply, op, what)

    def _call(self, op: str, args: tuple, stop: Callable[[], bool] | None = None):
        self._drain(True, stop)
        self._send(op, args)
        status, value = self._recv(stop)
        if status != "ok":
            raise ComputeError(value)
        return value

    # -- models ---------------------------------------------------------------------------
    def load(self, path: str, family: str | None = None) -> None:
        """Load ``path`` in the child (under the same model key as in the parent's engine,
        ``model_key(path)``); no waiting: :meth:`ready_for` tells when it is there."""
        self._send("load", (path, family))
        self._pending.append(("load", path))

    def remove(self, key: str) -> None:
        """Forget the model ``key`` in the child (no waiting)."""
        self._send("remove", (key,))
        self._pending.append(("remove", key))

    def ready_for(self, keys: Sequence[str]) -> bool:
        """True when no reply is outstanding and the child has every model of ``keys`` (the
        parent's loaded models); reads the replies that have come, without waiting."""
        self._drain(False)
        return not self._pending and set(keys) <= self._loaded

    @property
    def load_failures(self) -> dict[str, str]:
        """{path: one line} of the checkpoints the child could not load."""
        return dict(self._failed)

    # -- maps -----------------------------------------------------------------------------
    def frame_count(self, video: str, frames_spec, audio_spec) -> int:
        """Frames of ``frames_spec`` (the child opens the sources the next compute needs)."""
        n = self._counts.get(frames_spec)
        if n is None:
            n = self._counts[frames_spec] = int(self._call("frame_count", (video, frames_spec, audio_spec)))
        return n

    def compute(self, video: str, frames_spec, audio_spec, indices: Sequence[int], hop, missing: dict,
                stop: Callable[[], bool] | None = None) -> tuple[list, float]:
        """:meth:`MapEngine.compute` in the child: ``([(MapKey, MapEntry)], the child's
        seconds spent decoding)``, the entries of ``missing[i]``'s models for each frame."""
        missing = {int(i): list(missing[i]) for i in indices}
        return self._call("compute", (video, frames_spec, audio_spec, [int(i) for i in indices], hop, missing),
                          stop)

    def close(self) -> None:
        """Ask the child to end and wait a little; terminate it if it does not (or when a
        reply was abandoned: it is still computing)."""
        if self._dead is None:
            try:
                self._conn.send(("stop", ()))
                self._proc.join(CLOSE_WAIT_S)
            except (OSError, EOFError, ValueError):
                pass
        self._dead = self._dead or "map process closed"
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(CLOSE_WAIT_S)
        try:
            self._conn.close()
        except OSError:
            pass
