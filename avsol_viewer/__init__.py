"""AVSOL Studio's Qt viewer (PySide6 + pyqtgraph): a thin view over ``model_core``.

No model maths here: maps come from the one engine in ``model_core.inference`` (frame and
audio sources, requests, caches, the audio-window rule), run by one worker thread; Qt code
schedules and shows. The folders name features, so the room for a change is found from the
tree alone:

- ``app``, ``headless`` (``--screenshot``), ``main_window``, ``controller`` (what is open
  and playing), ``presenter`` (what the views draw), ``settings``, ``workers`` (the
  thread registry), ``qt_compat``: the application shell;
- ``core/``: the viewer's Qt-free part (session, clocks, annotations, map display,
  export rendering and encoding);
- ``playback/``: player, frame decoder, sound track and output, transport bar;
- ``maps/``: the map worker and service, the frame and heads views, colormaps;
- ``export/``: overlay video and screenshots;
- ``panels/``: display options, segment scores, spectrogram, shortcuts;
- ``live/``: live mode (Live menu, drawing over the camera picture, HUD and live
  spectrogram, Record, recorded maps on reopening) over ``model_core.inference.live_loop``;
- ``evaluate/``, ``train/``: Tools › Evaluate folder and Train model (the CLI as a child).
"""
from avsol_viewer import qt_compat  # noqa: F401 - guards None's refcount (PySide6 6.12.0 + Python 3.11)
