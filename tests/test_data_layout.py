"""The data-folder rules (model_core.data_layout): which annotation file wins and where the
videos are, and that eval, training, the viewer and the output checks all follow them."""
from __future__ import annotations

import json
from pathlib import Path

from model_core import data_layout as layout

AVSOL_E = {"format": "avsol-e", "version": 1, "classes": ["Dog"],
           "videos": [{"video": "abc.mp4", "category": "Dog",
                       "segments": [{"start": 2, "end": 3, "event": True, "sounding": [[0.1, 0.1, 0.4, 0.5]]}]}]}
AVE_LINES = "Dog&abc&good&2&4\n"


def make_folder(root: Path, *, avsol_e=True, ave=True, video_sub="videos") -> Path:
    """A set folder as avsol synth writes it: both annotation files, the splits, and one
    (empty) video in ``video_sub``."""
    root.mkdir(parents=True, exist_ok=True)
    if avsol_e:
        (root / layout.AVSOL_E_FILE).write_text(json.dumps(AVSOL_E))
    if ave:
        (root / layout.AVE_ANNOTATIONS).write_text(AVE_LINES)
        for name in layout.SPLIT_FILES.values():
            (root / name).write_text("abc\n")
    vdir = root / video_sub if video_sub else root
    vdir.mkdir(exist_ok=True)
    (vdir / "abc.mp4").write_bytes(b"")
    return root


def test_avsol_e_wins_over_ave(tmp_path):
    both = make_folder(tmp_path / "both")
    assert layout.annotation_file(both) == both / "avsol-e.json"
    ave = make_folder(tmp_path / "ave", avsol_e=False)
    assert layout.annotation_file(ave) == ave / "Annotations.txt"
    none = make_folder(tmp_path / "none", avsol_e=False, ave=False)
    assert layout.annotation_file(none) is None
    (none / "avsol-e.json").mkdir()                       # a folder of that name is no file
    assert layout.annotation_file(none) is None


def test_annotation_files_avsol_e_anywhere_before_ave(tmp_path):
    near, far = tmp_path / "set" / "videos", tmp_path / "set"
    near.mkdir(parents=True)
    (near / "Annotations.txt").write_text(AVE_LINES)
    (far / "Annotations.txt").write_text(AVE_LINES)
    assert layout.annotation_files(near, far) == [near / "Annotations.txt", far / "Annotations.txt"]
    (far / "avsol-e.json").write_text(json.dumps(AVSOL_E))
    assert layout.annotation_files(near, far) == [far / "avsol-e.json", near / "Annotations.txt",
                                                  far / "Annotations.txt"]


def test_video_folder(tmp_path):
    assert layout.video_folder(make_folder(tmp_path / "a")) == tmp_path / "a" / "videos"
    assert layout.video_folder(make_folder(tmp_path / "b", video_sub="AVE")) == tmp_path / "b" / "AVE"
    assert layout.video_folder(make_folder(tmp_path / "c", video_sub=None)) == tmp_path / "c"
    c = tmp_path / "c"
    (c / "videos").mkdir()                                # empty: does not hide the videos in c
    (c / "videos" / "notes.txt").write_text("x")
    assert layout.video_folder(c) == c
    (c / "AVE").mkdir()
    (c / "AVE" / "x.MKV").write_bytes(b"")                # any video suffix, any case
    assert layout.video_folder(c) == c / "AVE"
    (c / "videos" / "y.mov").write_bytes(b"")             # videos/ comes first
    assert layout.video_folder(c) == c / "videos"
    assert layout.video_folder(tmp_path / "missing") == tmp_path / "missing"


def test_eval_training_and_viewer_read_the_same_file_and_videos(tmp_path):
    from avsol_viewer.core.annotation_finder import find_annotations
    from model_core.formats.eval_set import AVE_MODE, AVSOL_E_MODE, load_eval_set
    from model_core.input_protection import data_inputs
    from model_core.train.dataset import load_training_data

    both = make_folder(tmp_path / "both")
    es = load_eval_set(both)
    assert es.mode == AVSOL_E_MODE and es.annotations == both / "avsol-e.json"
    assert es.video_dir == both / "videos" and es.videos[0].path == both / "videos" / "abc.mp4"
    found, note = find_annotations(both / "videos" / "abc.mp4")
    assert found.kind == "avsol-e" and Path(found.source) == both / "avsol-e.json" and note == ""
    assert load_training_data(both).boxes is not None          # the AVSOL-E boxes are read
    assert {both / "avsol-e.json", both / "Annotations.txt", both / "videos" / "abc.mp4"} <= set(data_inputs(both))

    ave = make_folder(tmp_path / "ave", avsol_e=False, video_sub="AVE")
    es = load_eval_set(ave)
    assert es.mode == AVE_MODE and es.annotations == ave / "Annotations.txt"
    assert es.video_dir == ave / "AVE" and es.videos[0].path == ave / "AVE" / "abc.mp4"
    found, _ = find_annotations(ave / "AVE" / "abc.mp4")
    assert found.kind == "ave" and Path(found.source) == ave / "Annotations.txt"
    assert load_training_data(ave).boxes is None
    assert ave / "AVE" / "abc.mp4" in data_inputs(ave)
