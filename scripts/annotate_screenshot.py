"""Render docs/annotate.png: the viewer in annotate mode on the bundled demo, offscreen.

Why a script: the picture in docs/annotate.md should be remade whenever the mode's look
changes, by anyone, without a display. The demo's avsol-e.json is copied to a temporary
folder first, so the bundled file is never written.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/annotate_screenshot.py [OUT.png]
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else REPO / "docs" / "annotate.png"
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from avsol_viewer.controller import ViewerController
    from avsol_viewer.main_window import MainWindow
    from avsol_viewer.settings import ViewerSettings

    with tempfile.TemporaryDirectory() as tmp:
        demo = REPO / "resources" / "demo"
        shutil.copy(demo / "demo.mp4", Path(tmp) / "demo.mp4")
        shutil.copy(demo / "avsol-e.json", Path(tmp) / "avsol-e.json")
        win = MainWindow(ViewerSettings(Path(tmp) / "settings.ini"), ViewerController())
        win.resize(1366, 768)
        win.show()
        if not win.open_path(Path(tmp) / "demo.mp4") or not win.annotate.start(Path(tmp) / "avsol-e.json", "you"):
            print(f"annotate_screenshot: {win.last_error}", file=sys.stderr)
            return 1
        mode = win.annotate
        mode.step(2)
        mode.set_view("all")
        for _ in range(1500):   # the segment's frame and the sound track decode in their threads
            app.processEvents()
            if mode.canvas.frame_size is not None and win.controller.track is not None:
                break
            import time

            time.sleep(0.02)
        mode.add_box(0.08, 0.55, 0.3, 0.95)
        mode.set_label("man")
        mode.toggle_sounding()
        for _ in range(20):
            app.processEvents()
        win.grab().save(str(out))
        mode.stop()
        win.close()
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
