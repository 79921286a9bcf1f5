"""The map engine's scheduling and caches, without Qt and without torch (fake models)."""
from __future__ import annotations

import numpy as np

from model_core.inference.engine import EmbeddingCache, MapEngine, MapRequest, embed_windows
from model_core.inference.frame_sources import FrameSpec
from model_core.inference.map_cache import MapCache
from viewer_support import FakeLocalizer


def _engine(batch=4):
    eng = MapEngine(MapCache(), batch=batch)
    eng.add("m", FakeLocalizer("dnm"), "/models/dnm.pt")
    return eng


def test_todo_playhead_first_alone_then_ahead():
    eng = _engine()
    req = MapRequest(1, "v", FrameSpec("/x.mp4"), index=10, priority=(3,), ahead=20)
    assert [i for i, _ in eng.todo(req, 100)] == [10]            # the playhead alone
    for i in (10,):
        eng.cache.put(_key(i), _entry())
    assert [i for i, _ in eng.todo(req, 100)] == [3, 11, 12, 13]  # then priority, then ahead


def test_todo_with_a_stride_computes_the_grid_from_the_frame_at_or_before_the_playhead():
    eng = _engine(batch=3)
    req = MapRequest(1, "v", FrameSpec("/x.mp4"), index=10, ahead=12, stride=3)
    assert [i for i, _ in eng.todo(req, 100)] == [9, 12, 15]       # not 10 itself: 9 stands in
    for i in (9, 12, 15):
        eng.cache.put(_key(i), _entry())
    assert [i for i, _ in eng.todo(req, 100)] == [18, 21]
    assert [i for i, _ in eng.todo(req, 20)] == [18]               # never past the end


def test_embed_windows_reads_each_window_once_for_all_models():
    cache = EmbeddingCache(max_items=8)
    a, b = FakeLocalizer("a"), FakeLocalizer("b")
    reads = []

    def read(k):
        reads.append(k)
        return np.full(16000, k, np.float32)

    embed_windows([a, b], ["a", "b"], cache, "own", [0, 16000, 0], read)
    assert reads == [0, 16000] and a.embedded == b.embedded == 2
    embed_windows([a, b], ["a", "b"], cache, "own", [16000], read)   # cached: nothing read
    assert reads == [0, 16000] and a.embedded == 2
    embed_windows([a], ["a"], cache, "noise", [16000], read)         # another audio: its own rows
    assert reads == [0, 16000, 16000]


def _key(i):
    from model_core.inference.map_cache import MapKey

    return MapKey("v", "m", "own", i)


def _entry():
    from model_core.inference.map_cache import MapEntry

    return MapEntry(np.zeros((8, 8), np.float32), 0.5, np.zeros(2, np.float32), 0.0, 0.0)
