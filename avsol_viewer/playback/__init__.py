"""Playback: the player and its clocks (``clock``, Qt-free), the display's frame decoder,
the sound track and its output device, the spectrogram under the heads with its playhead,
and the transport bar (play, step, seek, speed, loop)."""
