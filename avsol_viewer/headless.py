"""``avsol-viewer FILE --screenshot OUT.png [--at SECONDS]``: render once, save, exit.

Waits in the Qt event loop (the workers run as in the interactive viewer) until the
frame at ``--at`` is on screen, the spectrogram is drawn, every checkpoint has loaded or
failed, and every model's map of that frame (and of the current segment's annotated
frame) is cached; or until the timeout, after which it renders what it has and says so.
A failure that means those maps or that spectrogram can never come (a checkpoint that does
not load, the map worker failing, e.g. on a broken torch, or the sound track failing
to decode) ends the wait at once: exit 2 with that one line and no picture, never a
screenshot of "computing…" that claims success.
"""
from __future__ import annotations

import signal
import sys
import time

from PySide6.QtCore import QEventLoop, QTimer

POLL_MS = 25


def wait_until(predicate, timeout_s: float) -> bool:
    """Run the event loop until ``predicate()`` is true or ``timeout_s`` passed."""
    deadline = time.monotonic() + timeout_s
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(POLL_MS)

    def check():
        if predicate() or time.monotonic() > deadline:
            loop.quit()

    timer.timeout.connect(check)
    timer.start()
    if not predicate():
        loop.exec()
    timer.stop()
    return bool(predicate())


def render_screenshot(app, win, file: str | None, checkpoints: list[str], at: float, out: str,
                      timeout_s: float, live: tuple | None = None, family: str | None = None) -> int:
    """The whole headless run; returns the exit status (0, or 2 for bad input)."""
    from model_core.errors import InputError

    errors: list[str] = []
    win.report_error = lambda title, text: errors.append(text)
    c = win.controller
    failed: list[str] = []  # a model, the map worker or the sound track failed: nothing to wait for
    c.maps.model_failed.connect(lambda path, message: failed.append(message))
    c.maps.problem.connect(failed.append)
    c.track_failed.connect(lambda message: failed.append(f"sound track: {message}"))
    if file is not None:
        if not win.open_path(file):
            return _fail(errors[-1] if errors else f"{file}: cannot open")
    for ckpt in checkpoints:
        win.load_checkpoint(ckpt, family)
    if c.session is not None:
        c.player.seek(at)
    if live is not None:  # live mode: the first maps of every model (a camera fault ends the wait)
        win.live.problem.connect(lambda kind, message: failed.append(message)
                                 if kind in ("camera", "maps") and message else None)

    def ready() -> bool:
        if failed or interrupted:
            return True
        if c.maps.loading:
            return False
        if live is not None:
            if not win.live.active:
                win.live.start(*live)
            return win.live.ready() and win.live.seconds_live() >= at
        s = c.session
        if s is None:
            return True
        if c.audio_loading:
            return False
        if c.shown_index != c.player.index:
            return False
        frames = [c.player.index]
        seg = c.current_segment()
        if seg is not None:
            frames.append(c.segment_frame(seg[1]))
        return all(c.maps.ready_at(i) for i in frames)

    interrupted: list[int] = []
    previous = _on_interrupt(interrupted.append)
    try:
        complete = wait_until(ready, timeout_s)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if interrupted:
        from avsol_viewer.constants import INTERRUPTED

        print(INTERRUPTED, file=sys.stderr)
        return 130
    if failed:
        return _fail(failed[0])
    if not complete:
        print(f"avsol-viewer: warning: maps not ready after {timeout_s:g} s; rendering without them",
              file=sys.stderr)
    if live is not None and win.live.active:
        win.live.update_hud()
    c.maps_changed.emit()
    app.processEvents()
    try:
        from avsol_viewer.export.screenshot import grab

        save_image(grab(win), out)
    except InputError as exc:
        return _fail(str(exc))
    print(f"avsol-viewer: screenshot saved to {out}")
    return 0


def _on_interrupt(callback) -> dict:
    """SIGINT and SIGTERM alike end the wait (checked by the poll timer); returns the
    handlers to put back."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, lambda signum, frame: callback(signum))
            for sig in (signal.SIGINT, signal.SIGTERM)}


def save_image(image, path: str) -> None:
    """PNG, or JPEG for ``.jpg`` / ``.jpeg`` (the format the name says), written atomically."""
    from avsol_viewer.export.screenshot import save_png

    if not str(path).lower().endswith((".jpg", ".jpeg")):
        save_png(image, path)
        return
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    from model_core.atomic import write_bytes
    from model_core.errors import InputError
    from model_core.input_protection import mark_image

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.convertToFormat(image.Format.Format_RGB32).save(buf, "JPEG", 92):
        raise RuntimeError("Qt could not encode the JPEG")
    buf.close()
    try:
        write_bytes(path, mark_image(bytes(data.data())))
    except OSError as exc:
        raise InputError(path, f"cannot write the screenshot ({exc.strerror or exc})") from None


def _fail(message: str) -> int:
    print(f"avsol-viewer: error: {message}", file=sys.stderr)
    return 2
