"""The viewer's headless part: what it shows, computed without Qt.

Nothing here imports PySide6, pyqtgraph or another viewer sub-package (a test checks it), so
it runs in tests, in scripts and under a GUI alike: the open video's identity and its
annotations (``session``, ``annotation_finder``), the playback clocks (``clock``), a map
made ready for display (``map_display``), and the export's pictures and encoder
(``export_render``, ``export_media``). Maps themselves come from the engine in
``model_core.inference``.
"""
