"""The package's structural promises: entry points exist, model_core works without Qt."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from model_core.cli import build_parser, main


def test_model_core_imports_without_qt():
    # Make Qt unimportable, then import every model_core module: none may need Qt.
    code = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'shiboken6'):
                    raise ImportError('Qt is blocked in this test: ' + name)
                return None
        sys.meta_path.insert(0, Block())
        import model_core
        names = [m.name for m in pkgutil.walk_packages(model_core.__path__, 'model_core.')
                 if not m.name.endswith('__main__')]
        for name in names:
            importlib.import_module(name)
        bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')]
        assert not bad, bad
        print(len(names))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) > 3


def test_cli_help_is_light():
    # ``avsol --help`` must not import torch: the CLI starts fast.
    code = "import sys; from model_core.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_cli_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert "avsol" in capsys.readouterr().out


def test_cli_has_subcommands():
    text = build_parser().format_help()
    assert "COMMAND" in text


def test_entry_points_installed(repo_root):
    bindir = __import__("pathlib").Path(sys.executable).parent
    assert (bindir / "avsol").exists()
    assert (bindir / "avsol-viewer").exists()


def test_viewer_core_is_qt_free(repo_root):
    """``avsol_viewer/core`` is the viewer's headless part: no Qt, no other viewer package."""
    import ast

    core = repo_root / "avsol_viewer" / "core"
    bad = []
    for path in sorted(core.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                top = name.split(".")[0]
                if top in ("PySide6", "pyqtgraph", "shiboken6") or (
                        top == "avsol_viewer" and not name.startswith("avsol_viewer.core")):
                    bad.append(f"{path.name}: {name}")
    assert len(list(core.glob("*.py"))) >= 6
    assert not bad, bad


def test_map_engine_imports_without_torch():
    """The viewer imports the engine at start-up: ``model_core.inference`` loads torch lazily."""
    code = ("import sys, model_core.inference, model_core.inference.engine, model_core.inference.map_cache; "
            "from model_core.inference import AUDIO_HOP; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
