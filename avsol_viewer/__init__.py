"""AVSOL Studio's Qt viewer (PySide6 + pyqtgraph): a thin view over ``model_core``.

No model maths here: maps come from the one engine in ``model_core.inference`` (frame and
audio sources, requests, caches, the audio-window rule), run by one worker thread; Qt code
schedules and shows. The folders name features, so the room for a change is found from the
tree alone:

- ``app``, ``headless`` (``--screenshot``), ``main_window``, ``controller`` (what is open
  and playing), ``presenter`` (what the views draw: a file's maps and live maps),
  ``settings``, ``workers`` (the thread registry), ``qt_compat``, ``plotting``
  (pyqtgraph, configured once): the application shell;
- ``context``: what a feature may ask of the window (errors, status, docks, actions by
  menu path, settings, styles); every feature gets it instead of the window;
- ``constants``: resources and shared names (a leaf: no viewer or Qt import);
- ``core/``: the Qt-free part shared by several features (session, annotations, map display);
- ``playback/``: player and clocks, frame decoder, sound track and output, spectrogram,
  transport bar;
- ``maps/``: the map worker and service, the frame and heads views, colormaps, head styles;
- ``export/``: overlay video (its Qt-free renderer and sound feed) and screenshots;
- ``panels/``: display options, segment scores, the welcome canvas, shortcuts;
- ``live/``: live mode (Live menu, drawing over the camera picture, HUD and live
  spectrogram, Record, recorded maps on reopening) over ``model_core.inference.live_loop``;
- ``evaluate/``, ``train/``: Tools › Evaluate folder and Train model (the CLI as a child).
"""
from avsol_viewer import qt_compat  # noqa: F401 - guards None's refcount (PySide6 6.12.0 + Python 3.11)
