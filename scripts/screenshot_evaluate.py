"""Render docs/screenshot-evaluate.png: the Evaluation panel on a small synthetic set
evaluated with the bundled demo heads, one item inspected (all heads side by side).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshot_evaluate.py [OUT.png]

Writes its synthetic set and report under ``build/screenshot-evaluate/`` (reused).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from model_core.cli import main as avsol

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshot-evaluate.png"
    work = ROOT / "build" / "screenshot-evaluate"
    data, report = work / "data", work / "report.json"
    if not (data / "avsol-e.json").exists():
        assert avsol(["synth", str(data), "--videos", "6", "--seed", "4", "--duration", "3", "--size", "96",
                      "--fps", "10"]) == 0
    if not report.exists():
        models = ROOT / "resources" / "models"
        args = ["eval", str(data), "--out", str(report), "--threads", "1"]
        for head in ("avc", "cls", "dnm"):
            args += ["--checkpoint", str(models / f"{head}.pt")]
        assert avsol(args) == 0

    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from avsol_viewer.evaluate import commands
    from avsol_viewer.main_window import MainWindow
    from avsol_viewer.settings import ViewerSettings

    win = MainWindow(ViewerSettings(work / "settings.ini"))
    win.resize(1400, 950)
    win.show()
    commands.open_report(win.context, report)
    panel = win.evaluation.panel
    panel.filters["size"].setCurrentText("medium")
    commands.step_failure(win.context, 1)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60 and (len(win.controller.maps.models) < 3
                                          or not win.controller.maps.ready_at(win.controller.shown_index)):
        app.processEvents()
        time.sleep(0.05)
    win.heads.reset_zoom()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.5:
        app.processEvents()
        time.sleep(0.05)
    ok = win.grab().save(str(out))
    win.close()
    print(f"wrote {out}" if ok else f"could not write {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
