"""The package's structural promises: entry points exist, model_core works without Qt."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from model_core.cli import build_parser, main


# Make Qt unimportable, then import every model_core module: none may need Qt.
QT_BLOCKED_IMPORTS = textwrap.dedent(
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
#: Started when the run starts, beside the other tests (tests/conftest.py, ``early_child``).
EARLY = {"test_model_core_imports_without_qt": ([sys.executable, "-c", QT_BLOCKED_IMPORTS], {})}


def test_model_core_imports_without_qt(early_child):
    out = early_child.result(timeout=300)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) > 3


def test_cli_help_is_light():
    # ``avsol --help`` must not import torch: the CLI starts fast.
    code = "import sys; from model_core.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_cli_version(capsys):
    assert main(["--version"]) == 0  # argparse's SystemExit becomes the return code
    assert capsys.readouterr().out.startswith("avsol ")
    assert main(["--no-such-option"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_cli_has_every_subcommand():
    import argparse

    from model_core.cli import SUBCOMMANDS

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    expected = {"synth", "import", "train", "infer", "metrics", "eval"}
    assert expected <= set(sub.choices) and len(sub.choices) == len(SUBCOMMANDS)


def test_a_subcommand_that_fails_to_import_is_an_error(tmp_path, monkeypatch, capsys):
    """Dropping it silently would make a broken install look like a missing feature."""
    from model_core import cli

    (tmp_path / "broken_cmd.py").write_text("import no_such_module_avsol\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "SUBCOMMANDS", [*cli.SUBCOMMANDS, "broken_cmd"])
    assert main(["infer", "--help"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken_cmd" in err[0] and "no_such_module_avsol" in err[0]
    monkeypatch.setattr(cli, "SUBCOMMANDS", [*cli.SUBCOMMANDS[:-1], "model_core.cli.no_such_cmd"])
    assert main(["infer", "--help"]) == 1
    assert "model_core.cli.no_such_cmd" in capsys.readouterr().err


def test_entry_points_installed(repo_root):
    bindir = __import__("pathlib").Path(sys.executable).parent
    assert (bindir / "avsol").exists()
    assert (bindir / "avsol-viewer").exists()


#: the viewer's Qt-free modules: the shared ``core/`` and each feature's own helpers
QT_FREE = ("core/*.py", "export/export_render.py", "export/export_media.py", "playback/clock.py")


def test_viewer_headless_parts_are_qt_free(repo_root):
    """``avsol_viewer/core`` and the features' headless helpers: no Qt, no viewer package
    but ``core`` (they run in tests and scripts without a GUI)."""
    import ast

    viewer = repo_root / "avsol_viewer"
    paths = sorted({p for pattern in QT_FREE for p in viewer.glob(pattern)})
    bad = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                top = name.split(".")[0]
                if top in ("PySide6", "pyqtgraph", "shiboken6") or (
                        top == "avsol_viewer" and not name.startswith("avsol_viewer.core")):
                    bad.append(f"{path.relative_to(viewer)}: {name}")
    assert len(paths) >= 7, paths
    assert not bad, bad


def test_map_engine_imports_without_torch():
    """The viewer imports the engine at start-up: ``model_core.inference`` loads torch lazily."""
    code = ("import sys, model_core.inference, model_core.inference.engine, model_core.inference.map_cache; "
            "from model_core.inference import AUDIO_HOP; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_shared_fixtures_are_defined_once_in_conftest(request, repo_root):
    """A fixture imported into modules by name is a new definition per module: a
    "session-scoped" clip was rebuilt per module and the thread guard covered only the
    modules that imported it. Each shared fixture has one definition, in conftest.py."""
    import ast

    shared = ("index_clip", "other_clip", "settings", "make_viewer", "no_thread_left")
    for name in shared:
        defs = request._fixturemanager.getfixturedefs(name, request.node)
        assert defs and len(defs) == 1 and defs[0].func.__module__ == "conftest", name
    assert request._fixturemanager.getfixturedefs("index_clip", request.node)[0].scope == "session"
    assert "no_thread_left" in request.fixturenames  # autouse, here too
    bad = []
    for path in sorted((repo_root / "tests").glob("*.py")):
        if path.name == "conftest.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name in shared:
                bad.append(f"{path.name} defines {node.name}")
            if (isinstance(node, ast.ImportFrom) and node.module in ("viewer_support", "conftest")
                    and any(a.name in shared for a in node.names)):
                bad.append(f"{path.name} imports {[a.name for a in node.names if a.name in shared]}")
    assert not bad, bad
