"""The bundle's one program (``packaging/entry_viewer.py``) starts the CLI when started by
the name ``avsol`` (the link ``avsol.spec`` makes to ``avsol-viewer`` off Windows), and
the app by any other name; run here as a plain script, by a link named ``avsol``."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ENTRY = REPO / "packaging" / "entry_viewer.py"


def _run(script: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.mark.skipif(os.name == "nt", reason="the CLI is a second program on Windows, not a link")
def test_started_as_avsol_runs_the_cli(tmp_path):
    link = tmp_path / "avsol"
    link.symlink_to(ENTRY)
    res = _run(link, "--help")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: avsol "), res.stdout[:200]
    assert "infer" in res.stdout and "--self-test" not in res.stdout


def test_started_by_another_name_runs_the_app():
    res = _run(ENTRY, "--self-test", "x.mp4")  # the app's own refusal: no window is opened
    assert res.returncode == 2 and "--self-test takes no FILE" in res.stderr, res.stderr
