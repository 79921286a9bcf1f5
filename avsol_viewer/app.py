"""Entry point of ``avsol-viewer`` (SPEC 9).

A placeholder window until the viewer issue fills it: it opens, shows the file it was given,
and supports ``--screenshot`` so that the quick start and the tests can render it headless.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="avsol-viewer", description="AVSOL Studio viewer")
    p.add_argument("file", nargs="?", help="video file to open")
    p.add_argument("--checkpoint", action="append", default=[], help="checkpoint to load (repeatable)")
    p.add_argument("--screenshot", metavar="OUT.png", help="render the window, save it, and exit")
    p.add_argument("--at", type=float, default=0.0, metavar="SECONDS", help="time for --screenshot")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from PySide6 import QtWidgets, QtCore

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("AVSOL Studio")
    win = QtWidgets.QMainWindow()
    win.setWindowTitle("AVSOL Studio" + (f" — {Path(args.file).name}" if args.file else ""))
    label = QtWidgets.QLabel(
        f"AVSOL Studio\n\n{args.file or 'Drop a video here'}", alignment=QtCore.Qt.AlignCenter)
    win.setCentralWidget(label)
    win.resize(960, 600)
    win.show()
    if args.screenshot:
        app.processEvents()
        ok = win.grab().save(args.screenshot)
        if not ok:
            print(f"avsol-viewer: error: {args.screenshot}: cannot write the screenshot", file=sys.stderr)
            return 2
        print(f"avsol-viewer: screenshot saved to {args.screenshot}")
        return 0
    return app.exec()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
