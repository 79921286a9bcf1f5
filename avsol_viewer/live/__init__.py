"""Live mode (SPEC 7): camera and microphone as frame and audio sources of
``model_core.inference``'s engine (``live_sources``, ``live_frames``, ``live_loop``,
``live_record``); here only the Qt side: ``live_mode`` (Live menu, drawing, HUD),
``live_session`` (the loop's results posted to the GUI thread, newest wins), ``live_bar``
(HUD, device problems, scrolling spectrogram), ``recorded_maps`` (a recording's maps put
into the cache when it is opened)."""
