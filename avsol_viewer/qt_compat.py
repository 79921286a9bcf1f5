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


guard_none_refcount()
