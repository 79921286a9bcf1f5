"""Room for live mode (SPEC 7): camera and microphone as frame and audio sources of
``model_core.inference``'s engine, with latency and rate shown. Not built yet."""
