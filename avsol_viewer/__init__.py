"""AVSOL Studio's Qt viewer (PySide6 + pyqtgraph). No model maths here: it talks to
``model_core`` through its inference/evaluation API and background workers."""
from avsol_viewer import qt_compat  # noqa: F401 - guards None's refcount (PySide6 6.12.0 + Python 3.11)
