"""Same answer everywhere (SPEC 2): one frame's map through ``avsol infer``, the viewer's
map worker, the export and ``avsol eval`` is the same map, with the video's own audio and
with another file's audio swapped in. All four run the one engine of
``model_core.inference``; before it, the viewer used a window per frame and ``avsol
infer`` a 1 s hop, and this test failed."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from media_helpers import make_clip
from model_core.model import ModelConfig, build_model
from model_core.model.checkpoint import save_checkpoint

CFG = ModelConfig(num_classes=2, width=8, audio_width=8, layers=(1, 1, 1, 1), embed_dim=16)
FPS = 25.0
INDEX = 30          # t = 1.2 s: not a segment centre, so the window rule matters
ATOL = 1e-5


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("same_map")
    torch.manual_seed(0)
    save_checkpoint(d / "dnm.pt", build_model(CFG), CFG, ["a", "b"], "dnm")
    rng = np.random.default_rng(1)
    make_clip(d / "clip.mp4", n_frames=50, fps=FPS, size=(96, 64),
              audio=(rng.standard_normal(32000) * 0.3).astype(np.float32))
    make_clip(d / "other.mp4", n_frames=50, fps=FPS, size=(96, 64), tone_hz=1500.0)
    return d


def _engine_map(files, audio):
    """``localize_many``, the engine of ``avsol infer`` and ``avsol eval``."""
    from model_core.inference import Localizer, localize_many

    loc = Localizer(files / "dnm.pt", device="cpu")
    vm = localize_many([loc], files / "clip.mp4", [INDEX / FPS], audio=audio)[loc.name]
    return vm.maps[0]


def _infer_map(files, tmp_path):
    from model_core.cli import main
    from model_core.maps_file import load_maps

    out = tmp_path / "maps.npz"
    assert main(["infer", str(files / "clip.mp4"), "--checkpoint", str(files / "dnm.pt"), "--out", str(out),
                 "--device", "cpu", "--quiet"]) == 0
    maps = load_maps(out)
    k = int(np.argmin(np.abs(maps.times - INDEX / FPS)))
    assert abs(maps.times[k] - INDEX / FPS) < 1e-6
    return maps.maps[k]


def _eval_map(files):
    """``avsol eval``'s per-video step, scoring a segment whose frame is at 1.2 s."""
    from model_core.evaluation.dataset import EvalVideo
    from model_core.evaluation.runner import evaluate_video
    from model_core.formats.annotations import Segment
    from model_core.inference import Localizer, localize_many

    loc = Localizer(files / "dnm.pt", device="cpu")
    got = {}

    def localize(locs, path, times, **kw):
        got.update(localize_many(locs, path, times, **kw))
        return got

    video = EvalVideo("clip.mp4", files / "clip.mp4", "a", (Segment(1.0, 2.0, INDEX / FPS, True),))
    rows = evaluate_video([loc], video, localize=localize)
    assert rows and rows[0].status == "scored"
    return got[loc.name].maps[0]


def _viewer_map(files, qtbot, audio):
    from avsol_viewer.maps.map_worker import MapWorker
    from model_core.inference.engine import MapRequest
    from model_core.inference.frame_sources import FrameSpec
    from model_core.inference.map_cache import MapCache, MapKey

    cache = MapCache()
    worker = MapWorker(cache)   # the viewer's own default factory: the real Localizer
    models = []
    worker.models_changed.connect(models.append)
    worker.start()
    try:
        worker.load_checkpoint(files / "dnm.pt")
        qtbot.waitUntil(lambda: bool(models), timeout=60000)
        key = models[-1][0].key
        worker.submit(MapRequest(1, "clip", FrameSpec(str(files / "clip.mp4")), INDEX, ahead=0, audio=audio))
        qtbot.waitUntil(lambda: MapKey("clip", key, audio.key, INDEX) in cache, timeout=60000)
    finally:
        worker.stop_and_wait()
    return cache.get(MapKey("clip", key, audio.key, INDEX)).map


def _export_map(files, tmp_path, audio):
    from avsol_viewer.maps.colormaps import overlay_lut
    from avsol_viewer.export.export_video import ExportJob, export_video
    from model_core.inference.engine import ModelInfo, model_key
    from model_core.inference.map_cache import MapCache, MapKey

    path = str(files / "dnm.pt")
    info = ModelInfo(model_key(path), "dnm", "dnm", path, ("a", "b"), "cpu", 7)
    job = ExportJob(str(files / "clip.mp4"), "clip", str(tmp_path / "x.mp4"), (info,),
                    lut=overlay_lut("inferno", 0.6), audio=audio, start=INDEX / FPS, end=(INDEX + 2) / FPS)
    cache = MapCache()
    export_video(job, cache)
    return cache.get(MapKey("clip", info.key, audio.key, INDEX)).map


def test_own_audio_same_map_everywhere(files, tmp_path, qtbot):
    from model_core.inference.audio_sources import AudioSpec

    ref = _engine_map(files, None)
    own = AudioSpec("own")
    for name, m in (("avsol infer", _infer_map(files, tmp_path)), ("avsol eval", _eval_map(files)),
                    ("viewer", _viewer_map(files, qtbot, own)), ("export", _export_map(files, tmp_path, own))):
        np.testing.assert_allclose(m, ref, atol=ATOL, err_msg=name)
    # the rule matters here: the window centred on the frame itself gives another map
    from model_core.inference import Localizer, localize_many

    loc = Localizer(files / "dnm.pt", device="cpu")
    exact = localize_many([loc], files / "clip.mp4", [INDEX / FPS], audio_hop=None)[loc.name].maps[0]
    assert not np.allclose(exact, ref, atol=ATOL)


def test_swapped_audio_same_map_everywhere(files, tmp_path, qtbot):
    from model_core.inference.audio_sources import AudioSpec

    swapped = AudioSpec("file", str(files / "other.mp4"))
    ref = _engine_map(files, swapped)
    assert not np.allclose(ref, _engine_map(files, None), atol=ATOL)  # the sound changes the map
    for name, m in (("viewer", _viewer_map(files, qtbot, swapped)),
                    ("export", _export_map(files, tmp_path, swapped))):
        np.testing.assert_allclose(m, ref, atol=ATOL, err_msg=name)
