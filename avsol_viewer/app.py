"""Entry point of ``avsol-viewer`` (SPEC 9), also ``python -m avsol_viewer.app``.

``avsol-viewer [FILE] [--checkpoint CKPT ... [--model-family NAME]] [--screenshot OUT.png [--at SECONDS]]
[--live [--camera INDEX|FILE] [--microphone DEVICE|FILE]] [--self-test]``

Start-up is ordered for speed (SPEC 8: an interactive window within 1.5 s): Qt and
pyqtgraph are imported, the window is shown, and only then is the file opened and are the
models loaded; torch is imported by the worker threads, never here. Without
``--checkpoint`` the bundled demo checkpoints ``resources/models/{avc,cls,dnm}.pt`` load
(if present; otherwise the viewer shows frames and spectrogram and says no model is
loaded). ``--checkpoint`` takes ours (``.pt``) or a published model's file (``.pth``,
``.pth.tar``: EZ-VSL, LVS, ...; the family is detected from its keys, ``--model-family``
forces one for every ``--checkpoint``).

``--screenshot`` renders the full window offscreen once the frame, the spectrogram and
every model's map at ``--at`` are ready (or ``--timeout`` passed), saves it and exits 0;
a file or checkpoint that cannot be used exits 2 with one line on stderr naming it.

``--self-test`` checks the installation itself (offscreen, the bundled clip and heads, one
screenshot; :mod:`avsol_viewer.self_test`): one line per check, exit 0, or 1 if one failed.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from avsol_viewer.constants import (INTERRUPTED, NOT_BEFORE_FIRST_PAINT, SCREENSHOT_SUFFIXES, STARTUP_PROBE_ENV,
                                    SWITCH_INTERVAL_S, default_checkpoints, headless_platform, resources_dir)


def build_parser() -> argparse.ArgumentParser:
    from model_core.options.types import OneLineParser, finite

    p = OneLineParser(prog="avsol-viewer", description="AVSOL Studio viewer")
    p.add_argument("file", nargs="?", help="video file to open")
    p.add_argument("--checkpoint", action="append", default=[], metavar="CKPT",
                   help="checkpoint to load, ours or a published model's .pth / .pth.tar (repeatable; "
                        "default: the bundled demo heads)")
    p.add_argument("--model-family", metavar="NAME", default=None,
                   help="force the family of the --checkpoint files (ezvsl, lvs, ...; default: "
                        "detected from the keys; see `avsol models list`)")
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="render the window, save it (PNG, or JPEG for .jpg/.jpeg), and exit")
    from model_core.inference.backends import BACKENDS, DEFAULT_BACKEND, DEFAULT_PRECISION, PRECISIONS

    p.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND,
                   help=f"what computes the maps on the CPU (default {DEFAULT_BACKEND}; auto: the fastest runtime "
                        "whose maps equal torch's here, compiled in the background while torch serves)")
    p.add_argument("--precision", choices=PRECISIONS, default=DEFAULT_PRECISION,
                   help=f"{DEFAULT_PRECISION} (default) or bf16 (faster, where the CPU has bf16 instructions)")
    p.add_argument("--at", type=finite(0), default=0.0, metavar="SECONDS", help="time for --screenshot (with --live: seconds of live mode before it)")
    p.add_argument("--timeout", type=finite(0, 86400, lo_open=True), default=180.0, metavar="SECONDS",
                   help="--screenshot: longest wait for the maps (then render without them)")
    p.add_argument("--live", action="store_true",
                   help="start live mode (camera + microphone; Live › Stop returns to FILE)")
    p.add_argument("--camera", metavar="INDEX|FILE", default=None,
                   help="--live: capture device index, or a video file played as if live (looping); "
                        "default: the last one chosen, else 0")
    p.add_argument("--microphone", metavar="DEVICE|FILE", default=None,
                   help="--live: input device name or index, or an audio/video file played as if live; "
                        "default: the last one chosen, else the default input")
    p.add_argument("--annotate", action="store_true",
                   help="open FILE in annotate mode (Annotate › Start): boxes per 1 s segment, saved as AVSOL-E")
    p.add_argument("--annotations", metavar="FILE", default=None,
                   help="--annotate: the AVSOL-E set to edit or create (default: avsol-e.json beside FILE)")
    p.add_argument("--annotator", metavar="NAME", default=None,
                   help="--annotate: the name recorded on your boxes (default: $USER)")
    p.add_argument("--prefill", metavar="HEAD", default=None,
                   help="--annotate: propose boxes from HEAD's thresholded map on each segment you reach, to "
                        "accept or fix (HEAD: a loaded head's name, its kind avc/cls/dnm, or a checkpoint file)")
    p.add_argument("--self-test", action="store_true",
                   help="check this installation offscreen (bundled demo clip and heads, one "
                        "inference per head, one screenshot), one line per check; exit 0 or 1")
    return p


def claim_screenshot(out: str, file: str | None, checkpoints: list[str]) -> str:
    """Check ``--screenshot OUT`` before any work (format by extension, not an input, a
    writable folder, one writer) and return the path to write; ``InputError`` if not."""
    from model_core.errors import InputError
    from model_core.input_protection import beside, report_inputs
    from model_core.outputs.checks import claim_outputs

    if Path(out).suffix.lower() not in SCREENSHOT_SUFFIXES:
        raise InputError(out, f"--screenshot must end in {', '.join(SCREENSHOT_SUFFIXES)} "
                              f"(the image format is taken from the extension)")
    # an image output: never over a media file or any data file, only over an earlier screenshot
    # FILE may be a report (opened in the Evaluation panel): what its meta names is read too
    paths, _ = claim_outputs({"--screenshot": (out, "image")},
                             {"FILE": [*beside(file), *report_inputs(file)], "--checkpoint": checkpoints},
                             lock="--screenshot")
    return str(paths["--screenshot"])


def _quiet_offscreen(mode, context, message) -> None:
    """Drop the offscreen plugin's notes about window hints (noise on every run); pass the rest."""
    if "propagateSizeHints" in message:
        return
    print(message, file=sys.stderr)


