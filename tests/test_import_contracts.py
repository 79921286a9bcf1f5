"""The import contracts of pyproject.toml ([tool.importlinter]) hold: model_core never
imports Qt, pyqtgraph or the viewer, and its layers import only downwards (issue 28 item 5).

Run through the test suite so CI enforces them with everything else: a new upward import
(say, metrics reaching into evaluation) fails here, naming the import and its line.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> list[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.fail(f"{exe} is missing: install the test extra (pip install -e '.[test]')")
    return [str(exe), "--no-cache", "--no-logo"]


@pytest.mark.slow   # builds the import graph of both packages: ~5-10 s on a loaded machine
def test_import_contracts_are_kept():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(_lint_imports(), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout and "2 kept" in proc.stdout, proc.stdout[-2000:]


@pytest.mark.slow
def test_an_upward_import_is_reported(tmp_path):
    """The tool sees model_core's imports: a contract putting formats above metrics (metrics
    reads formats) is reported broken, naming the import, so the test above can fail."""
    config = tmp_path / "inverted.ini"
    config.write_text("[importlinter]\nroot_package = model_core\n\n"
                      "[importlinter:contract:inverted]\nname = inverted\ntype = layers\n"
                      "layers =\n    model_core.formats\n    model_core.metrics\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([*_lint_imports(), str(config)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode != 0 and "1 broken" in proc.stdout, proc.stdout[-2000:]
    assert "model_core.formats is not allowed to import model_core.metrics" not in proc.stdout
    assert "model_core.metrics" in proc.stdout and "-> model_core.formats" in proc.stdout
