"""Work around a PySide6 6.12.0 bug on Python 3.11: every call of a Qt method returning
``void`` drops one reference to ``None`` that it never took, and some calls do the same
to ``True``.

On Python 3.12+ ``None``, ``True`` and ``False`` are immortal and nothing happens; on 3.11
their counts fall by one per call (``QPainterPath.lineTo``, ``QGraphicsItem.setPos``,
``QWidget.update``...; about 18 references to ``True`` per drawn frame of the viewer), and
the viewer aborts within minutes ("Fatal Python error: none_dealloc" / "bool_dealloc").
Measured here: 200 ``lineTo`` calls lower ``sys.getrefcount(None)`` by exactly 200 with
6.12.0, by 0 with 6.11.3.

:func:`guard_none_refcount` raises the counts of these three singletons so far that they
can never reach zero (2**52 calls), which is what 3.12 does by design. It is a no-op where the bug cannot
bite. The real fix is to avoid PySide6 6.12.0 on Python 3.11 (pin ``<6.12`` until a fixed
release).

Importing this module applies the guard; the viewer's Qt modules import it (not only the
package's ``__init__``, which an editable install that maps ``avsol_viewer`` as a namespace
package never runs).

It also makes PySide6's check of every later import cheaper (:func:`fast_feature_scan`):
on torch's import in the map worker it cost 0.3-0.45 s of CPU and kept 17.7 M characters
of source in memory.
"""
from __future__ import annotations

import ctypes
import sys

#: Where ``None``'s count is set when the bug is present (far from overflow, never reached).
SAFE_COUNT = 1 << 52


def affected() -> bool:
    """True on Python < 3.12 with PySide6 6.12.x (the releases known to have the bug)."""
    if sys.version_info >= (3, 12):
        return False
    try:
        import PySide6
    except ImportError:
        return False
    return PySide6.__version__.startswith("6.12.")


def guard_none_refcount() -> bool:
    """Make the reference counts of ``None``, ``True`` and ``False`` unreachable from zero;
    True if it was needed."""
    if not affected():
        return False
    for obj in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt, the first field of PyObject
        if count.value < SAFE_COUNT:
            count.value = SAFE_COUNT
    return True


def fast_feature_scan() -> bool:
    """Have PySide6's check of each imported module read the module's file, not
    ``inspect.getsource``; True if installed.

    Once ``PySide6.QtCore`` is imported, every later import in the process (pyqtgraph's
    ~200 modules before the first paint, torch's ~1100 in the map worker) calls the private
    ``shibokensupport.feature._mod_uses_pyside(module)``: does its source contain
    "PySide6"? (the switch behind ``from __feature__ import snake_case``, PYSIDE-2029). It
    asks ``inspect.getsource``, which goes through ``linecache``: the file is decoded,
    split into lines and kept for the life of the process. Measured here (2 shared cores):
    ``import torch`` after PySide6 took 4.26-4.39 s of CPU, 3.84-4.07 s with this; the
    lines kept were 17.7 M characters. The same question asked of the file's bytes has the
    same answer for any source file in an ASCII-compatible encoding (UTF-8, as PEP 3120
    sets by default); a module with no ``.py`` file, or one that cannot be read, still goes
    to PySide's own function. Without that private function (another PySide6 release) this
    does nothing and PySide's check runs as before.
    """
    feature = sys.modules.get("shibokensupport.feature")
    original = getattr(feature, "_mod_uses_pyside", None)
    if original is None or getattr(original, "avsol_fast", False):
        return False

    def _mod_uses_pyside(module) -> bool:
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path.endswith(".py"):
            try:
                with open(path, "rb") as f:
                    return b"PySide6" in f.read()
            except OSError:
                pass
        return original(module)

    _mod_uses_pyside.avsol_fast = True            # type: ignore[attr-defined]
    _mod_uses_pyside.original = original          # type: ignore[attr-defined]
    feature._mod_uses_pyside = _mod_uses_pyside   # type: ignore[union-attr]
    return True


guard_none_refcount()
try:
    import PySide6  # noqa: F401 - loads shibokensupport, whose import hook fast_feature_scan speeds up
except ImportError:
    pass
else:
    fast_feature_scan()
