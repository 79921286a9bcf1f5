"""Ruff's checks of pyproject.toml ([tool.ruff]) pass on the whole tree: no unused imports or
names, no undefined names, no syntax errors. Run through the test suite so CI enforces them with
everything else; the failure message is ruff's own list of findings (file, line, rule).

Skipped, with the reason, where ruff is not installed (it is in the ``test`` extra), so a
checkout without the extra still runs the rest of the suite.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What CI lints: both packages, the tests, the benchmarks and the scripts.
PATHS = ["model_core", "avsol_viewer", "tests", "benchmarks", "scripts"]


def _ruff() -> str:
    """The ruff of this environment (beside the interpreter), else one on PATH."""
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return str(exe)
    found = shutil.which("ruff")
    if found is None:
        pytest.skip("ruff is not installed: pip install -e '.[test]'")
    return found


def _check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([_ruff(), "check", "--no-cache", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_ruff_check_passes():
    proc = _check(*PATHS)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_ruff_reports_an_unused_import(tmp_path):
    """The project's configuration flags a finding, so the test above can fail: an unused
    import in a file checked with pyproject.toml's settings is reported as F401."""
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n")
    proc = _check("--config", str(ROOT / "pyproject.toml"), str(bad))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "F401" in proc.stdout, proc.stdout
