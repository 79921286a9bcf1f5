"""The report schema (model_core.metrics.report_schema): the published JSON Schema is the
code's, every hand edit of a report gives one located line, bad rows are marked and left
out of the metrics, and a report carries - and rescoring checks - its provenance."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from model_core.errors import InputError
from model_core.formats import AvsolE, Box, Segment, VideoAnnotation, save_avsol_e
from model_core.metrics.items import ItemResult, score_items
from model_core.metrics.meta import run_meta
from model_core.metrics.report import build_report
from model_core.metrics.report_schema import (SCHEMA_FILES, VERSION, check_report, read_report, schema_text,
                                              usable_report)
from model_core.metrics.rescore import rescore_report

DOCS = Path(__file__).resolve().parents[1] / "docs"
GRAD = np.tile(np.arange(7, dtype=np.float32) / 6, (7, 1))      # peak on the right
SEG = Segment(0, 1, 0.5, True, sounding=(Box(0.5, 0, 1, 1),))


@pytest.mark.parametrize("name", sorted(SCHEMA_FILES))
def test_published_schema_is_the_codes(name):
    # regenerate with: python -m model_core.metrics.report_schema --write docs
    assert (DOCS / name).read_text() == schema_text(SCHEMA_FILES[name])


def _rows(cious):
    return [ItemResult(video=f"v{i}.mp4", time=0.5, head="h", start=0.0, end=1.0, ciou=c, hit=c >= 0.5).to_row()
            for i, c in enumerate(cious)]


def _report(rows, meta=None):
    return build_report([ItemResult.from_row(r) for r in rows], ["h"], meta or {})


def test_a_written_report_is_valid_and_says_its_version():
    rep = _report(_rows([0.6, 0.2]))
    assert rep["version"] == VERSION == 2 and check_report(rep) == {}


def _edit(rep, i, key, value):
    rep = json.loads(json.dumps(rep))
    if value is KeyError:
        del rep["items"][i][key]
    else:
        rep["items"][i][key] = value
    return rep


@pytest.mark.parametrize("key, value, problem", [
    ("ciou", "abc", "items[0].ciou: not a number"),
    ("ciou", 57, "items[0].ciou: 57 is out of range [0, 1]"),
    ("ciou", True, "items[0].ciou: not a number"),
    ("video", KeyError, "items[0].video: missing"),
    ("time", float("inf"), "items[0].time: not a finite number"),
    ("time", -1, "items[0].time: -1 is below 0"),
    ("head", ["h"], "items[0].head: not a string"),
    ("head", "other", "items[0].head: 'other' is not one of the report's heads"),
    ("map", "7x7:@@@@", "items[0].map: not valid base64"),
    ("map", "7x7:AAAA", "items[0].map: holds 3 bytes, a 7x7 float32 map needs 196"),
    ("map", "99999x99999:", "items[0].map: map shape 99999x99999 is out of range (1..1024 a side)"),
    ("map", "7x7AAAA", "items[0].map: not an encoded map (HxW:base64)"),
    ("status", "great", "items[0].status: not one of scored, missing, failed"),
    ("negatives", {"silence": {"p_avc": "x"}}, "items[0].negatives: silence.p_avc: not a number"),
    ("end", 0.25, "items[0].end: 0.25 is before start 0.5"),
])
def test_each_bad_field_gives_one_located_line(key, value, problem):
    rep = _edit(_report(_rows([0.6, 0.2])), 0, key, value)
    if key == "end":
        rep["items"][0]["start"] = 0.5
    assert check_report(rep) == {0: problem}


def test_a_row_that_is_not_an_object():
    rep = _report(_rows([0.6]))
    rep["items"].append([1, 2])
    assert check_report(rep) == {1: "items[1]: not an object"}


@pytest.mark.parametrize("edit, problem", [
    (lambda r: r.update(version=99), "version: report format version 99 is not supported"),
    (lambda r: r.update(format="x"), "not an AVSOL report"),
    (lambda r: r.update(heads=[]), "heads: missing or not an object"),
    (lambda r: r["heads"]["h"].update(auc="0.5"), "heads.h.auc: not a number"),
    (lambda r: r["heads"]["h"]["per_size"]["small"].update(n_total=-1), "heads.h.per_size.small.n_total: -1"),
    (lambda r: r.update(meta=[]), "meta: not an object"),
    (lambda r: r["meta"].update(threshold="fixed:7"), "meta.threshold: not a threshold rule"),
    (lambda r: r["meta"].update(annotations_sha256="abc"), "meta.annotations_sha256: not a sha256 digest"),
    (lambda r: r["meta"].update(checkpoints=[{"name": "h", "sha256": 1}]), "meta.checkpoints: [0].sha256"),
    (lambda r: r.update(items={}), "items: missing or not a list"),
    (lambda r: r.update(notes=[1]), "notes: not a list of strings"),
])
def test_a_bad_header_is_refused_naming_the_file(tmp_path, edit, problem):
    rep = _report(_rows([0.6]))
    edit(rep)
    path = tmp_path / "R.json"
    path.write_text(json.dumps(rep))
    with pytest.raises(InputError) as exc:
        read_report(path, strict=False)
    assert str(exc.value).startswith(f"{path}: ") and problem in str(exc.value)
    assert len(str(exc.value).splitlines()) == 1


@pytest.mark.parametrize("text, problem", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("{", "not JSON"),
    (b"\xff\xfe{", "not UTF-8"),
])
def test_unreadable_json_is_one_line(tmp_path, text, problem):
    path = tmp_path / "R.json"
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    with pytest.raises(InputError) as exc:
        read_report(path)
    assert problem in str(exc.value) and str(path) in str(exc.value)


def test_strict_read_names_the_first_bad_row_and_counts_the_rest(tmp_path):
    rep = _edit(_edit(_report(_rows([0.6, 0.2, 0.1])), 1, "ciou", "abc"), 2, "map", "1x1:!!")
    path = tmp_path / "R.json"
    path.write_text(json.dumps(rep))
    with pytest.raises(InputError, match=r"R.json: items\[1\]\.ciou: not a number \(and 1 more bad item row\)"):
        read_report(path, strict=True)
    doc, bad = read_report(path, strict=False)
    assert sorted(bad) == [1, 2]


def test_bad_rows_are_left_out_of_the_metrics():
    rep = _report(_rows([0.6, 0.2, 0.9]))          # cIoU@0.5 2/3
    rep = _edit(rep, 0, "ciou", "abc")              # rows are worst first: row 0 is the 0.2 item
    bad = check_report(rep)
    shown = usable_report(rep, bad)
    h = shown["heads"]["h"]
    assert h["n_items"] == 2 and h["ciou@0.5"] == 1.0          # 0.6 and 0.9 left, both >= 0.5
    assert shown["notes"][0] == "1 invalid item row(s) left out of the metrics; first: items[0].ciou: not a number"
    assert check_report(shown) == {} and rep["heads"]["h"]["n_items"] == 3   # the input is not touched


# -- provenance ----------------------------------------------------------------------------
def _set(tmp_path, boxes=(0.5, 0, 1, 1)):
    ann = tmp_path / "avsol-e.json"
    seg = Segment(0, 1, 0.5, True, sounding=(Box(*boxes),))
    save_avsol_e(AvsolE(("bell",), (VideoAnnotation("v.mp4", "bell", (seg,)),)), ann)
    return ann, seg


def test_meta_records_the_sha256_of_annotations_and_maps(tmp_path):
    ann, _ = _set(tmp_path)
    maps = tmp_path / "m.npz"
    maps.write_bytes(b"12345")
    meta = run_meta("metrics", annotations=str(ann), maps=str(maps))
    assert meta["annotations_sha256"] == hashlib.sha256(ann.read_bytes()).hexdigest()
    assert meta["maps_sha256"] == hashlib.sha256(b"12345").hexdigest()
    assert run_meta("eval", annotations=str(tmp_path))["annotations_sha256"] is None   # a folder: nothing to pin


def _scored(tmp_path, negatives=None):
    ann, seg = _set(tmp_path)
    items = score_items(GRAD[None], [seg], videos=["v.mp4"], head="h", categories=["bell"], p_avc=[0.9])
    if negatives:
        items[0].negatives = negatives
    meta = run_meta("metrics", annotations=str(ann), threshold="median")
    return ann, build_report(items, ["h"], meta)


def test_rescoring_stops_when_the_annotations_changed(tmp_path):
    ann, rep = _scored(tmp_path)
    assert rescore_report(rep, "top-gt")["meta"]["annotations_sha256"] == rep["meta"]["annotations_sha256"]
    _set(tmp_path, boxes=(0, 0, 0.5, 1))             # the data set changed in place: box moved left
    with pytest.raises(InputError) as exc:
        rescore_report(rep, "top-gt")
    assert "changed since the report was scored" in str(exc.value) and "--allow-changed-annotations" in str(exc.value)
    new = rescore_report(rep, "top-gt", allow_changed_annotations=True)
    now = hashlib.sha256(ann.read_bytes()).hexdigest()
    assert new["meta"]["annotations_changed"] == {"was": rep["meta"]["annotations_sha256"], "now": now}
    assert new["meta"]["annotations_sha256"] == now and any(n.startswith("annotations changed:") for n in new["notes"])
    assert new["items"][0]["ciou"] == 0.0            # the map's peak is right, the new box is left


def test_rescoring_carries_the_negatives_and_says_under_which_rule(tmp_path):
    neg = {"silence": {"p_avc": 0.2, "pia": 0.1, "map_iou": 0.3, "map_change": 0.05}}
    _, rep = _scored(tmp_path, neg)
    rep["meta"]["negatives"] = {"kinds": ["silence"]}
    assert rep["heads"]["h"]["negatives"]["silence"]["n_items"] == 1
    new = rescore_report(rep, "fixed:0.5")
    assert new["items"][0]["negatives"] == neg
    assert new["heads"]["h"]["negatives"] == rep["heads"]["h"]["negatives"]
    assert new["meta"]["negatives"] == {"kinds": ["silence"], "map_iou_rule": "median"}
    assert any(n.startswith("negatives carried:") for n in new["notes"])


def test_an_ave_report_is_rescored_through_the_ave_loader(tmp_path):
    from model_core.evaluation import load_eval_set

    root = tmp_path / "ave"
    (root / "videos").mkdir(parents=True)
    (root / "Annotations.txt").write_text("Category&VideoID&Quality&StartTime&EndTime\nbell&x1&good&0&3\n")
    es = load_eval_set(root)
    segs = es.videos[0].segments[:2]
    items = score_items(np.stack([GRAD, GRAD]), list(segs), videos=["x1.mp4"] * 2, head="h",
                        categories=["bell"] * 2, p_avc=[0.9, 0.1])
    for meta in ({"annotations": str(root / "Annotations.txt"), "data": str(root)},
                 {"annotations": str(root / "Annotations.txt")}):        # no data folder: the bug's path
        rep = build_report(items, ["h"], run_meta("eval", **meta))
        new = rescore_report(rep, "top-gt")                              # was: Annotations.txt: not JSON
        assert new["meta"]["threshold"] == "top-gt" and len(new["items"]) == 2


def test_an_eval_report_is_valid_and_pins_its_annotations(tmp_path):
    from test_eval import FakeLocalize, make_set, run

    root = make_set(tmp_path / "data", absent=("v3.mp4",))
    res, _, _ = run(root, tmp_path / "r.json", FakeLocalize(bad={"v2.mp4"}))
    meta = res.report["meta"]
    assert check_report(res.report) == {}
    assert meta["annotations_sha256"] == hashlib.sha256(Path(meta["annotations"]).read_bytes()).hexdigest()
    assert [c["sha256"] for c in meta["checkpoints"]] == ["fake-a", "fake-b"]     # the loader's fingerprint


def test_compare_output_has_what_its_schema_requires(tmp_path):
    from model_core.cli import main
    from model_core.metrics.report_schema import COMPARE_FORMAT, compare_schema

    rep = _report(_rows([0.6, 0.2, 0.9]))
    rep["items"] += [dict(r, head="g") for r in rep["items"]]
    rep["heads"]["g"] = rep["heads"]["h"]
    (tmp_path / "r.json").write_text(json.dumps(rep))
    assert main(["compare", str(tmp_path / "r.json"), "--out", str(tmp_path / "c.json"), "--resamples", "100"]) == 0
    doc = json.loads((tmp_path / "c.json").read_text())
    schema = compare_schema()
    assert set(schema["required"]) <= set(doc) and doc["format"] == COMPARE_FORMAT
    for pair in doc["pairs"]:
        assert set(schema["$defs"]["pair"]["required"]) <= set(pair)
        for iv in pair["metrics"].values():
            assert set(schema["$defs"]["interval"]["required"]) <= set(iv) and len(iv["ci"]) == 2
