"""AVSOL-E v1 reader/writer: every validation rule, every problem reported, round trip."""
from __future__ import annotations

import copy
import json

import pytest

from model_core.errors import AnnotationError, InputError
from model_core.formats import (
    AvsolE, Box, Segment, VideoAnnotation, avsol_e_from_dict, avsol_e_to_dict, load_avsol_e,
    save_avsol_e,
)

VALID = {
    "format": "avsol-e", "version": 1, "classes": ["Church bell", "Race car, auto racing"],
    "videos": [
        {"video": "RUhOCu3LNXM.mp4", "category": "Church bell",
         "segments": [
             {"start": 3.0, "end": 4.0, "frame_time": 3.5, "event": True,
              "sounding": [{"box": [0.41, 0.10, 0.62, 0.55], "label": "bell"}],
              "silent": [{"box": [0.05, 0.50, 0.20, 0.90], "label": "man"}]},
             {"start": 0.0, "end": 1.0, "frame_time": 0.5, "event": False},
         ]},
        {"video": "car.mp4", "category": "Race car, auto racing",
         "segments": [
             {"start": 1, "end": 2, "event": True,
              "annotators": [[[0.0, 0.0, 0.5, 0.5]], [{"box": [0.25, 0.25, 1.0, 1.0]}]]},
         ]},
    ],
}


def problems_of(d) -> list[str]:
    with pytest.raises(AnnotationError) as info:
        avsol_e_from_dict(d, "x.json")
    return info.value.problems


def test_valid_document_builds_data_classes():
    a = avsol_e_from_dict(copy.deepcopy(VALID))
    assert a.classes == ("Church bell", "Race car, auto racing")
    assert a.video_names == ("RUhOCu3LNXM.mp4", "car.mp4")
    assert len(a) == 2 and a.n_items == 3
    bell = a["RUhOCu3LNXM.mp4"]
    seg = bell.segments[0]
    assert seg.sounding == (Box(0.41, 0.10, 0.62, 0.55, "bell"),)
    assert seg.silent == (Box(0.05, 0.50, 0.20, 0.90, "man"),)
    assert seg.gt_boxes_for_metrics() == ("union", seg.sounding)
    assert not bell.segments[1].event and bell.segments[1].sounding == ()
    car = a.get("car.mp4")
    s = car.segments[0]
    assert s.frame_time == 1.5  # defaults to the midpoint
    assert s.gt_boxes_for_metrics() == ("annotators", ((Box(0, 0, 0.5, 0.5),), (Box(0.25, 0.25, 1, 1),)))
    assert s.sounding_boxes == (Box(0, 0, 0.5, 0.5), Box(0.25, 0.25, 1, 1))
    assert a.get("nope.mp4") is None and "nope.mp4" not in a and "car.mp4" in a
    assert [(v.video, g.frame_time) for v, g in a.items()] == [
        ("RUhOCu3LNXM.mp4", 3.5), ("RUhOCu3LNXM.mp4", 0.5), ("car.mp4", 1.5)]
    assert Box(0.1, 0.2, 0.5, 0.6).area == pytest.approx(0.16)


def test_round_trip(tmp_path):
    a = avsol_e_from_dict(copy.deepcopy(VALID))
    out = tmp_path / "sub" / "a.json"
    save_avsol_e(a, out)
    b = load_avsol_e(out)
    assert b == a
    assert json.loads(out.read_text())["format"] == "avsol-e"
    assert avsol_e_to_dict(b) == avsol_e_to_dict(a)
    assert not list(out.parent.glob(".*tmp"))  # atomic write left no temporary


