"""model_core type-checks clean under mypy ([tool.mypy] in pyproject.toml), so CI catches a
call with the wrong argument, a None used as a value or a misspelt attribute before a user
does.

mypy runs in a child process from the repository root, as a developer runs it (`mypy`); its
incremental cache (``.mypy_cache``, ignored by git) makes a rerun take seconds. A clean clone
(CI) has no cache: the whole-package check is then ~30 s of one core, so ``tests/conftest.py``
starts it when the run starts (``EARLY`` below), beside the other tests, and the test waits for it.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


#: The whole-package check, started when the run starts (tests/conftest.py, ``early_child``).
EARLY = {"test_model_core_type_checks": ([sys.executable, "-m", "mypy"], {"cwd": str(ROOT)})}


def _mypy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mypy", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow   # a cold mypy run over model_core: 1-5 min on a loaded 2-core machine
def test_model_core_type_checks(early_child):
    proc = early_child.result(timeout=600)               # `mypy`, from the repository root
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "Success: no issues found" in proc.stdout
    checked = int(proc.stdout.rsplit("no issues found in ", 1)[1].split()[0])
    assert checked > 100, proc.stdout[-500:]               # the whole package, not one file


@pytest.mark.slow
def test_a_type_error_is_reported(tmp_path):
    """The configuration really checks: a wrong argument in a module of model_core's shape is
    an error naming its file and line, so the test above can fail."""
    bad = tmp_path / "bad.py"
    bad.write_text("from model_core.data_layout import annotation_file\n\n\n"
                   "def f() -> int:\n    return annotation_file(3)\n")
    proc = _mypy("--config-file", str(ROOT / "pyproject.toml"), str(bad))
    assert proc.returncode == 1, proc.stdout
    assert "bad.py:5: error" in proc.stdout and "[arg-type]" in proc.stdout and "[return-value]" in proc.stdout
