"""The engine's window rule for models of several lengths (issue 27 item 1): each model hears
its own window length centred on the frame's window centre; a published family's window is
shifted inside the file or tiled (``place_window``), our heads keep the zero-padded 1 s
window they were trained on; models of one window share the reads. Checked through the
viewer's engine and the CLI's pipeline with protocol fakes that record what they heard."""
from __future__ import annotations

import numpy as np
import pytest
from viewer_support import FakeLocalizer

from model_core.inference.audio_sources import AudioSpec
from model_core.inference.engine import MapEngine
from model_core.inference.frame_sources import FrameSpec
from model_core.inference.pipeline import localize_many
from model_core.media.audio import read_audio

SR = 16000


class Hears(FakeLocalizer):
    """A fake of ``family`` hearing ``seconds`` windows; keeps every window embedded."""

    def __init__(self, name, family="dnm", seconds=1.0):
        super().__init__(name, image_size=64)
        self.family, self.audio_window_s = family, seconds
        self.heard: list[np.ndarray] = []

    def embed_audio(self, windows):
        self.heard += [np.asarray(w).copy() for w in windows]
        return super().embed_audio(windows)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    from media_helpers import make_clip

    d = tmp_path_factory.mktemp("windows")
    rng = np.random.default_rng(1)
    long = (0.3 * rng.standard_normal(5 * SR)).astype(np.float32)
    short = (0.3 * rng.standard_normal(2 * SR)).astype(np.float32)
    out = {}
    for name, audio, n in (("long", long, 25), ("short", short, 10)):
        path = make_clip(d / f"{name}.mkv", n_frames=n, fps=5.0, size=(64, 48), audio=audio, codec="ffv1",
                         audio_codec="flac")
        out[name] = (path, read_audio(path))
    return out


def test_engine_places_each_models_window(clips):
    path, x = clips["long"]                       # 5 s: a frame at 4.8 s has its window centred on 4.5 s
    ours, theirs, twin = Hears("ours"), Hears("ez", "ezvsl", 3.0), Hears("ez2", "ezvsl", 3.0)
    eng = MapEngine(localizer_factory=None)
    for key, loc in (("o", ours), ("e", theirs), ("t", twin)):
        eng.add(key, loc, f"{key}.pt")
    eng.compute(str(path), FrameSpec(str(path)), AudioSpec(), [24])      # frame 24: t = 4.8 s
    # ours: 1 s centred on 4.5, inside the file (4.0 .. 5.0)
    np.testing.assert_array_equal(ours.heard[0], x[4 * SR:5 * SR])
    # EZ-VSL-like: 3 s centred on 4.5 would end at 6.0: shifted inside, 2.0 .. 5.0
    np.testing.assert_array_equal(theirs.heard[0], x[2 * SR:5 * SR])
    np.testing.assert_array_equal(twin.heard[0], theirs.heard[0])


def test_pipeline_tiles_a_file_shorter_than_the_window_and_zero_pads_ours(clips):
    path, x = clips["short"]                      # 2 s of sound
    ours, lvs = Hears("ours"), Hears("lvs", "lvs", 10.0)
    out = localize_many([ours, lvs], path, [0.1, 1.9], batch_size=4)
    assert set(out) == {"ours", "lvs"} and len(out["lvs"]) == 2
    # LVS-like: 10 s from a 2 s file: the track tiled from its start, np.tile as the repositories
    np.testing.assert_array_equal(lvs.heard[0], np.tile(x, 5)[:10 * SR])
    assert len(lvs.heard) == 1                    # one placed window serves both frames
    # ours at 1.9 s: centred on 1.5 s, 1.0 .. 2.0, inside; at 0.1 s: 0 .. 1
    np.testing.assert_array_equal(ours.heard[0], x[:SR])
    np.testing.assert_array_equal(ours.heard[1], x[SR:2 * SR])
