"""The one rule mapping a time to the frame shown (the reader's and the viewer's timeline)."""
from __future__ import annotations

from model_core.media.frames import frame_index_at


def test_constant_rate_floor_with_slack_and_clamping():
    assert frame_index_at(0.3, 10.0, None, 5) == 3          # 0.3 * 10 is 2.9999999999999996
    assert frame_index_at(0.2999999, 10.0, None, 5) == 3     # within the 1 µs slack
    assert frame_index_at(0.299, 10.0, None, 5) == 2
    assert frame_index_at(-1.0, 10.0, None, 5) == 0
    assert frame_index_at(100.0, 10.0, None, 5) == 4


def test_variable_rate_uses_the_presentation_times():
    times = [0.0, 0.04, 0.1, 0.25]
    assert frame_index_at(0.05, 25.0, times, 4) == 1
    assert frame_index_at(0.1, 25.0, times, 4) == 2
    assert frame_index_at(0.0999995, 25.0, times, 4) == 2   # slack
    assert frame_index_at(9.0, 25.0, times, 4) == 3


def test_the_viewer_timeline_agrees_with_the_rule():
    from avsol_viewer.core.session import Timeline

    tl = Timeline(fps=10.0, frame_count=5, duration=0.5)
    assert [tl.index_at(t) for t in (0.3, 0.299, -1.0, 9.0)] == [3, 2, 0, 4]
    assert Timeline(fps=10.0, frame_count=0, duration=0.0).index_at(1.0) == 0   # never -1