def _fail(message: str) -> int:
    print(f"avsol-viewer: error: {message}", file=sys.stderr)
    return 2


def _install_startup_probe(app, win) -> None:
    """Diagnostics for the start-up benchmark: at the window's first paint, write to the
    file named by ``$AVSOL_VIEWER_STARTUP_PROBE`` the wall-clock time (``time.time()``) and
    whether torch was imported by then (0/1) on the first line, the modules of
    ``NOT_BEFORE_FIRST_PAINT`` loaded by then on the second (``-``: none), and quit."""
    path = os.environ.get(STARTUP_PROBE_ENV)
    if not path:
        return
    from PySide6.QtCore import QEvent, QObject

    class _FirstPaint(QObject):
        def eventFilter(self, obj, ev):
            if ev.type() == QEvent.Type.Paint:
                loaded = [m for m in NOT_BEFORE_FIRST_PAINT if m in sys.modules]
                Path(path).write_text(f"{time.time():.6f} {int('torch' in sys.modules)}\n"
                                      f"{' '.join(loaded) or '-'}\n")
                obj.removeEventFilter(self)
                app.quit()
            return False

    # parented to the window, so it lives as long as the window does (no attribute needed)
    win.centralWidget().installEventFilter(_FirstPaint(win))


def open_initial(win, file: str | None, at: float, checkpoints: list[str], live=None,
                 family: str | None = None) -> None:
    """What the command line asks for: the file (at ``at`` s), then the checkpoints.

    The file first: its first frame shows before the model threads import torch.
    """
    if file and win.open_path(file) and at:
        win.controller.player.seek(at)
    for ckpt in checkpoints:
        win.load_checkpoint(ckpt, family)
    if not checkpoints:
        win.statusBar().showMessage("no model loaded: resources/models/*.pt not found "
                                    "(File › Add model…)", 15000)
    if live is not None:
        win.live.start(*live)


