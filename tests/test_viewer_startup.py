"""What the viewer's start-up path does to its dependencies (issue 29 item 1, SPEC 8).

The first paint itself (what it may not import, its time) is checked end to end in
``test_viewer_headless.py``; here, the PySide6 import check that ``qt_compat`` speeds up.
"""
from __future__ import annotations

import sys
import types

import pytest

pytest.importorskip("PySide6")


@pytest.fixture
def scan():
    from avsol_viewer import qt_compat

    qt_compat.fast_feature_scan()    # idempotent: installed once, at the module's import
    feature = sys.modules["shibokensupport.feature"]
    fast = feature._mod_uses_pyside
    if not getattr(fast, "avsol_fast", False):
        pytest.skip("this PySide6 has no shibokensupport.feature._mod_uses_pyside")
    return fast, fast.original


def test_fast_scan_is_installed_by_importing_qt_compat(scan):
    fast, original = scan
    assert fast is not original
    from avsol_viewer import qt_compat

    assert qt_compat.fast_feature_scan() is False   # a second call changes nothing
    assert sys.modules["shibokensupport.feature"]._mod_uses_pyside is fast


def test_fast_scan_answers_as_pysides_own(scan, tmp_path):
    """Same answer as PySide's getsource-based check: for files that name PySide6 or not
    (also in a comment or a string, non-ASCII text beside it), for a module without a
    file, and for every module loaded in this process."""
    fast, original = scan
    cases = {"uses.py": "from PySide6.QtCore import QObject\n",
             "comment.py": "# works with PySide6 too\nx = 1\n",
             "plain.py": "import json\n\u00e9t\u00e9 = 'summer'\n",
             "empty.py": ""}
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        mod = types.ModuleType(name[:-3])
        mod.__file__ = str(path)
        assert fast(mod) == original(mod) == ("PySide6" in text), name
    no_file = types.ModuleType("no_file")
    assert fast(no_file) == original(no_file) is False
    gone = types.ModuleType("gone")
    gone.__file__ = str(tmp_path / "gone.py")     # no such file: PySide's own answer
    assert fast(gone) == original(gone) is False
    loaded = [m for m in list(sys.modules.values()) if isinstance(m, types.ModuleType)]
    assert len(loaded) > 100
    # (torch.classes raises on any attribute, in either: the same outcome is what counts)
    assert [name for name, m in ((getattr(m, "__name__", "?"), m) for m in loaded)
            if _outcome(fast, m) != _outcome(original, m)] == []


def _outcome(check, module):
    try:
        return check(module)
    except Exception as exc:  # noqa: BLE001 - compared, not handled
        return type(exc)


def test_the_live_bar_is_built_when_live_mode_first_needs_it(make_viewer):
    """The Live bar (a pyqtgraph plot, hidden until Live › Start) is not built with the
    window; asked for, it is built once, hidden, last in the heads' splitter (below the
    spectrogram), showing the recording state it was built in."""
    v = make_viewer()
    live = v.win.live
    assert live._bar is None
    bar = live.bar
    assert live.bar is bar and not bar.isVisible()
    split = v.win.heads.parentWidget()
    assert split.indexOf(bar) == split.count() - 1 > split.indexOf(v.win.spectrogram)
