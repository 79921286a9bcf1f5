"""``avsol-viewer --self-test`` (SPEC 9) on the installed package, started from another
working directory whose path has spaces (resources are found next to the code, never in
the cwd); a missing resource and a screenshot without overlays are FAILED lines, exit 1.
Its per-backend maps are tested in ``test_self_test_backends.py``."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import avsol_viewer
from avsol_viewer.self_test import MIN_OVERLAY_DIFF, overlay_differences

PACKAGE_ROOT = Path(avsol_viewer.__file__).resolve().parents[1]


def _self_test(cwd: Path, **env) -> subprocess.CompletedProcess:
    cwd.mkdir(parents=True, exist_ok=True)
    full = {k: v for k, v in os.environ.items()
            if k not in ("QT_QPA_PLATFORM", "AVSOL_RESOURCES")}  # --self-test goes offscreen by itself
    full.update(PYTHONPATH=str(PACKAGE_ROOT), AVSOL_VIEWER_SETTINGS=str(cwd / "settings.ini"),
                AVSOL_CACHE=str(cwd / "cache"), **env)  # compiled backends: never the user's cache
    return subprocess.run([sys.executable, "-m", "avsol_viewer.app", "--self-test"], cwd=cwd,
                          capture_output=True, text=True, env=full, timeout=300)


@pytest.mark.slow
def test_self_test_passes_from_another_directory_with_spaces(tmp_path):
    res = _self_test(tmp_path / "a folder with spaces")
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.strip().splitlines()
    assert not [ln for ln in lines if ln.startswith("FAILED")], res.stdout
    for head in ("avc", "cls", "dnm"):
        assert any(ln.startswith(f"ok inference {head}:") for ln in lines), res.stdout
    assert any(ln.startswith("ok screenshot:") and "overlays in 3 head views" in ln for ln in lines)
    # one map per backend: torch's, then each installed compiled runtime's equal to it (a clone
    # expects none, so one it lacks is a 'skipped' line)
    assert any(ln.startswith("ok backend torch: 14x14 map of the frame at 1.00 s by dnm.pt") for ln in lines)
    for name in ("openvino", "onnxruntime"):
        assert [ln for ln in lines if ln.startswith((f"ok backend {name}: map equals torch's",
                                                     f"skipped backend {name}:"))], res.stdout
    assert lines[-1] == "self-test: all checks passed"
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "a folder with spaces" / "settings.ini").exists()  # touches no settings


def test_self_test_without_resources_fails_in_one_line(tmp_path):
    empty = tmp_path / "no resources"
    empty.mkdir()
    res = _self_test(tmp_path / "cwd", AVSOL_RESOURCES=str(empty))
    assert res.returncode == 1
    failed = [ln for ln in res.stdout.splitlines() if ln.startswith("FAILED")]
    assert len(failed) == 1 and "demo.mp4" in failed[0] and "dnm.pt" in failed[0], res.stdout
    assert "Traceback" not in res.stderr


def test_self_test_refuses_other_arguments(tmp_path):
    res = subprocess.run([sys.executable, "-m", "avsol_viewer.app", "--self-test", "x.mp4"],
                         capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT)))
    assert res.returncode == 2 and "--self-test takes no FILE" in res.stderr


def test_overlay_differences_by_hand():
    """Plain frame at x 0..3, a head with an overlay (+30 on half its pixels: mean 15) at
    x 4..7, a head without one (identical) at x 8..11: [15, 0]; only the first passes."""
    shot = np.zeros((2, 12, 3), np.uint8)
    shot[:, 0:4] = 100
    shot[:, 4:8] = 100
    shot[0, 4:8] = 130
    shot[:, 8:12] = 100
    diffs = overlay_differences(shot, [(0, 0, 4, 2), (4, 0, 4, 2), (8, 0, 4, 2)])
    assert diffs == [15.0, 0.0]
    assert diffs[0] >= MIN_OVERLAY_DIFF > diffs[1]
    # a screenshot at twice the window's pixels: the rects scale with it
    big = np.repeat(np.repeat(shot, 2, axis=0), 2, axis=1)
    assert overlay_differences(big, [(0, 0, 4, 2), (4, 0, 4, 2), (8, 0, 4, 2)], ratio=2.0) == [15.0, 0.0]
