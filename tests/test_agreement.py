"""Inter-annotator agreement against figures computed by hand."""
from __future__ import annotations

import json

import pytest

from model_core.annotate.agreement import NO_SOUNDING, agreement, assign, cohen_kappa, iou
from model_core.annotate.document import AnnotationDocument
from model_core.cli import main


def _b(coords, label=None, who=None):
    d = {"box": list(coords)}
    if label is not None:
        d["label"] = label
    if who is not None:
        d["annotator"] = who
    return d


# The example, segment by segment (A and B are the annotators):
#  v seg0: A sounding [0,0,.5,.5] dog; B sounding [0,0,.5,.25] dog. IoU = .125/.25 = 0.5.
#          Same object (IoU >= 0.5), both sounding -> agree. Labels dog/dog.
#  v seg1: A sounding [0,0,.5,.5] dog + silent [.5,.5,1,1]; B silent [0,0,.5,.5].
#          Sounding boxes 1 vs 0 -> box IoU 0/1 = 0. The shared object (IoU 1) is sounding
#          for A, silent for B -> disagree. Labels dog / (no sounding object).
#  v seg2: both mark "no sounding object": box IoU n/a, sounding n/a, no-sounding agree.
#  w seg0: A sounding [0,0,1,1] bell; B marks no sounding: box IoU 0, sounding n/a,
#          no-sounding disagree. Labels bell / (no sounding object).
#  w seg1: only A annotated -> not compared.
SET = {
    "format": "avsol-e", "version": 1, "classes": ["Dog", "Bell"],
    "videos": [
        {"video": "v.mp4", "category": "Dog", "segments": [
            {"start": 0, "end": 1, "event": True,
             "annotators": [[_b([0, 0, .5, .5], "dog")], [_b([0, 0, .5, .25], "dog")]],
             "annotator_names": ["A", "B"]},
            {"start": 1, "end": 2, "event": True,
             "sounding": [_b([0, 0, .5, .5], "dog", "A")],
             "silent": [_b([.5, .5, 1, 1], "man", "A"), _b([0, 0, .5, .5], "dog", "B")]},
            {"start": 2, "end": 3, "event": True, "sounding": [], "no_sounding": ["A", "B"]},
        ]},
        {"video": "w.mp4", "category": "Bell", "segments": [
            {"start": 0, "end": 1, "event": True, "sounding": [_b([0, 0, 1, 1], "bell", "A")],
             "no_sounding": ["B"]},
            {"start": 1, "end": 2, "event": True, "sounding": [_b([0, 0, 1, 1], "bell", "A")]},
        ]},
    ],
}


def test_iou_and_assignment_by_hand():
    assert iou([0, 0, .5, .5], [0, 0, .5, .25]) == pytest.approx(0.5)
    assert iou([0, 0, .5, .5], [.5, .5, 1, 1]) == 0.0
    # greedy would take 0.6 then 0 (total 0.6); the best assignment is 0.5 + 0.55 = 1.05
    assert assign([[0.6, 0.5], [0.55, 0.0]]) == [(0, 1), (1, 0)]
    assert assign([[0.1], [0.9], [0.3]]) == [(1, 0)]
    assert assign([]) == []


def test_kappa_by_hand():
    # p_o = 2/4; A: dog 2, none 1, bell 1; B: dog 1, none 3; p_e = (2*1 + 1*3)/16 = 5/16
    pairs = [("dog", "dog"), ("dog", "x"), ("x", "x"), ("bell", "x")]
    assert cohen_kappa(pairs) == pytest.approx((0.5 - 5 / 16) / (1 - 5 / 16))   # 3/11
    assert cohen_kappa([("a", "a"), ("a", "a")]) is None                       # p_e = 1: undefined
    assert cohen_kappa([]) is None


def test_agreement_figures_by_hand():
    doc = AnnotationDocument.from_dict(json.loads(json.dumps(SET)))
    r = agreement(doc)
    assert r["annotators"] == ["A", "B"]
    o = r["overall"]
    assert o["segments"] == 4 and o["not_compared"] == 1
    assert o["box_iou"] == pytest.approx((0.5 + 0 + 0) / 3) and o["box_iou_segments"] == 3
    assert o["sounding_agree"] == pytest.approx(0.5) and o["sounding_segments"] == 2
    assert o["no_sounding_agree"] == pytest.approx(0.75)
    assert o["label_agree"] == pytest.approx(0.5)
    assert o["kappa"] == pytest.approx(3 / 11)
    dog = r["classes"]["Dog"]
    # labels (dog,dog), (dog,none), (none,none): p_o 2/3, p_e (2*1 + 1*2)/9 = 4/9 -> kappa 0.4
    assert dog["segments"] == 3 and dog["box_iou"] == pytest.approx(0.25)
    assert dog["sounding_agree"] == pytest.approx(0.5) and dog["no_sounding_agree"] == 1.0
    assert dog["kappa"] == pytest.approx(0.4)
    bell = r["classes"]["Bell"]
    assert bell["box_iou"] == 0.0 and bell["sounding_agree"] is None
    assert bell["no_sounding_agree"] == 0.0 and bell["kappa"] == pytest.approx(0.0)
    seg1 = r["segments"][1]
    assert (seg1["video"], seg1["segment"], seg1["box_iou"], seg1["sounding_agree"]) == ("v.mp4", 1, 0.0, False)
    assert seg1["labels"] == ["dog", NO_SOUNDING]


def test_agreement_cli(tmp_path, capsys):
    path = tmp_path / "set.json"
    path.write_text(json.dumps(SET))
    out = tmp_path / "agree.json"
    assert main(["agreement", str(path), "--annotators", "A", "B", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "A vs B: box IoU 0.167" in text and "kappa 0.273" in text and "Dog:" in text
    written = json.loads(out.read_text())
    assert written["overall"]["kappa"] == pytest.approx(3 / 11) and len(written["segments"]) == 4


def test_agreement_cli_bad_input_is_one_line(tmp_path, capsys):
    path = tmp_path / "set.json"
    path.write_text(json.dumps(SET))
    assert main(["agreement", str(path), "--annotators", "A", "Z"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'Z' is not in the set" in err and str(path) in err
    bad = dict(SET, videos=[{"video": "v.mp4", "category": "Dog", "segments": [{"start": 0, "end": 1}]}])
    path.write_text(json.dumps(bad))
    assert main(["agreement", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing field 'event'" in err and str(path) in err
