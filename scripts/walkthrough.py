"""A scripted walkthrough of the viewer in a REAL window, judged from its pixels.

Offscreen tests render at fixed sizes and never meet a window manager, so they missed the
bug a person sees first: opening a dock collapsed the video view. This script does what a
researcher does, in a real X window (run it under Xvfb plus a window manager; see
``tests/test_walkthrough.py``, which starts both):

open the demo with the bundled heads, play it, open and close each bottom tab (Evaluation,
Training, Follows the sound?), maximise the bottom area and restore it, evaluate a tiny
synthetic set with ``avsol eval``, click a failure row, walk the failures with F and
Shift+F, open and close live mode (file-backed camera and microphone), and start a second
window from the state the first one saved.

After each step it grabs the SCREEN (what the X server shows, window manager included),
saves it under ``--out`` and checks, from those pixels, that every head's frame fills its
cell (at least 90 % of the cell is not the background ``#1e1f22``) and, from the window's
frame geometry, that the window fits the screen. One JSON file (``result-WxH.json``)
records every check; the exit status is 0 when all passed, 1 otherwise.

    Xvfb :7 -screen 0 1366x768x24 & DISPLAY=:7 openbox &
    DISPLAY=:7 QT_QPA_PLATFORM=xcb .venv/bin/python scripts/walkthrough.py --out build/walkthrough
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "demo" / "demo.mp4"
HEADS = [REPO / "resources" / "models" / f"{h}.pt" for h in ("avc", "cls", "dnm")]
BACKGROUND = (0x1E, 0x1F, 0x22)
MIN_FILL = 0.90


def make_eval_set(root: Path) -> Path:
    """Three synthetic 2 s videos (the shapes the demo heads were trained on)."""
    from model_core.cli import main

    data = root / "data"
    code = main(["synth", str(data), "--videos", "3", "--seed", "3", "--duration", "2",
                 "--size", "160x120", "--fps", "10"])
    if code != 0:
        raise RuntimeError(f"avsol synth failed ({code})")
    return data


class Walk:
    """The window and the checks; one :meth:`check` per step."""

    def __init__(self, out: Path, tmp: Path):
        from PySide6.QtWidgets import QApplication

        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        self.out, self.tmp = out, tmp
        self.checks: list[dict] = []
        self.shot = 0
        self.win = None
        self.t0 = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    # -- the window ---------------------------------------------------------------------
    def open_window(self):
        from avsol_viewer.controller import ViewerController, wall_clock
        from avsol_viewer.main_window import MainWindow
        from avsol_viewer.settings import ViewerSettings

        settings = ViewerSettings(self.tmp / "settings.ini")
        win = MainWindow(settings, ViewerController(clock_factory=wall_clock))
        win.report_error = lambda title, text: print(f"walkthrough: dialog: {title}: {text}", file=sys.stderr)
        win.show()
        win.raise_()
        win.activateWindow()
        self.win = win
        self.wait(lambda: win.isVisible() and win.windowHandle() is not None and win.windowHandle().isExposed(), 10)
        self.settle(0.5)
        return win

    def wait(self, predicate, timeout_s: float, what: str = "") -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            self.app.processEvents()
            if predicate():
                return True
            time.sleep(0.02)
        if what:
            print(f"walkthrough: timed out waiting for {what}", file=sys.stderr)
        return False

    def settle(self, seconds: float = 0.4) -> None:
        """Let the window manager and the layout settle (a dock resizes in several passes)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.02)

    def layout_signature(self) -> tuple:
        """What moves while the window lays itself out: the window, the canvas, its grid."""
        win, heads = self.win, self.win.heads
        return (tuple(win.frameGeometry().getRect()), tuple(heads.geometry().getRect()),
                heads.mapTo(win, heads.rect().topLeft()).toTuple(), tuple(heads._geometry),
                tuple(tuple(v.vb.geometry().getRect()) for v in heads.views))

    def quiet(self, still_s: float = 0.4, longest_s: float = 8.0) -> None:
        """Process events until the layout has not moved for ``still_s`` (a dock opening
        resizes the canvas in several passes, the first show of a panel builds its plots)."""
        end = time.monotonic() + longest_s
        last, since = None, time.monotonic()
        while time.monotonic() < end:
            self.app.processEvents()
            sig = self.layout_signature()
            now = time.monotonic()
            if sig != last:
                last, since = sig, now
            elif now - since >= still_s:
                return
            time.sleep(0.02)

    def maps_ready(self) -> bool:
        c = self.win.controller
        return bool(c.maps.models) and c.shown_index >= 0 and c.maps.ready_at(c.shown_index)

    # -- the checks ---------------------------------------------------------------------
    def check(self, step: str, expect_views: int | None = None) -> dict:
        """Grab the screen, save it, and judge every head's cell and the window's fit."""
        from PySide6.QtCore import QPoint, QRect

        win = self.win
        screen = win.screen()
        sg = screen.geometry()
        for _ in range(3):  # a grab taken while the layout still moved is taken again
            self.quiet()
            before = self.layout_signature()
            pix = screen.grabWindow(0)
            self.app.processEvents()
            if self.layout_signature() == before:
                break
        self.shot += 1
        name = f"{self.shot:02d}-{step}.png"
        pix.save(str(self.out / name))
        img = pix.toImage()
        ratio = pix.devicePixelRatio() or 1.0
        heads = win.heads
        cells = []
        for k, v in enumerate(heads.views):
            scene = v.vb.mapRectToScene(v.vb.boundingRect())
            view_rect = heads.mapFromScene(scene).boundingRect()
            top_left = heads.viewport().mapToGlobal(view_rect.topLeft()) - sg.topLeft()
            rect = QRect(top_left, view_rect.size())
            fill = _fill(img, rect, ratio)
            (x0, x1), (y0, y1) = v.vb.viewRange()
            size = v._size or (0, 0)
            whole = x0 <= 0.5 and y0 <= 0.5 and x1 >= size[0] - 0.5 and y1 >= size[1] - 0.5
            cells.append({"view": k, "rect": [rect.x(), rect.y(), rect.width(), rect.height()],
                          "fill": round(fill, 3), "whole_frame": whole})
        frame = win.frameGeometry()
        bottom = win.statusBar().mapToGlobal(QPoint(0, win.statusBar().height() - 1)).y()
        fits = sg.contains(frame) or (frame.width() <= sg.width() + 1 and frame.height() <= sg.height() + 1
                                      and frame.left() >= sg.left() - 1 and frame.top() >= sg.top() - 1)
        fits = fits and bottom < sg.bottom() + 1
        ok = fits and bool(cells) and all(c["fill"] >= MIN_FILL and c["whole_frame"] for c in cells)
        if expect_views is not None and len(cells) != expect_views:
            ok = False
        vp = heads.viewport().size()
        layout = {"panel": [vp.width(), vp.height()], "grid": list(heads._geometry),
                  "scene_rect": _rect(heads.sceneRect()), "layout_rect": _rect(heads.ci.geometry()),
                  "first_view": _rect(heads.views[0].vb.geometry()) if heads.views else None}
        rec = {"step": step, "screenshot": name, "ok": ok, "fits_screen": fits, "layout": layout,
               "window": [frame.x(), frame.y(), frame.width(), frame.height()],
               "screen": [sg.width(), sg.height()], "views": len(cells), "cells": cells}
        self.checks.append(rec)
        worst = min((c["fill"] for c in cells), default=0.0)
        print(f"walkthrough: {self.elapsed():5.1f} s {'ok  ' if ok else 'FAIL'} {step}: window {frame.width()}x{frame.height()} on "
              f"{sg.width()}x{sg.height()}, {len(cells)} views, worst fill {worst:.2f}", flush=True)
        return rec

    def note(self, step: str, ok: bool, detail: str = "") -> None:
        self.checks.append({"step": step, "ok": bool(ok), "detail": detail})
        print(f"walkthrough: {self.elapsed():5.1f} s {'ok  ' if ok else 'FAIL'} {step} {detail}", flush=True)

    def key(self, key, modifier=None) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        self.win.activateWindow()
        target = self.win.focusWidget() or self.win
        QTest.keyClick(target, key, modifier or Qt.KeyboardModifier.NoModifier)
        self.settle(0.2)

    # -- the walk -----------------------------------------------------------------------
    def run(self) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        win = self.open_window()
        c = win.controller
        # Tools › Evaluate folder… on a tiny synthetic set, started first: the avsol eval
        # child (most of it importing torch) runs while the rest of the walk goes on
        from avsol_viewer.evaluate import commands
        from avsol_viewer.evaluate.eval_job import EvalRequest

        data = make_eval_set(self.tmp)
        job = win.evaluation.job
        done: list = []
        job.finished.connect(lambda *args: done.append(args))
        req = EvalRequest(str(data), tuple(str(h) for h in HEADS), str(self.tmp / "run" / "report.json"),
                          device="cpu", threads=1)
        commands.evaluate(win.context, req)
        win.evaluation.dock.close()
        win.open_path(DEMO)
        for h in HEADS:
            win.load_checkpoint(h)
        self.wait(lambda: len(c.maps.models) == len(HEADS) and self.maps_ready(), 90, "the maps of frame 0")
        self.check("open-demo", expect_views=len(HEADS) + 1)

        c.player.play()
        self.settle(1.5)
        c.player.pause()
        self.wait(self.maps_ready, 30, "the maps after playing")
        self.check("played", expect_views=len(HEADS) + 1)

        docks = [("evaluation", win.evaluation.dock), ("training", win.training.dock),
                 ("sound-check", win.sound_check.dock)]
        for name, dock in docks:
            if name == "sound-check":
                win.sound_check.compare()
            else:
                dock.show()
                dock.raise_()
            self.check(f"{name}-open", expect_views=len(HEADS) + 1)
            dock.close()
            self.check(f"{name}-closed", expect_views=len(HEADS) + 1)

        # the bottom area given the window, then back
        win.evaluation.dock.show()
        win.set_bottom_maximised(True)
        self.settle(0.6)
        self.shot += 1
        win.screen().grabWindow(0).save(str(self.out / f"{self.shot:02d}-bottom-maximised.png"))
        frame, avail = win.frameGeometry(), win.screen().availableGeometry()
        self.note("bottom-maximised", win.evaluation.dock.height() > 0.6 * win.height() and avail.contains(frame),
                  f"dock {win.evaluation.dock.height()} of {win.height()} px, window {frame.width()}x{frame.height()}")
        win.set_bottom_maximised(False)
        self.check("bottom-restored", expect_views=len(HEADS) + 1)

        # the evaluation started at the beginning: its report in the panel
        self.wait(lambda: bool(done), 120, "avsol eval")
        win.evaluation.dock.show()
        win.evaluation.dock.raise_()
        self.note("evaluated", bool(done) and done[0][0] == "done", str(done[0][:1] if done else "no answer"))
        panel = win.evaluation.panel
        self.check("evaluated", expect_views=len(HEADS) + 1)

        # click the first failure row (the worst first)
        row = next((i for i in range(panel.proxy.rowCount()) if panel.proxy.row_at(i).get("failure")), None)
        self.note("a failure row", row is not None)
        if row is not None:
            ix = panel.proxy.index(row, 1)
            panel.table.scrollTo(ix)
            rect = panel.table.visualRect(ix)
            QTest.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                             rect.center())
            want = panel.proxy.row_at(row)
            self.wait(lambda: c.session is not None and c.session.path.name == want["video"], 30, "the item's video")
            self.wait(self.maps_ready, 60, "the item's maps")
            self.check("failure-row-clicked")
            # F and Shift+F walk the failures
            win.heads.setFocus()
            self.key(Qt.Key.Key_F)
            after_f = panel.current_row()
            self.wait(self.maps_ready, 60, "the next failure's maps")
            self.check("next-failure-F")
            self.key(Qt.Key.Key_F, Qt.KeyboardModifier.ShiftModifier)
            after_shift = panel.current_row()
            self.note("F / Shift+F walk the failures", after_f != row and after_shift == row,
                      f"rows {row} -> {after_f} -> {after_shift}")
            # View › Inspect item large (Ctrl+I): every head on the item, in a window of its own
            self.key(Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
            ins = win.inspection
            self.wait(lambda: ins.isVisible() and ins.windowHandle() is not None and ins.windowHandle().isExposed(),
                      10, "the inspection window")
            self.settle(0.5)
            self.shot += 1
            win.screen().grabWindow(0).save(str(self.out / f"{self.shot:02d}-inspect-large.png"))
            avail = win.screen().availableGeometry()
            img = panel._preview_image
            strip_w = panel.preview.pixmap().width() if not panel.preview.pixmap().isNull() else 0
            large_w = (min(ins.picture.width() / img.shape[1], ins.picture.height() / img.shape[0]) * img.shape[1]
                       if img is not None else 0)
            self.note("inspect-large", ins.isVisible() and avail.contains(ins.frameGeometry())
                      and img is not None and large_w >= 2 * strip_w > 0,
                      f"drawn {large_w:.0f} px wide vs {strip_w} px in the panel")
            ins.close()
            # a row opened while the bottom area has the window gives the canvas back
            win.set_bottom_maximised(True)
            self.settle(0.3)
            panel.activate(row)
            self.wait(self.maps_ready, 60, "the item's maps")
            self.check("row-opened-from-maximised")
        win.evaluation.dock.close()
        self.check("evaluation-closed")

        # live mode, file-backed camera and microphone
        live = win.live
        live.start(str(DEMO), str(DEMO))
        self.wait(lambda: live.shown >= 5, 60, "live maps")
        self.check("live")
        live.stop()
        self.wait(self.maps_ready, 60, "the file's maps after live mode")
        self.check("live-stopped")

        # a later launch starts from the saved state: the evaluation tab left open
        win.evaluation.dock.show()
        self.settle(0.3)
        win.close()
        self.settle(0.3)
        win2 = self.open_window()
        win2.open_path(DEMO)
        for h in HEADS:
            win2.load_checkpoint(h)
        self.wait(lambda: len(win2.controller.maps.models) == len(HEADS) and self.maps_ready(), 90, "maps again")
        self.check("relaunched", expect_views=len(HEADS) + 1)
        win2.close()


def _rect(r) -> list:
    return [round(r.x(), 1), round(r.y(), 1), round(r.width(), 1), round(r.height(), 1)]


def _fill(img, rect, ratio: float) -> float:
    """Share of ``rect`` (logical pixels of ``img``) that is not the background colour."""
    import numpy as np

    if rect.width() < 4 or rect.height() < 4:
        return 0.0
    from PySide6.QtGui import QImage

    rgb = img.convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(rgb.constBits(), np.uint8).reshape(rgb.height(), rgb.bytesPerLine())
    arr = arr[:, : rgb.width() * 3].reshape(rgb.height(), rgb.width(), 3)
    x0, y0 = int(rect.x() * ratio), int(rect.y() * ratio)
    x1, y1 = int((rect.x() + rect.width()) * ratio), int((rect.y() + rect.height()) * ratio)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(arr.shape[1], x1), min(arr.shape[0], y1)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    cell = arr[y0:y1, x0:x1].astype(np.int16)
    background = np.all(np.abs(cell - np.array(BACKGROUND, np.int16)) <= 6, axis=2)
    # the share of the cell's whole area (a part off the screen counts as empty)
    return float((~background).sum()) / float(rect.width() * rect.height() * ratio * ratio)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(REPO / "build" / "walkthrough"), help="folder of the screenshots and JSON")
    args = p.parse_args(argv)
    if not os.environ.get("DISPLAY"):
        print("walkthrough: needs an X display (DISPLAY): run it under Xvfb", file=sys.stderr)
        return 2
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    sys.setswitchinterval(2e-4)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="avsol-walk-"))
    walk = Walk(out, tmp)
    size = walk.app.primaryScreen().geometry()
    tag = f"{size.width()}x{size.height()}"
    walk.out = out / tag
    walk.out.mkdir(parents=True, exist_ok=True)
    error = None
    try:
        walk.run()
    except Exception:
        error = traceback.format_exc()
        print(error, file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ok = error is None and all(c["ok"] for c in walk.checks)
    (out / f"result-{tag}.json").write_text(json.dumps({"screen": tag, "ok": ok, "error": error,
                                                         "checks": walk.checks}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
