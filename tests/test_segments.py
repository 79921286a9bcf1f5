"""The one AVE segmentation rule (``model_core.formats.ave.segment_count``): the viewer,
``avsol eval`` and training cut a video shorter and one longer than 10 s the same way."""
from __future__ import annotations

import pytest

from media_helpers import make_clip
from model_core.formats.ave import SEGMENT_TOLERANCE, event_flags, segment_count

HEADER = "Category&VideoID&Quality&StartTime&EndTime"


@pytest.mark.parametrize("duration, annotated, expected", [
    (7.5, 10, 7),        # shorter: its whole seconds only (frame 7.5 s and the audio of 7-8 s are not there)
    (10.0, 10, 10),
    (10.0 - SEGMENT_TOLERANCE / 2, 10, 10),  # a container ending a hair short keeps its last second
    (9.9, 10, 9),
    (12.5, 10, 10),      # longer: seconds past the annotations are not segments (nobody looked)
    (12.5, 12, 12),      # unless the annotations go on
    (12.5, None, 12),    # no cap (what a feature cache holds)
    (None, 10, 10),      # unknown length: every annotated segment
    (0.3, 10, 0),
])
def test_segment_count(duration, annotated, expected):
    assert segment_count(duration, annotated) == expected


def test_event_flags_extend_with_rows_past_ten_seconds():
    from model_core.formats.ave import AveRow

    rows = [AveRow("Dog", "v", "good", 9.0, 12.0, 2)]
    assert event_flags(rows, 12.5) == [False] * 9 + [True] * 3
    assert event_flags(rows, 9.5) == [False] * 9
    assert event_flags(rows) == [False] * 9 + [True] * 3


@pytest.fixture(scope="module")
def ave_folder(tmp_path_factory):
    """A 7.5 s and a 12.5 s video (4 fps, tiny) with AVE rows reaching past their ends."""
    root = tmp_path_factory.mktemp("seg_ave")
    (root / "videos").mkdir()
    make_clip(root / "videos" / "short.mp4", n_frames=30, fps=4.0, size=(32, 32))   # 7.5 s
    make_clip(root / "videos" / "long.mp4", n_frames=50, fps=4.0, size=(32, 32))    # 12.5 s
    rows = ["Dog&short&good&5&10", "Dog&long&good&2&4", "Cat&long&good&8&10"]
    (root / "Annotations.txt").write_text("\n".join([HEADER, *rows]) + "\n")
    (root / "trainSet.txt").write_text("\n".join([HEADER, *rows]) + "\n")
    (root / "valSet.txt").write_text("")
    (root / "testSet.txt").write_text("")
    return root


def test_viewer_eval_and_training_agree(ave_folder):
    from avsol_viewer.core.annotation_finder import load_annotations
    from model_core.evaluation.dataset import load_eval_set
    from model_core.media.probe import probe
    from model_core.train.dataset import load_training_data
    from model_core.train.feature_cache import compute_video

    expected = {"short": [5, 6],                # 7.5 s: segments 0..6; events 5..9 -> 5, 6
                "long": [2, 3, 8, 9]}           # 12.5 s: segments 0..9 (annotated span)
    counts = {"short": 7, "long": 10}
    evalset = load_eval_set(ave_folder)
    data = load_training_data(ave_folder)
    for vid in ("short", "long"):
        path = ave_folder / "videos" / f"{vid}.mp4"
        duration = probe(path).duration
        viewer = load_annotations(ave_folder / "Annotations.txt", path, duration)
        ev = next(v for v in evalset.videos if v.name == f"{vid}.mp4")
        assert len(viewer.segments) == len(ev.segments) == counts[vid], vid
        assert [k for k, s in enumerate(viewer.segments) if s.event] == expected[vid]
        assert [k for k, s in enumerate(ev.segments) if s.event] == expected[vid]
        assert [s.frame_time for s in ev.segments] == [k + 0.5 for k in range(counts[vid])]
        # training: its positives, less those whose segment the feature cache cannot hold
        _frames, _mels, valid, _audio = compute_video(path, 32)
        v_index = next(i for i, v in enumerate(data.videos) if v.video_id == vid)
        train = [it.segment for it in data.positives("train") if it.video == v_index and it.segment < len(valid)]
        assert train == expected[vid], vid
