"""Playback: the player and its clock, the display's frame decoder, the sound track and
its output device, and the transport bar (play, step, seek, speed, loop)."""
