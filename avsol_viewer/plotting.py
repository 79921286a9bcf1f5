"""pyqtgraph as the viewer uses it, configured in one place.

Images are given as numpy arrays in row-major order (``[row, column]``, as every decoder
and map hands them over); pyqtgraph's default is column-major. The option is global, so it
is set here, once, when the first drawing module imports ``pg`` from this module, rather
than by each module that happens to draw an image.

pyqtgraph is imported here without its CUDA interop: pyqtgraph 0.14's package import loads
``RawImageGLWidget``, which tries ``from cuda.bindings import runtime`` to map CUDA arrays
into OpenGL textures. The locked CUDA build of torch installs ``cuda-bindings``, so that
import succeeded and cost 0.08-0.2 s of every start-up before the first paint
(``cuda.bindings`` and ``cuda.pathfinder``, which searches the disk for NVIDIA libraries;
``python -X importtime``, benchmarks/README.md). The viewer never uses
``RawImageGLWidget``; pyqtgraph falls back to ``cudart = None`` when the import fails, as
it does on every machine without the package. The block is lifted at once, so torch (in
the map worker, after the window is up) imports ``cuda.bindings`` as usual. The entry
point imports this module before anything else draws, so that the first import of
pyqtgraph, wherever it comes from, is this one.
"""
from __future__ import annotations

import sys

from avsol_viewer import qt_compat  # noqa: F401 - before any Qt drawing (see qt_compat)

#: pyqtgraph's optional CUDA interop, kept out of its import (see the module docstring).
_SKIPPED = "cuda.bindings"


def _import_pyqtgraph():
    """``import pyqtgraph`` with ``cuda.bindings`` hidden, if neither is loaded yet."""
    if "pyqtgraph" in sys.modules or _SKIPPED in sys.modules:
        import pyqtgraph
        return pyqtgraph
    sys.modules[_SKIPPED] = None  # type: ignore[assignment]  # an import of it raises ImportError
    try:
        import pyqtgraph
    finally:
        if sys.modules.get(_SKIPPED, 0) is None:
            del sys.modules[_SKIPPED]
    return pyqtgraph


pg = _import_pyqtgraph()
pg.setConfigOptions(imageAxisOrder="row-major")

__all__ = ["pg"]
