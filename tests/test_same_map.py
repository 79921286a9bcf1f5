"""Same answer everywhere (SPEC 2): one frame's map through ``avsol infer``, the viewer's
map worker, the export and ``avsol eval`` is the same map, with the video's own audio and
with every other sound a map can hear: silence, noise (the viewer's noise is eval's
negative noise, at the RMS of each own window), another file, an off-screen window, and
samples; and live mode's map of a frame is the engine's map of that picture with the
samples the microphone gave. All of them run the one engine of ``model_core.inference``."""
from __future__ import annotations

import numpy as np
import pytest

from media_helpers import make_clip
from tiny_models import save_tiny
from waiting import wait_for

FPS = 25.0
INDEX = 30          # t = 1.2 s: not a segment centre, so the window rule matters
ATOL = 1e-5


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("same_map")
    save_tiny(d / "dnm.pt")
    rng = np.random.default_rng(1)
    # noise growing louder: a window's RMS is not the clip's (the noise rule shows)
    make_clip(d / "clip.mp4", n_frames=50, fps=FPS, size=(96, 64),
              audio=(rng.standard_normal(32000) * np.linspace(0.02, 0.6, 32000)).astype(np.float32))
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


@pytest.mark.slow
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


def _spec(files, kind):
    from model_core.inference.audio_sources import AudioSpec

    if kind in ("file", "offscreen"):
        return AudioSpec(kind, str(files / "other.mp4"), at=0.8)
    return AudioSpec(kind)


@pytest.mark.parametrize("kind", ["silence", "noise", "file", "offscreen"])
def test_every_audio_kind_same_map_in_the_engine_the_viewer_and_the_export(files, tmp_path, qtbot, kind):
    spec = _spec(files, kind)
    ref = _engine_map(files, spec)
    assert not np.allclose(ref, _engine_map(files, None), atol=ATOL)  # the sound changes the map
    for name, m in (("viewer", _viewer_map(files, qtbot, spec)), ("export", _export_map(files, tmp_path, spec))):
        np.testing.assert_allclose(m, ref, atol=ATOL, err_msg=f"{kind}: {name}")


def test_the_viewers_noise_is_evals_noise(files, qtbot):
    """The viewer's ``noise`` and ``avsol eval --negatives``' noise (built by eval's own
    ``negative_sources``, heard beside the own audio) give one map; noise at the clip's RMS
    would give another."""
    from model_core.evaluation.dataset import EvalVideo
    from model_core.evaluation.negatives import NegativeOptions, negative_sources
    from model_core.formats.annotations import Segment
    from model_core.inference import Localizer, localize_many
    from model_core.inference.audio_sources import AudioSpec, NoiseAudio

    video = EvalVideo("clip.mp4", files / "clip.mp4", "a", (Segment(1.0, 2.0, INDEX / FPS, True),))
    sources, _ = negative_sources(video, None, NegativeOptions(offscreen_draws=0))
    loc = Localizer(files / "dnm.pt", device="cpu")
    evals = localize_many([loc], video.path, [INDEX / FPS], negatives={"noise": sources["noise"]})[loc.name]
    evals_noise = evals.negatives["noise"]["maps"][0]
    np.testing.assert_allclose(_viewer_map(files, qtbot, AudioSpec("noise")), evals_noise, atol=ATOL)
    np.testing.assert_allclose(_engine_map(files, AudioSpec("noise")), evals_noise, atol=ATOL)
    from model_core.media.audio import read_audio

    track = read_audio(files / "clip.mp4")
    clip_rms = float(np.sqrt(np.mean(np.square(track, dtype=np.float64))))
    assert not np.allclose(_engine_map(files, NoiseAudio(clip_rms)), evals_noise, atol=ATOL)


def test_live_mode_map_is_the_engines_map_of_the_same_picture_and_samples(files):
    """Live mode on the file (camera and microphone, each on a clock the test moves): the
    map of frame INDEX heard with the last second the microphone played is the engine's map
    of that frame with those samples placed where the frame's window reads them."""
    from fakes import FakeClock
    from model_core.inference import Localizer, localize_many
    from model_core.inference.audio_window import SAMPLE_RATE, window_centre, window_key
    from model_core.inference.live_loop import LiveLoop
    from model_core.inference.live_sources import FileCameraFrames, FileMicrophone

    clip = files / "clip.mp4"
    cam_clock, mic_clock = FakeClock(), FakeClock()
    mics, got = [], []

    def open_audio():
        mics.append(FileMicrophone(clip, clock=mic_clock).start())
        return mics[-1]

    loop = LiveLoop({"dnm": Localizer(files / "dnm.pt", device="cpu")},
                    open_frames=lambda: FileCameraFrames(clip, clock=cam_clock).start(),
                    open_audio=open_audio, on_maps=got.append).start()
    try:
        assert wait_for(lambda: got)                          # frame 0, mapped
        heard = 1.7                                           # seconds the microphone has played
        mic_clock.set(heard)
        assert wait_for(lambda: mics and mics[-1].ring.total == int(heard * SAMPLE_RATE))
        refreshes = loop.stats.audio_refreshes
        assert wait_for(lambda: loop.stats.audio_refreshes >= refreshes + 2)   # one began after it
        cam_clock.set(INDEX / FPS)
        assert wait_for(lambda: read_frame(got[-1]) == INDEX)
        live = got[-1]
    finally:
        assert loop.stop()
    first = live.audio_first
    assert first == int(heard * SAMPLE_RATE) - SAMPLE_RATE
    samples = mics[-1].track[first:first + SAMPLE_RATE]       # the track has not looped yet
    # the same samples where the file pipeline reads frame INDEX's window
    at = window_key(window_centre(INDEX / FPS))
    audio = np.zeros(at + SAMPLE_RATE, np.float32)
    audio[at:] = samples
    loc = Localizer(files / "dnm.pt", device="cpu")
    ref = localize_many([loc], clip, [INDEX / FPS], audio=audio)[loc.name].maps[0]
    np.testing.assert_allclose(live.entries["dnm"].map, ref, atol=ATOL)
    assert not np.allclose(ref, _engine_map(files, None), atol=ATOL)   # not the file's own window


def read_frame(result) -> int:
    from media_helpers import read_frame_index

    return read_frame_index(result.frame.image)


