"""``avsol infer`` (SPEC 9): a valid maps file, exit 2 with one line for bad input."""
from __future__ import annotations

import numpy as np
import pytest

from media_helpers import make_audio_only, make_clip
from model_core.cli import main
from model_core.maps_file import load_maps
from tiny_models import save_tiny

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("infer")
    save_tiny(d / "model.pt", ("x", "y"), "avc", map_size=14)
    make_clip(d / "clip.mp4", n_frames=25, fps=25.0)
    make_clip(d / "mute.mp4", n_frames=10, fps=25.0, with_audio=False)
    make_audio_only(d / "sound.wav", seconds=1.0)
    (d / "junk.pt").write_bytes(b"\x00" * 100)
    return d


def test_writes_a_valid_maps_file(files, tmp_path, capsys):
    out = tmp_path / "sub" / "maps.npz"
    rc = main(["infer", str(files / "clip.mp4"), "--checkpoint", str(files / "model.pt"),
               "--out", str(out), "--device", "cpu", "--batch-size", "4"])
    assert rc == 0
    assert "wrote 25 maps" in capsys.readouterr().out
    mf = load_maps(out)
    assert mf.maps.shape == (25, 14, 14) and mf.head == "avc"
    assert set(mf.videos) == {"clip.mp4"}
    np.testing.assert_allclose(mf.times, np.arange(25) / 25.0)
    assert mf.extra["p_avc"].shape == (25,) and mf.extra["class_probs"].shape == (25, 2)


@pytest.mark.slow
def test_audio_window_per_frame_matches_the_engine(files, tmp_path):
    """``--audio-window frame`` gives what localize_many gives with a window per frame, and
    differs from the default 1 s segment windows on frames away from a segment's centre."""
    from model_core.inference import Localizer
    from model_core.inference.pipeline import localize_many

    seg, per = tmp_path / "seg.npz", tmp_path / "per.npz"
    for out, extra in ((seg, []), (per, ["--audio-window", "frame"])):
        assert main(["infer", str(files / "clip.mp4"), "--checkpoint", str(files / "model.pt"),
                     "--out", str(out), "--device", "cpu", "--quiet", *extra]) == 0
    loc = Localizer(files / "model.pt", device="cpu")
    want = localize_many([loc], files / "clip.mp4", np.arange(25) / 25.0, audio_hop=None)[loc.name].maps
    np.testing.assert_allclose(load_maps(per).maps, want, atol=1e-5)
    assert not np.allclose(load_maps(per).maps, load_maps(seg).maps, atol=1e-5)


def test_fps_and_silent_note(files, tmp_path, capsys):
    out = tmp_path / "m.npz"
    rc = main(["infer", str(files / "mute.mp4"), "--checkpoint", str(files / "model.pt"),
               "--out", str(out), "--fps", "10", "--quiet"])
    assert rc == 0
    assert "no audio track" in capsys.readouterr().err
    np.testing.assert_allclose(load_maps(out).times, [0.0, 0.1, 0.2, 0.3])


@pytest.mark.parametrize("video, ckpt, extra, needle", [
    ("missing.mp4", "model.pt", [], "missing.mp4"),
    ("sound.wav", "model.pt", [], "audio-only"),
    ("clip.mp4", "junk.pt", [], "junk.pt"),
    ("clip.mp4", "nothere.pt", [], "nothere.pt"),
    ("clip.mp4", "model.pt", ["--fps", "0"], "--fps"),
    ("clip.mp4", "model.pt", ["--batch-size", "0"], "--batch-size"),
    ("clip.mp4", "model.pt", ["--audio-window", "1"], "--audio-window"),
])
def test_bad_input_exits_2_with_one_line(files, tmp_path, capsys, video, ckpt, extra, needle):
    out = tmp_path / "m.npz"
    rc = main(["infer", str(files / video), "--checkpoint", str(files / ckpt), "--out", str(out),
               "--quiet", *extra])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("avsol infer: error:") and needle in err
    assert not out.exists()