def test_save_refuses_invalid_object(tmp_path):
    bad = AvsolE(("a",), (VideoAnnotation("v.mp4", "b", (Segment(0, 1, 0.5),)),))
    with pytest.raises(AnnotationError, match="not in 'classes'"):
        save_avsol_e(bad, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()


def test_tolerance_clips_tiny_excursions():
    d = copy.deepcopy(VALID)
    d["videos"][0]["segments"][0]["sounding"][0]["box"] = [-1e-7, 0.1, 1 + 5e-7, 0.5]
    box = avsol_e_from_dict(d).videos[0].segments[0].sounding[0]
    assert (box.x1, box.x2) == (0.0, 1.0)


def test_every_problem_reported_with_location():
    d = copy.deepcopy(VALID)
    seg = d["videos"][0]["segments"][0]
    seg["sounding"] = [{"box": [0.6, 0.1, 0.4, 0.5]},            # x1 > x2
                       {"box": [0.1, 0.2, 0.3]},                  # 3 numbers
                       {"box": [0.1, 0.2, 0.3, "a"]},             # not a number
                       {"box": [0.1, 0.2, 1.5, 0.4]},             # out of [0, 1]
                       {"box": [0.1, 0.3, 0.2, 0.3]},             # y1 == y2
                       [0.1, 0.1, 0.2, 0.2, 0.3],                 # 5 numbers, bare list
                       "box"]                                     # not a box at all
    d["videos"][0]["segments"][1]["sounding"] = [[0.1, 0.1, 0.2, 0.2]]  # background with box
    d["videos"][1]["segments"][0].update(start=2, end=2)         # start >= end
    d["videos"].append({"video": "c.mp4", "category": "Dog", "segments": [
        {"start": 0, "end": 1, "frame_time": 2, "event": "yes"}]})
    probs = problems_of(d)
    v0 = "videos[0] 'RUhOCu3LNXM.mp4' segments[0].sounding"
    expected = [
        f"{v0}[0].box: x1 > x2",
        f"{v0}[1].box: expected 4 numbers [x1, y1, x2, y2], got 3 items",
        f"{v0}[2].box: expected 4 finite numbers [x1, y1, x2, y2]",
        f"{v0}[3].box: x2 = 1.5 is outside [0, 1]",
        f"{v0}[4].box: y1 >= y2 (empty box)",
        f"{v0}[5]: expected 4 numbers [x1, y1, x2, y2], got 5 items",
        f"{v0}[6]: expected a box object or [x1, y1, x2, y2], got string",
        "videos[0] 'RUhOCu3LNXM.mp4' segments[1]: event is false (background segment) but sounding boxes are given",
        "videos[1] 'car.mp4' segments[0]: start 2 >= end 2",
        "videos[2] 'c.mp4'.category: 'Dog' is not in 'classes'",
        "videos[2] 'c.mp4' segments[0].event: expected true or false, got string",
        "videos[2] 'c.mp4' segments[0].frame_time: 2 is outside [start, end] = [0, 1]",
    ]
    assert sorted(probs) == sorted(expected)
    with pytest.raises(AnnotationError) as info:
        avsol_e_from_dict(d, "x.json")
    msg = str(info.value)
    assert msg.startswith("x.json: 12 problems: ") and "\n" not in msg


def test_top_level_problems():
    assert problems_of([]) == ['expected a JSON object with "format": "avsol-e", got list']
    probs = problems_of({"format": "avsol-x", "version": 2, "classes": "a", "videos": {}})
    assert probs == [
        "format: expected 'avsol-e', got 'avsol-x' (not an AVSOL-E file?)",
        "version: unsupported version 2; this program reads version 1",
        "classes: expected a list of strings, got string",
        "videos: expected a list, got object",
    ]
    assert problems_of({}) == [
        "format: expected 'avsol-e', got missing (not an AVSOL-E file?)",
        "missing field 'version'", "missing field 'classes'", "missing field 'videos'"]
    assert problems_of({"format": "avsol-e", "version": True, "classes": ["a", "a", ""], "videos": []}) == [
        "version: unsupported version True; this program reads version 1",
        "classes[1]: duplicate class 'a'", "classes[2]: expected a non-empty string, got string"]


def test_missing_fields_wrong_types_duplicates_unknown_keys():
    d = copy.deepcopy(VALID)
    d["videos"] += [
        {"video": "car.mp4", "category": "Church bell", "segments": []},   # duplicate name
        {"category": "Church bell"},                                        # no video, segments
        {"video": 3, "category": 4, "segments": "x"},
        "not a video",
        {"video": "d.mp4", "category": "Church bell", "segmnts": [],
         "segments": [{"end": 1.0, "event": True, "sounding ": []},
                      {"start": 0, "end": float("nan"), "event": True},
                      {"start": 2, "end": 3, "event": True},
                      {"start": 2, "end": 3, "event": True},                # same frame time
                      {"start": -1, "end": 3, "event": True, "sounding": [[0, 0, 1, 1]],
                       "annotators": [[[0, 0, 1, 1]]]},
                      {"start": 0, "end": 1, "event": True, "annotators": [[[0, 0, 1, 1]], "x"]},
                      {"start": 5, "end": 6, "event": True, "sounding": [{"box": [0, 0, 1, 1], "label": 3, "lbl": 1}]},
                      ]},
    ]
    probs = problems_of(d)
    assert probs == [
        "videos[2] 'car.mp4': duplicate video name (also videos[1])",
        "videos[3]: missing field 'video'",
        "videos[3]: missing field 'segments'",
        "videos[4].video: expected a non-empty file name, got number",
        "videos[4].category: expected a string, got number",
        "videos[4].segments: expected a list, got string",
        "videos[5]: expected an object, got string",
        "videos[6] 'd.mp4': unknown field 'segmnts'",
        "videos[6] 'd.mp4' segments[0]: unknown field 'sounding '",
        "videos[6] 'd.mp4' segments[0]: missing field 'start'",
        "videos[6] 'd.mp4' segments[1].end: expected a finite number, got number",
        "videos[6] 'd.mp4' segments[3].frame_time: 2.5 repeats segments[2]",
        "videos[6] 'd.mp4' segments[4].start: negative time -1",
        "videos[6] 'd.mp4' segments[4]: give either 'sounding' or 'annotators', not both",
        "videos[6] 'd.mp4' segments[5].annotators[1]: expected a list of boxes, got string",
        "videos[6] 'd.mp4' segments[6].sounding[0]: unknown field 'lbl'",
        "videos[6] 'd.mp4' segments[6].sounding[0].label: expected a string or null, got number",
    ]


def test_file_level_errors(tmp_path):
    with pytest.raises(AnnotationError, match="file not found"):
        load_avsol_e(tmp_path / "missing.json")
    with pytest.raises(AnnotationError, match="is a folder"):
        load_avsol_e(tmp_path)
    p = tmp_path / "a.json"
    p.write_bytes(b"\xff\xfe{}")
    with pytest.raises(AnnotationError, match="not UTF-8"):
        load_avsol_e(p)
    p.write_text("{ not json")
    with pytest.raises(AnnotationError, match="not JSON: .* line 1") as info:
        load_avsol_e(p)
    assert str(info.value).startswith(str(p))
    assert isinstance(info.value, InputError)
    p.write_text('{"format": NaN}')
    with pytest.raises(AnnotationError, match="NaN is not valid JSON"):
        load_avsol_e(p)
    p.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(AnnotationError, match="not JSON"):
        load_avsol_e(p)


def test_bom_accepted(tmp_path):
    p = tmp_path / "bom.json"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps(VALID).encode())
    assert len(load_avsol_e(p)) == 2


def test_data_classes_are_frozen_and_hashable():
    b = Box(0, 0, 1, 1)
    with pytest.raises(AttributeError):
        b.x1 = 0.5  # type: ignore[misc]
    a = avsol_e_from_dict(copy.deepcopy(VALID))
    assert hash(a.videos[0]) == hash(avsol_e_from_dict(copy.deepcopy(VALID)).videos[0])


def test_video_name_with_control_characters_refused():
    d = copy.deepcopy(VALID)
    d["videos"][1]["video"] = "car\x00.mp4"
    assert problems_of(d) == ["videos[1].video: 'car\\x00.mp4' contains control characters"]
