"""pyqtgraph as the viewer uses it, configured in one place.

Images are given as numpy arrays in row-major order (``[row, column]``, as every decoder
and map hands them over); pyqtgraph's default is column-major. The option is global, so it
is set here, once, when the first drawing module imports ``pg`` from this module, rather
than by each module that happens to draw an image.
"""
from __future__ import annotations

from avsol_viewer import qt_compat  # noqa: F401 - before any Qt drawing (see qt_compat)

import pyqtgraph as pg

pg.setConfigOptions(imageAxisOrder="row-major")

__all__ = ["pg"]
