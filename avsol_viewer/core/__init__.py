"""The viewer's shared headless part: what several features show, computed without Qt.

Nothing here imports PySide6, pyqtgraph or another viewer sub-package (a test checks it), so
it runs in tests, in scripts and under a GUI alike: the open video's identity and its
annotations (``session``, ``annotation_finder``: the controller, annotate, evaluate) and a
map made ready for display (``map_display``: the presenter, the export, live mode). A
Qt-free helper of one feature lives in that feature's folder instead (the export's pictures
in ``export/``, playback's clocks in ``playback/``). Maps themselves come from the engine in
``model_core.inference``.
"""
