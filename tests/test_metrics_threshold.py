"""The three threshold rules of SPEC 5 (median, fixed:T on the raw map, top-|GT| pixels)
against maps computed by hand, their parsing, and rescoring a saved report under another
rule without a model (``avsol metrics --report``)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from model_core.cli import main
from model_core.formats import AvsolE, Box, Segment, VideoAnnotation, save_avsol_e
from model_core.metrics import localization as L
from model_core.metrics.items import decode_map, encode_map, score_items
from model_core.metrics.report import build_report, write_report
from model_core.metrics.rescore import rescore_report
from model_core.metrics.threshold import binarize_rule, canonical

# a 4 x 4 map whose pixel k (row-major) is k / 15 once normalised; raw values k / 100
RAW = (np.arange(16, dtype=np.float32) / 100).reshape(1, 4, 4)
NORM = (np.arange(16, dtype=np.float32) / 15).reshape(1, 4, 4)
GT = np.zeros((1, 4, 4), np.float32)
GT.flat[[11, 14, 15]] = 1          # |G| = 3


def pixels(mask):
    return sorted(np.flatnonzero(mask.ravel()).tolist())


def test_median_rule_by_hand():
    # sorted index 16 // 2 = 8 -> value 8/15; strictly above: pixels 9..15
    p = binarize_rule("median", NORM, RAW, GT)
    assert pixels(p) == list(range(9, 16))
    # cIoU = |P & G| / (|G| + |P outside G|) = 3 / (3 + 4)
    assert L.ciou(p, GT)[0] == pytest.approx(3 / 7)


def test_fixed_rule_is_on_the_raw_map():
    assert pixels(binarize_rule("fixed:0.5", NORM, RAW, GT)) == []           # raw max 0.15
    p = binarize_rule("fixed:0.1", NORM, RAW, GT)                            # k / 100 > 0.1
    assert pixels(p) == [11, 12, 13, 14, 15]
    assert L.ciou(p, GT)[0] == pytest.approx(3 / 5)
    assert L.ciou(binarize_rule("fixed:0.5", NORM, RAW, GT), GT)[0] == 0.0
    # a bare number keeps its old meaning: the normalised map
    assert pixels(binarize_rule(0.9, NORM, RAW, GT)) == [14, 15]


def test_top_gt_rule_takes_exactly_gt_size_pixels():
    p = binarize_rule("top-gt", NORM, RAW, GT)
    assert pixels(p) == [13, 14, 15]
    assert L.ciou(p, GT)[0] == pytest.approx(2 / (3 + 1))
    flat = np.zeros((1, 4, 4), np.float32)                                   # ties: row-major order
    assert pixels(binarize_rule("top-gt", flat, flat, GT)) == [0, 1, 2]


@pytest.mark.parametrize("text, rule", [(None, "median"), ("median", "median"), ("TOP-GT", "top-gt"),
                                        ("fixed:0.50", "fixed:0.5"), ("0.3", "norm:0.3"), (0.3, "norm:0.3")])
def test_rule_names(text, rule):
    assert canonical(text) == rule


@pytest.mark.parametrize("bad", ["fixed:1", "fixed:nan", "fixed:", "top", "norm:-0.1", "1.5"])
def test_bad_rules_are_refused(bad):
    with pytest.raises(ValueError):
        canonical(bad)


GRAD = np.tile(np.arange(224, dtype=np.float32) / 223, (224, 1)) * 0.5   # raw max 0.5, peak right
SEG = Segment(0, 1, 0.5, True, sounding=(Box(0.5, 0, 1, 1),))            # right half: columns 112..223


@pytest.mark.parametrize("rule, expected", [("median", 111 / 112), ("top-gt", 1.0), ("fixed:0.5", 0.0),
                                            ("fixed:0.25", 1.0), ("fixed:0.375", 0.5)])
def test_score_items_under_each_rule(rule, expected):
    # fixed:0.375 -> 0.5 * c / 223 > 0.375 -> columns 168..223, 56 of the box's 112
    item = score_items(GRAD[None], [SEG], videos=["v.mp4"], head="h", threshold=rule)[0]
    assert item.ciou == pytest.approx(expected)
    assert item.hit is True                     # the peak does not depend on the rule


def test_maps_ride_along_exactly():
    m = np.random.default_rng(0).random((7, 7)).astype(np.float32)
    assert np.array_equal(decode_map(encode_map(m)), m)
    with pytest.raises(ValueError):
        decode_map("7x7:@@@")


@pytest.fixture()
def saved_report(tmp_path):
    ann = tmp_path / "avsol-e.json"
    save_avsol_e(AvsolE(("bell",), (VideoAnnotation("v.mp4", "bell", (SEG, Segment(1, 2, 1.5, False))),)), ann)
    small = GRAD[::32, ::32].copy()             # 7 x 7: what a model's map looks like
    items = score_items(np.stack([small, small]), [SEG, Segment(1, 2, 1.5, False)], videos=["v.mp4"] * 2,
                        head="h", categories=["bell", "bell"], p_avc=[0.9, 0.7])
    report = build_report(items, ["h"], {"command": "metrics", "annotations": str(ann), "threshold": "median"})
    path = tmp_path / "r.json"
    write_report(path, report)
    return path, report, small


def test_rescore_without_the_model_matches_scoring_afresh(saved_report):
    path, report, small = saved_report
    new = rescore_report(report, "fixed:0.45")
    direct = score_items(small[None], [SEG], videos=["v.mp4"], head="h", threshold="fixed:0.45")[0]
    row = next(r for r in new["items"] if r["kind"] == "event")
    assert row["ciou"] == pytest.approx(direct.ciou) and row["ciou"] != report["items"][0]["ciou"]
    assert new["meta"]["threshold"] == "fixed:0.45" and new["meta"]["rescored_from"] == "median"
    bg = next(r for r in new["items"] if r["kind"] == "background")
    assert bg["p_avc"] == 0.7 and bg["failure"] == "false_alarm"          # rule-free numbers kept


def test_metrics_cli_rescores_a_report(saved_report, tmp_path, capsys):
    path, _, _ = saved_report
    out = tmp_path / "top.json"
    assert main(["metrics", "--report", str(path), "--threshold", "top-gt", "--out", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert rep["meta"]["threshold"] == "top-gt"
    assert "(median) ->" in capsys.readouterr().out
    assert main(["metrics", "--report", str(path), "--threshold", "fixed:2", "--out", str(out)]) == 2
    assert "--threshold" in capsys.readouterr().err


@pytest.mark.parametrize("text, rule", [("fixed:0.99999999", "fixed:0.99999999"), ("fixed:0.5", "fixed:0.5"),
                                        ("norm:0.123456789", "norm:0.123456789"), ("fixed:1e-9", "fixed:1e-09")])
def test_a_rule_reads_back_as_itself(text, rule):
    # %g used to round fixed:0.99999999 to fixed:1, which the next reading refused (a traceback)
    assert canonical(text) == rule and canonical(canonical(text)) == rule
    level = float(rule.split(":")[1])
    assert level == float(text.split(":")[1]) and level < 1


def test_a_level_that_is_1_as_a_float_is_refused_in_one_line():
    from model_core.metrics.threshold import parse_rule
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match=r"in \[0, 1\), got 0.99999999999999999"):
        parse_rule("fixed:0.99999999999999999")     # reads as 1.0


def test_scoring_under_a_level_just_below_1():
    item = score_items(GRAD[None] * 2, [SEG], videos=["v.mp4"], head="h", threshold="fixed:0.999")[0]
    # raw c / 223 > 0.999 only at c = 223: one column of 224 pixels, all in the box
    assert item.ciou == pytest.approx(224 / (112 * 224))
    # at float32 precision 0.99999999 is 1: no raw value of a sigmoid map is above it,
    # an empty prediction, scored (it used to raise)
    item = score_items(GRAD[None] * 2, [SEG], videos=["v.mp4"], head="h", threshold="fixed:0.99999999")[0]
    assert item.ciou == 0.0 and item.status == "scored"


def test_an_eval_that_fails_before_its_first_video_leaves_no_items_log(tmp_path):
    from model_core.evaluation.store import ItemsLog

    header = {"kind": "header", "fingerprint": {"x": 1}}
    log = tmp_path / "r.items.jsonl"
    with pytest.raises(RuntimeError):
        with ItemsLog(log, header, resume=False):
            raise RuntimeError("scoring failed")
    assert not log.exists()
    with pytest.raises(RuntimeError):
        with ItemsLog(log, header, resume=False) as lg:
            lg.append_video("a.mp4", [{"head": "h"}])
            raise RuntimeError("the second video failed")
    assert log.exists()                                   # the first video is kept for --resume
    with pytest.raises(RuntimeError):
        with ItemsLog(log, header, resume=True):
            raise RuntimeError("failed again at once")
    assert "a.mp4" in log.read_text()                     # a resumed log keeps what it held
