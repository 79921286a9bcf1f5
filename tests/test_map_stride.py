"""The playing stride: every frame's map while the engine keeps up, every k-th frame's
when it does not (the displayed frames come first), chosen from the worker's measured pace
on a clock the fake models move, so no figure depends on this machine's speed."""
from __future__ import annotations

import numpy as np
import pytest

from avsol_viewer.maps.map_service import PlayingStride
from avsol_viewer.maps.map_worker import MapPace
from fakes import FakeClock, FakeFactory, FakeLocalizer, quadrant_map


def test_stride_is_the_smallest_that_fits_the_share_and_shrinks_with_a_margin():
    # share 0.8, margin 0.8, 30 fps: busy = seconds per frame x 30 (worker s per s at k = 1)
    p = PlayingStride(share=0.8, margin=0.8)
    assert p.update(30, None, 15) == 1          # nothing measured yet: every frame
    assert p.update(30, 0.02, 15) == 1          # busy 0.6 <= 0.8
    assert p.update(30, 0.05, 15) == 2          # busy 1.5: 1.5 / 2 = 0.75 fits, 1.5 / 1 does not
    assert p.update(30, 0.08, 15) == 3          # busy 2.4: 2.4 / 3 = 0.8 fits exactly
    assert p.update(30, 0.05, 15) == 3          # 1.5 / 2 = 0.75 fits, but not within 0.64: stays
    assert p.update(30, 0.04, 15) == 2          # 1.2 / 2 = 0.6 <= 0.64: down; 1.2 / 1 is not
    assert p.update(30, 0.01, 15) == 1          # 0.3 / 1 <= 0.64
    assert p.update(30, 1.0, 15) == 15          # busy 30 would need 38: the limit
    assert p.update(30, None, 15) == 15         # no new measure: unchanged


def test_reading_is_paid_at_every_stride_so_only_the_models_part_is_divided():
    # 30 fps; reading 0.01 s a frame = 0.3 s per s whatever the stride; models 0.05 s a frame
    # = 1.5 s per s at k = 1: 0.3 + 1.5 / k <= 0.8 needs k = 3 (0.3 + 0.5), not 2 (1.05)
    p = PlayingStride(share=0.8, margin=0.8)
    assert p.update(30, 0.05, 60, read_seconds_per_frame=0.01) == 3
    # the models get faster (0.02: 0.6 per s): 0.3 + 0.6 / 2 = 0.6 fits 0.64 (down to 2),
    # 0.3 + 0.6 = 0.9 does not
    assert p.update(30, 0.02, 60, read_seconds_per_frame=0.01) == 2
    assert not p.starved
    # reading alone takes the share (0.03 a frame = 0.9 per s): no stride helps, the limit,
    # and playing goes without maps
    assert p.update(30, 0.02, 60, read_seconds_per_frame=0.03) == 60
    assert p.starved
    # the models alone, 30 s per s: down from 60 while 30 / (k - 1) <= 0.64, to 47
    # (30 / 46 = 0.65); 30 / 47 = 0.64 fits the share. At 60 s per s, 60 / 60 = 1.0 does not
    assert p.update(30, 1.0, 60) == 47 and not p.starved
    assert p.update(30, 2.0, 60) == 60 and p.starved


def test_a_starved_engine_still_gets_the_fixed_rate_while_playing(qtbot, index_clip):
    """Reading alone over the share (starved) asks for maps at MIN_PLAYING_MAPS_PER_S, as
    the fixed rate did: 25 fps / 10 = stride 2 (round half to even), the request submitted."""
    clock = FakeClock()
    service = _service(qtbot, index_clip, clock, m0=_slow("m0", clock, 0.01))
    try:
        pace = service.worker.pace
        assert pace.steps >= 8 and service.playing_stride() == 1
        pace.read_seconds_per_frame = 0.04       # 25 fps x 0.04 = 1.0 s per s: over the share
        service.want(30, playing=True)
        assert service.stride_policy.starved and service.starved
        assert service._last.stride == 2 and service.longest_playing_stride() == 2
        assert service.worker._request is service._last   # submitted, not withdrawn
        service.want(30)                         # paused: every frame
        assert service._last.stride == 1
    finally:
        service.stop()


