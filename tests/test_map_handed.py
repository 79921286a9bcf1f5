"""Playing, the map engine takes the frames the display's decoder already decoded
(``HandedFrames``) instead of decoding the file a second time: the maps must be those of
its own decode (same pixels, same resize), and a request made while playing computes only
the frames handed over (no decode of its own), batched; paused, today's path."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from fakes import FakeFactory, FakeLocalizer, quadrant_map
from model_core.inference.audio_sources import AudioSpec
from model_core.inference.engine import MapEngine, MapRequest, default_localizer
from model_core.inference.frame_sources import FileFrames, FrameSpec, HandedFrames
from model_core.inference.map_cache import MapCache, MapKey
from model_core.media.frames import VideoReader


@pytest.fixture(scope="module")
def wide_clip(tmp_path_factory):
    """12 frames at 640 x 360: a reduction to 64 / 224 px through resize_frame's halvings."""
    from media_helpers import make_clip

    return make_clip(tmp_path_factory.mktemp("handed") / "wide.mp4", n_frames=12, fps=25.0, size=(640, 360))


def _handed(path, indices) -> HandedFrames:
    """The display's side: a reader of its own decodes ``indices`` and hands them over."""
    store = HandedFrames()
    with VideoReader(path) as display:
        store.set_source(display.backend, display.rotation)
        for i in indices:
            store.put(i, display.read_at_index(i))
    return store


@pytest.mark.parametrize("size", [64, 224, None])
def test_a_handed_frame_reads_as_the_engine_s_own_decode(wide_clip, size):
    own = FileFrames(wide_clip)
    store = _handed(wide_clip, range(12))
    taken = FileFrames(wide_clip, store)
    try:
        assert taken.has_decoded is not None and taken.has_decoded(5)
        mine = own.read(list(range(12)), size)
        theirs = taken.read(list(range(12)), size)
        assert store.taken == 12 and not store.has(5)        # taken, not decoded
        for a, b in zip(mine, theirs):
            assert a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
    finally:
        own.close()
        taken.close()


