"""Render docs/annotate.png: the viewer in annotate mode on the bundled demo.

Why a script: the picture in docs/annotate.md should be remade whenever the mode's look
changes, by anyone, without a display. The demo's avsol-e.json is copied to a temporary
folder first, so the bundled file is never written.

The picture: segment 2 (2-3 s) of the demo, all annotators shown, a second annotator
("you") has drawn the sounding magenta cross near the set's own box and labelled it; the
dock shows the agreement with the set's unnamed annotator on that segment. In a real X
window (Xvfb with a window manager, as a screen shows it) the whole screen is grabbed;
offscreen, the window alone. The PNG is saved with an adaptive 256-colour palette (a
third of the size; the picture is flat colours and a spectrogram).

    xvfb-run -a -s "-screen 0 1366x768x24" sh -c \\
        'openbox & sleep 1; QT_QPA_PLATFORM=xcb .venv/bin/python scripts/annotate_screenshot.py'
    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/annotate_screenshot.py [OUT.png]
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZE = (1366, 768)
#: "you" redraw the sounding magenta cross of segment 2 (the set's box: .024 .537 .283 .883)
YOUR_BOX = (0.03, 0.55, 0.29, 0.89)


def _settle(app, until, seconds: float = 30.0) -> bool:
    """Run the event loop until ``until()`` (decoding threads deliver), at most ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if until():
            return True
        time.sleep(0.02)
    return False


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else REPO / "docs" / "annotate.png"
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from avsol_viewer.controller import ViewerController
    from avsol_viewer.main_window import MainWindow
    from avsol_viewer.playback.clock import WallClock
    from avsol_viewer.settings import ViewerSettings

    with tempfile.TemporaryDirectory() as tmp:
        demo = REPO / "resources" / "demo"
        shutil.copy(demo / "demo.mp4", Path(tmp) / "demo.mp4")
        shutil.copy(demo / "avsol-e.json", Path(tmp) / "avsol-e.json")
        # no sound is played: a silent clock, so the status bar does not report the missing device
        controller = ViewerController(clock_factory=lambda track: (WallClock(), ""))
        win = MainWindow(ViewerSettings(Path(tmp) / "settings.ini"), controller)
        win.resize(*SIZE)
        offscreen = QApplication.platformName() == "offscreen"
        win.show() if offscreen else win.showMaximized()
        mode = win.annotate
        if not win.open_path(Path(tmp) / "demo.mp4") or not mode.start(Path(tmp) / "avsol-e.json", "you"):
            print("annotate_screenshot: the demo could not be opened in annotate mode", file=sys.stderr)
            return 1
        mode.step(2)
        mode.set_view("all")
        _settle(app, lambda: mode.canvas.frame_size is not None and controller.track is not None)
        mode.add_box(*YOUR_BOX)                          # selected once drawn
        mode.set_label("magenta cross")
        win.statusBar().clearMessage()
        win.resizeDocks([mode.dock], [470], Qt.Orientation.Vertical)
        _settle(app, lambda: False, 1.5)                 # the layout and the paints settle
        shot = win.grab() if offscreen else win.screen().grabWindow(0)
        full = Path(tmp) / "full.png"
        if not shot.save(str(full)):
            print(f"annotate_screenshot: cannot write {full}", file=sys.stderr)
            return 1
        from PIL import Image   # pillow: in requirements.lock (torchvision's)

        with Image.open(full) as im:   # an adaptive 256-colour palette: ~90 KB instead of ~280 KB
            im.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
                out, optimize=True)
        mode.stop()
        win.close()
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