def test_pace_is_a_moving_average_of_seconds_per_map():
    pace = MapPace(weight=0.25)
    pace.record(0, 1.0)                         # nothing computed: no measure
    assert pace.seconds_per_map is None
    pace.record(4, 0.4)
    assert pace.seconds_per_map == pytest.approx(0.1)
    pace.record(2, 0.6)                         # 0.3 per map: 0.1 + 0.25 x 0.2
    assert pace.seconds_per_map == pytest.approx(0.15)
    assert pace.read_seconds_per_frame == 0.0
    pace.record(4, 0.6, frames=8, read_seconds=0.4)  # 0.15 per map, 0.05 read per frame covered
    assert pace.seconds_per_map == pytest.approx(0.15)
    assert pace.read_seconds_per_frame == pytest.approx(0.0125)   # 0 + 0.25 x 0.05


def _slow(name: str, clock: FakeClock, seconds: float) -> FakeLocalizer:
    """A fake head whose every map moves ``clock`` by ``seconds`` (its cost)."""
    def map_fn(frame, emb):
        clock.advance(seconds)
        return quadrant_map("tl", 8)

    return FakeLocalizer(name, map_fn=map_fn)


def _service(qtbot, clip, clock, **fakes):
    from avsol_viewer.maps.map_service import MapService
    from model_core.inference.frame_sources import FrameSpec

    service = MapService(FakeFactory(**fakes), clock=clock)
    for name in fakes:
        service.load_checkpoint(f"/models/{name}.pt")
    qtbot.waitUntil(lambda: len(service.models) == len(fakes), timeout=20000)
    service.set_video(str(clip), FrameSpec(str(clip)), fps=25.0)
    with qtbot.waitSignal(service.idle, timeout=30000):
        service.want(0)                          # paused: every frame's map, timed
    return service


@pytest.mark.parametrize("cost, models, stride", [
    (0.01, 1, 1),    # 25 fps x 0.01 s = 0.25 s per s: every frame's map while playing
    (0.02, 2, 2),    # 2 models: 0.04 s a frame, busy 1.0: 1.0 / 2 = 0.5 fits, 1.0 does not
    (0.1, 1, 2),     # busy 2.5 would need 4: capped at the fixed rate's stride (25 / 10 -> 2)
    (10.0, 1, 2),    # busy 250 would need 313: the same cap
])
def test_playing_asks_for_every_frame_when_the_engine_keeps_up_else_every_kth(
        qtbot, index_clip, cost, models, stride):
    clock = FakeClock()
    fakes = {f"m{j}": _slow(f"m{j}", clock, cost) for j in range(models)}
    service = _service(qtbot, index_clip, clock, **fakes)
    try:
        assert service.worker.pace.seconds_per_map == pytest.approx(cost)
        service.want(10, playing=True)
        assert service._last is not None and service._last.stride == stride
        assert service.playing_stride() == stride
        service.want(10)                         # paused again: every frame
        assert service._last.stride == 1
    finally:
        service.stop()


def test_a_slow_engine_computes_the_grid_and_the_overlay_falls_back_to_the_nearest_earlier_map(
        qtbot, index_clip):
    from model_core.inference.frame_sources import FrameSpec

    clock = FakeClock()
    head = _slow("m0", clock, 0.1)
    service = _service(qtbot, index_clip, clock, m0=head)
    try:
        # the same frames under another media key: none of the paused maps apply
        service.set_video(str(index_clip) + "#2", FrameSpec(str(index_clip)), fps=25.0)
        head.frames_seen.clear()
        with qtbot.waitSignal(service.idle, timeout=30000):
            service.want(9, playing=True)        # stride 2 (capped): frames 8, 10, ... 48
        key = service.models[0].key
        assert sorted(set(head.frames_seen)) == list(range(8, 50, 2))
        entry, age = service.entry(key, 11, playing=True)
        assert entry is not None and age == 1    # frame 10's map stands in for frame 11
        assert np.asarray(entry.map).shape == (8, 8)
    finally:
        service.stop()
