"""Live › Record under load: how much of the sound a recording keeps.

A file-backed microphone plays a known signal for ``SECONDS`` while two threads burn the CPU
(and the GIL) and a feeder hands the recorder video frames at 25 fps, as live mode does; the
recorded track's digital silence (samples below 1e-4, the signal has almost none) and its
silent runs of 10 ms or more say what was lost. The recording scenario is the one
``tests/test_live_record.py`` asserts on (its helpers are reused, not copied).
"""
from __future__ import annotations

import itertools
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SECONDS = 8.0


def run() -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    import test_live_record as scenario
    from media_helpers import make_clip

    from model_core.inference.live_sources import FileMicrophone
    from model_core.media.audio import read_audio

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        clip = make_clip(d / "m.mp4", n_frames=5, fps=25.0, size=(64, 48))
        mic = FileMicrophone(clip)
        mic.track = scenario._signal(SECONDS + 22.0)     # long enough never to loop
        mic.start()
        try:
            rec, files = scenario._record(d, mic, SECONDS)
        finally:
            mic.close()
        got = read_audio(files[0])
    inner = np.abs(got[1600:-1600]) < 1e-4                    # the edges: the first and last frame
    silent = sum(len(list(g)) for k, g in itertools.groupby(inner) if k)
    return {"seconds_recorded": round(len(got) / 16000, 2),
            "digital_silence_percent": round(100.0 * silent / max(1, len(inner)), 2),
            "silent_runs_10ms": scenario._silent_runs(got[1600:-1600]),
            "burning_threads": 2, "sidecar": rec.summary()}
