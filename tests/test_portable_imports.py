"""Every module of model_core and avsol_viewer imports where fcntl, termios and resource do
not exist (Windows).

The packaging plans macOS and Windows builds: a POSIX-only module imported at the top of a
module the CLI or the viewer loads at start-up stops either from starting there. A child
Python blocks those modules with a ``sys.meta_path`` finder and imports every module found by
``pkgutil.walk_packages``; POSIX-only code stays possible, imported where it is used.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKED = ("fcntl", "termios", "resource")

CHILD = r"""
import importlib, importlib.abc, json, pkgutil, sys, traceback

BLOCKED = set(sys.argv[1].split(","))

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"No module named {name!r} (blocked: not on Windows)")
        return None

for name in BLOCKED:
    sys.modules.pop(name, None)
sys.meta_path.insert(0, Block())

failed, seen = {}, []
for top in ("model_core", "avsol_viewer"):
    pkg = importlib.import_module(top)
    names = [top] + [m.name for m in pkgutil.walk_packages(pkg.__path__, top + ".")]
    for name in names:
        if name.endswith("__main__"):
            continue   # runs the program when imported
        seen.append(name)
        try:
            importlib.import_module(name)
        except BaseException as exc:
            failed[name] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
print(json.dumps({"seen": seen, "failed": failed}))
"""


def _modules_on_disk():
    """Every module file of both packages, as a dotted name (``__main__`` aside: importing it
    runs the program)."""
    for top in ("model_core", "avsol_viewer"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__main__":
                continue
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


#: The walk, started when the run starts, beside the other tests (tests/conftest.py, ``early_child``).
EARLY = {"test_every_module_imports_without_posix_only_modules": (
    [sys.executable, "-c", CHILD, ",".join(BLOCKED)],
    {"cwd": str(ROOT), "env": {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}})}


@pytest.mark.slow   # imports torch, Qt and every module: ~30 s on a loaded 2-core machine
def test_every_module_imports_without_posix_only_modules(early_child):
    proc = early_child.result(timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "model_core.outputs.lock" in result["seen"] and "avsol_viewer.app" in result["seen"]
    on_disk = set(_modules_on_disk())
    assert on_disk - set(result["seen"]) == set(), "modules the walk missed (a folder without __init__.py?)"
    assert result["failed"] == {}, "\n".join(f"{k}: {v}" for k, v in result["failed"].items())


def test_the_blocker_blocks():
    """The finder really makes ``import fcntl`` fail, so the test above can fail."""
    code = CHILD.split("failed, seen")[0] + "import fcntl\n"
    proc = subprocess.run([sys.executable, "-c", code, ",".join(BLOCKED)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "blocked: not on Windows" in proc.stderr
