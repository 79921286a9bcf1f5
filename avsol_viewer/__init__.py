"""AVSOL Studio's Qt viewer (PySide6 + pyqtgraph). No model maths here: it talks to
``model_core`` through its inference/evaluation API and background workers."""