def _after_first_paint(win, func) -> None:
    """Run ``func`` once the window has painted (the file's decoding and the models' torch
    import then start in their threads without delaying the first picture)."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class _Once(QObject):
        def eventFilter(self, obj, ev):
            if ev.type() == QEvent.Type.Paint:
                obj.removeEventFilter(self)
                QTimer.singleShot(0, func)
            return False

    win.centralWidget().installEventFilter(_Once(win))   # parented to the window: it lives as long


def _exit_interrupted(signum, frame) -> None:
    """A signal during a headless run's start-up: release the output's lock, remove any
    temporary file beside it, say so in one line and exit 130 at once.

    Raising ``KeyboardInterrupt`` here instead (as Ctrl-C does by default) lands wherever the
    main thread happens to be: halfway through importing PySide6 or torch, or after the
    decoding and map threads started; the interpreter's shutdown then met half-built Qt
    objects and running QThreads and died of SIGSEGV now and then (a CI run saw exit -11).
    Nothing of the user's is written before the wait, so leaving without finalizers loses
    nothing. ``os.write`` rather than ``print``: the handler may interrupt a write to stderr.
    """
    from model_core.outputs.checks import remove_stale_temps
    from model_core.outputs.lock import release_all

    try:
        release_all()
        if _SCREENSHOT_OUT:
            remove_stale_temps(_SCREENSHOT_OUT)
        os.write(2, (INTERRUPTED + "\n").encode())
    finally:
        os._exit(130)


#: The headless run's output, for the start-up signal handler's clean-up.
_SCREENSHOT_OUT: list[str] = []


def main(argv: list[str] | None = None) -> int:
    from model_core import allocator

    allocator.bound_heap()  # first: the arena cap holds only if set before any thread starts
    from model_core.outputs.lock import release_all

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # a bad option (one line printed), --help
        return exc.code if isinstance(exc.code, int) else 2
    if args.self_test:
        if args.file or args.checkpoint or args.screenshot or args.live:
            return _fail("--self-test takes no FILE, --checkpoint, --screenshot or --live")
        return _self_test(args.timeout)
    previous = {}
    if args.screenshot and threading.current_thread() is threading.main_thread():
        # A headless run: SIGINT and SIGTERM alike. The wait for the maps installs its own
        # handlers and ends through the event loop; before it (imports, the window, opening
        # the file) the handler ends the process at once (see _exit_interrupted).
        previous = {sig: signal.signal(sig, _exit_interrupted) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _main(args)
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    finally:
        release_all()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _self_test(timeout_s: float) -> int:
    """``--self-test``: always offscreen (a user's display is not needed, nor touched)."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    qInstallMessageHandler(_quiet_offscreen)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from avsol_viewer import plotting  # noqa: F401 - the first import of pyqtgraph (see plotting)
    from avsol_viewer.controller import ViewerController, wall_clock
    from avsol_viewer.main_window import MainWindow
    from avsol_viewer.self_test import run
    from avsol_viewer.settings import ViewerSettings

    win = MainWindow(ViewerSettings(read_only=True), ViewerController(clock_factory=wall_clock))
    win.resize(1600, 960)
    win.show()
    try:
        return run(app, win, timeout_s)
    except Exception as exc:  # a broken bundle: say what, as a failed check, not a traceback
        print(f"FAILED self-test: {type(exc).__name__}: {exc}", flush=True)
        return 1
    finally:
        win.close()


def _main(args: argparse.Namespace) -> int:
    checkpoints = args.checkpoint or [str(p) for p in default_checkpoints()]
    if args.model_family is not None and not args.checkpoint:
        return _fail("--model-family needs --checkpoint FILE (the file whose family it forces)")
    if (args.camera is not None or args.microphone is not None) and not args.live:
        return _fail("--camera and --microphone need --live")
    if args.live and args.screenshot and args.at >= args.timeout:
        # the wait for S seconds of live mode ends at --timeout, which would cap --at silently
        return _fail(f"--at {args.at:g} (seconds of live mode before the screenshot) must be below "
                     f"--timeout {args.timeout:g}; raise --timeout or lower --at")
    if (args.annotations is not None or args.annotator is not None or args.prefill is not None) \
            and not args.annotate:
        return _fail("--annotations, --annotator and --prefill need --annotate")
    if args.prefill is not None and os.path.isfile(args.prefill) and args.prefill not in checkpoints:
        checkpoints.append(args.prefill)   # a checkpoint named by --prefill is loaded as a head
    if args.annotate and (not args.file or args.live or args.screenshot):
        return _fail("--annotate needs a video FILE (and no --live or --screenshot)")
    live = (args.camera, args.microphone) if args.live else None
    if args.screenshot:
        from model_core.errors import InputError

        try:
            args.screenshot = claim_screenshot(args.screenshot, args.file, checkpoints)
        except InputError as exc:
            return _fail(str(exc))
        _SCREENSHOT_OUT[:] = [args.screenshot]
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    if args.screenshot and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    if headless_platform():
        qInstallMessageHandler(_quiet_offscreen)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("AVSOL Studio")
    app.setOrganizationName("AVSOL")
    icon = resources_dir() / "icons" / "avsol-studio.png"
    if icon.is_file():
        from PySide6.QtGui import QIcon

        app.setWindowIcon(QIcon(str(icon)))
    from avsol_viewer import plotting  # noqa: F401 - the first import of pyqtgraph (see plotting)
    from avsol_viewer.controller import ViewerController, wall_clock
    from avsol_viewer.main_window import MainWindow
    from avsol_viewer.maps.map_worker import PROCESS_REQUESTED
    from avsol_viewer.settings import ViewerSettings

    headless = bool(args.screenshot)
    import functools

    from model_core.inference.engine import default_localizer

    controller = ViewerController(
        localizer_factory=functools.partial(default_localizer, backend=args.backend, precision=args.precision),
        clock_factory=wall_clock if headless else None, map_process=not headless and PROCESS_REQUESTED)
    win = MainWindow(ViewerSettings(read_only=headless), controller)
    if headless:
        from avsol_viewer.headless import render_screenshot

        win.resize(1600, 960)
        win.show()
        try:
            return render_screenshot(app, win, args.file, checkpoints, args.at, args.screenshot, args.timeout,
                                     live=live, family=args.model_family)
        finally:
            win.close()
    win.show()
    _install_startup_probe(app, win)
    def first() -> None:
        open_initial(win, args.file, args.at, checkpoints, live, args.model_family)
        if args.annotate and win.controller.session is not None:
            win.annotate.start(args.annotations, args.annotator, prefill=args.prefill)

    _after_first_paint(win, first)
    code = app.exec()
    win.close()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