def _pixel_map(frame, emb):
    """A map that is the frame's own pixels (8 x 8 block means): any pixel change shows."""
    f = np.asarray(frame, np.float32).mean(axis=2)
    return f.reshape(8, f.shape[0] // 8, 8, f.shape[1] // 8).mean(axis=(1, 3)) / 255.0


def test_maps_from_handed_frames_equal_those_from_the_engine_s_own_decode(wide_clip):
    indices = list(range(12))
    got = {}
    for name, spec in (("own", FrameSpec(str(wide_clip))),
                       ("handed", FrameSpec(str(wide_clip), _handed(wide_clip, indices)))):
        engine = MapEngine(MapCache(), FakeFactory(m=FakeLocalizer("m", map_fn=_pixel_map)))
        info = engine.load("/models/m.pt")
        req = MapRequest(1, "v", spec, 0, ahead=11, decoded_only=name == "handed")
        while engine.step(req):
            pass
        got[name] = [engine.cache.get(MapKey("v", info.key, req.audio.key, i)) for i in indices]
        engine.close()
    for a, b in zip(got["own"], got["handed"]):
        assert a is not None and b is not None
        assert np.array_equal(a.map, b.map) and a.time == b.time and a.audio_centre == b.audio_centre


def test_a_real_head_s_maps_are_identical_either_way(wide_clip, make_tiny_checkpoint):
    """The same with a real (tiny) head on torch: the preprocessing after the read is shared."""
    ckpt = make_tiny_checkpoint()
    loc = default_localizer(str(ckpt))
    maps = {}
    for name in ("own", "handed"):
        spec = FrameSpec(str(wide_clip), _handed(wide_clip, range(8)) if name == "handed" else None)
        engine = MapEngine(MapCache(), lambda _p: loc)
        info = engine.load(str(ckpt))
        audio = AudioSpec()
        engine.compute("v", spec, audio, list(range(8)))
        if name == "handed":
            assert spec.handed.taken == 8
        maps[name] = [engine.cache.get(MapKey("v", info.key, audio.key, i)) for i in range(8)]
    for a, b in zip(maps["own"], maps["handed"]):
        assert np.array_equal(a.map, b.map) and a.p_avc == b.p_avc
        assert np.array_equal(a.class_probs, b.class_probs)


def test_playing_computes_only_the_handed_frames_batched_paused_decodes_its_own(wide_clip):
    head = FakeLocalizer("m", map_fn=lambda f, e: quadrant_map("tl", 8))
    store = _handed(wide_clip, [3, 4, 6])
    spec = FrameSpec(str(wide_clip), store)
    engine = MapEngine(MapCache(), FakeFactory(m=head), batch=4)
    engine.load("/models/m.pt")
    try:
        playing = MapRequest(1, "v", spec, 3, ahead=8, decoded_only=True)
        assert engine.step(playing) == [3, 4, 6]     # the playhead with the rest: one batch
        assert head.predicted == [3] and store.taken == 3
        assert engine.step(playing) is None          # nothing handed left: no decode of its own
        paused = MapRequest(2, "v", spec, 5, ahead=2)
        assert engine.step(paused) == [5]            # the playhead alone, decoded here
        assert engine.step(paused) == [7]
        assert head.predicted == [3, 1, 1]
    finally:
        engine.close()


def test_frames_of_another_decoder_or_a_turned_picture_are_not_taken(wide_clip):
    store = _handed(wide_clip, [0, 1])
    with VideoReader(wide_clip) as r:
        backend = r.backend
    other = "pyav" if backend == "opencv" else "opencv"
    for source in ((other, 0), (backend, 90)):
        store.set_source(*source)
        frames = FileFrames(wide_clip, store)
        try:
            assert frames.has_decoded is None
            engine = MapEngine(MapCache(), FakeFactory(m=FakeLocalizer("m")))
            engine.load("/models/m.pt")
            # decoded_only with no usable store: the engine decodes (never starves the maps)
            req = MapRequest(1, "v", FrameSpec(str(wide_clip), store), 0, ahead=1, decoded_only=True)
            assert engine.step(req) == [0]
            engine.close()
        finally:
            frames.close()
    assert store.taken == 0


def test_the_store_is_bounded_and_stays_behind_when_the_spec_goes_to_a_process(wide_clip):
    store = HandedFrames(max_frames=3)
    for i in range(5):
        store.put(i, np.zeros((2, 2, 3), np.uint8))
    assert [store.has(i) for i in range(5)] == [False, False, True, True, True]
    by_bytes = HandedFrames(max_frames=10, max_bytes=3 * 12 + 5)   # room for 3 frames of 12 bytes
    for i in range(5):
        by_bytes.put(i, np.zeros((2, 2, 3), np.uint8))
    assert [by_bytes.has(i) for i in range(5)] == [False, False, True, True, True]
    assert by_bytes.take(3) is not None and by_bytes.take(3) is None
    by_bytes.put(5, np.zeros((2, 2, 3), np.uint8))                 # the taken frame's bytes are free
    assert [by_bytes.has(i) for i in range(6)] == [False, False, True, False, True, True]
    spec = FrameSpec(str(wide_clip), store)
    sent = pickle.loads(pickle.dumps(spec))
    assert sent.handed is None and sent.path == spec.path
    # a new store is a new provider for the engine (compared by identity), the path alone not
    assert spec == FrameSpec(str(wide_clip), store) and spec != FrameSpec(str(wide_clip), HandedFrames())
    assert hash(spec) == hash(FrameSpec(str(wide_clip)))


def test_the_display_decoder_hands_every_frame_it_decodes(qtbot, wide_clip):
    from avsol_viewer.playback.frame_source import PREFETCH, FrameSource

    store = HandedFrames()
    source = FrameSource(VideoReader(wide_clip), handed=store)
    source.start()
    try:
        with qtbot.waitSignal(source.frame_ready, timeout=20000):
            assert source.request(2, prefetch=True) is None
        qtbot.waitUntil(lambda: all(store.has(i) for i in range(2, 3 + PREFETCH)), timeout=20000)
        with VideoReader(wide_clip) as r:
            assert store.source == (r.backend, r.rotation)
            assert np.array_equal(store.take(3), r.read_at_index(3))
        # a replay: frames decoded before are served from the display's cache, and handed too
        store.clear()
        qtbot.waitUntil(lambda: source.cached(2 + PREFETCH) is not None, timeout=20000)
        handed0 = store.handed
        assert source.request(2, prefetch=True) is not None
        assert all(store.has(i) for i in range(2, 3 + PREFETCH))
        source.request(2, prefetch=True)                 # offered again: stored once
        assert store.handed == handed0 + 1 + PREFETCH
        store.clear()
        assert source.request(3, prefetch=False) is not None and not store.has(3)   # paused: not handed
        source.request(2, prefetch=True)
        assert store.has(2)
    finally:
        source.stop_and_wait()
    assert not store.has(2)                              # the decoder stopped: its frames went


def test_the_service_asks_for_handed_frames_only_while_playing(qtbot, index_clip):
    from avsol_viewer.maps.map_service import MapService

    service = MapService(FakeFactory(m=FakeLocalizer("m")))
    service.load_checkpoint("/models/m.pt")
    try:
        qtbot.waitUntil(lambda: len(service.models) == 1, timeout=20000)
        service.set_video(str(index_clip), FrameSpec(str(index_clip), HandedFrames()), fps=25.0)
        service.want(3, playing=True)
        assert service._last.decoded_only
        service.want(3)
        assert not service._last.decoded_only
        service.set_video(str(index_clip), FrameSpec(str(index_clip)), fps=25.0)
        service.want(3, playing=True)                # nothing hands frames: the engine decodes
        assert not service._last.decoded_only
    finally:
        service.stop()
