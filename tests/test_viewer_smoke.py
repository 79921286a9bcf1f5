"""The viewer starts headless and writes a screenshot (SPEC 9 headless use)."""
from __future__ import annotations

import os
import subprocess
import sys


def test_screenshot_headless(tmp_path, repo_root):
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    demo = repo_root / "resources" / "demo" / "demo.mp4"
    cmd = [sys.executable, "-m", "avsol_viewer.app", str(demo), "--screenshot", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    assert out.exists() and out.stat().st_size > 1000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
