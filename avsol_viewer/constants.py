"""The viewer's resources and constants: where the bundled files are, and the names every
entry point (``app``, ``headless``, ``self_test``) and feature shares.

A leaf module: it imports nothing of the viewer and no Qt, so any module may import it
without pulling in the entry point (whose imports would otherwise run in a circle:
app -> headless -> app).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

#: The source tree's root (the code's own location, never the working directory).
REPO = Path(__file__).resolve().parents[1]
#: The bundled demo heads, ``resources/models/<name>.pt``, loaded when no ``--checkpoint`` is given.
DEMO_HEADS = ("avc", "cls", "dnm")
#: Names the file the start-up benchmark's probe writes at the window's first paint.
STARTUP_PROBE_ENV = "AVSOL_VIEWER_STARTUP_PROBE"
#: Modules the first paint must not have imported (SPEC 8: a window within 1.5 s): the
#: inference runtimes (imported by the map worker once the window is up; torch alone costs
#: seconds) and pyqtgraph's CUDA interop (see ``avsol_viewer.plotting``). The start-up
#: probe reports which of them were loaded; a test fails on any.
NOT_BEFORE_FIRST_PAINT = ("torch", "openvino", "onnxruntime", "onnx", "cuda.bindings")
#: Screenshot formats, by the file's extension (anything else is refused before any work).
SCREENSHOT_SUFFIXES = (".png", ".jpg", ".jpeg")
#: The one line an interrupted headless run prints (exit 130).
INTERRUPTED = "avsol-viewer: interrupted; no screenshot written; rerun the same command"
#: GIL switch interval (s) while the viewer runs: with the default 5 ms the GUI thread waits
#: up to 5 ms for the GIL each time the map worker hands it back (dozens of times a frame),
#: which cost played frames on a busy machine (figures in benchmarks/README.md).
SWITCH_INTERVAL_S = 2e-4


def resources_dir() -> Path:
    """``$AVSOL_RESOURCES``, the frozen app's data folder, or the repository's ``resources``.

    Always found from the code's own location (a PyInstaller bundle sets ``sys.frozen`` and
    ``sys._MEIPASS``, its ``_internal`` folder; a clone installed with ``pip install -e``
    runs from the clone), never from the working directory.
    """
    env = os.environ.get("AVSOL_RESOURCES")
    if env:
        return Path(env)
    if getattr(sys, "frozen", False):
        base = getattr(sys, "_MEIPASS", None) or os.path.dirname(sys.executable)
        return Path(base) / "resources"
    return REPO / "resources"


def default_checkpoints() -> list[Path]:
    """The bundled demo heads present in this installation."""
    folder = resources_dir() / "models"
    return [p for p in (folder / f"{h}.pt" for h in DEMO_HEADS) if p.is_file()]


def headless_platform() -> bool:
    """Whether Qt renders offscreen (tests, ``--screenshot``): nobody sees the window."""
    return os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal")
