"""Scoring items, the failure taxonomy and the report (SPEC 5, 9), against hand computations.

Maps are given at 224 x 224 so that resizing is the identity; ``GRAD`` is the column
gradient c / 223 (peak at row 0, column 223; P = columns 113..223, see
test_metrics_localization).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from model_core.formats import Box, Segment
from model_core.metrics import FAILED, MISSING, SCORED, ItemResult, score_items, unscored_items
from model_core.metrics.items import size_bucket
from model_core.metrics.report import (build_report, comparability_problems, items_csv,
                                       sort_worst_first, write_report)
from model_core.metrics.taxonomy import LABELS, failure_label

GRAD = np.tile(np.arange(224, dtype=np.float32) / 223, (224, 1))
RIGHT = Box(0.5, 0, 1, 1)          # columns 112..223
LEFT_QUARTER = Box(0, 0, 0.25, 1)   # columns 0..55
CORNER = Box(0.9, 0, 1, 0.1)        # columns 201..223, rows 0..21: 23 x 22 = 506 px


def score(maps, segs, **kw):
    kw.setdefault("videos", [f"v{i}.mp4" for i in range(len(segs))])
    kw.setdefault("categories", ["bell"] * len(segs))
    return score_items(np.asarray(maps, dtype=np.float32), segs, head="dnm", **kw)


def test_size_buckets():
    assert [size_bucket(a) for a in (0.01, 0.05, 0.19, 0.2, 0.49, 0.5, 1.0)] == \
        ["small", "medium", "medium", "large", "large", "huge", "huge"]
    assert size_bucket(0.0) is None and size_bucket(None) is None


def test_taxonomy_rules():
    assert failure_label(True, 0.5, False, True, None) == "ok"            # cIoU decides first
    assert failure_label(True, 0.2, True, False, None) == "diffuse"
    assert failure_label(True, 0.2, False, True, None) == "wrong_object"
    assert failure_label(True, 0.2, False, False, None) == "miss"
    assert failure_label(True, 0.2, False, None, None) == "miss"          # no silent boxes
    assert failure_label(False, None, None, None, 0.51) == "false_alarm"
    assert failure_label(False, None, None, None, 0.5) == "ok"            # > 0.5, not >=
    assert failure_label(False, None, None, None, None) is None
    assert failure_label(True, None, None, None, 0.9) is None             # no GT
    assert failure_label(True, float("nan"), True, None, 0.9) is None


def test_ok_item_by_hand():
    seg = Segment(2, 3, 2.5, True, sounding=(RIGHT,), silent=(LEFT_QUARTER,))
    (r,) = score([GRAD], [seg], p_avc=[0.8])
    assert r.status == SCORED and r.time == 2.5 and (r.start, r.end) == (2, 3)
    assert r.ciou == pytest.approx(111 / 112)
    assert r.hit is True and r.failure == "ok"
    assert r.area == 0.5 and r.size == "huge"
    assert r.pixel_ap == 1.0 and r.pixel_roc_auc == 1.0     # every positive scores above every negative
    assert r.map_sounding == pytest.approx((112 + 223) / 2 / 223)   # mean of c/223, c = 112..223
    assert r.map_silent == pytest.approx(27.5 / 223)               # mean of c/223, c = 0..55
    assert r.peak_silent is False and r.p_avc == pytest.approx(0.8)


def test_wrong_object_item_by_hand():
    seg = Segment(0, 1, 0.5, True, sounding=(RIGHT,), silent=(LEFT_QUARTER,))
    (r,) = score([1 - GRAD], [seg])          # peak at column 0, inside the silent box
    assert r.ciou == 0.0 and r.hit is False and r.peak_silent is True
    assert r.failure == "wrong_object"
    assert r.pixel_roc_auc == 0.0
    # positives (columns 112..223) rank after all negatives, one tied run per column c:
    # precision at the end of column c's run = (c - 111) / (c + 1)
    expected_ap = sum((c - 111) / (c + 1) for c in range(112, 224)) / 112
    assert r.pixel_ap == pytest.approx(expected_ap)


def test_diffuse_miss_and_small_item():
    diffuse, miss = score([GRAD, GRAD], [Segment(0, 1, 0.5, True, sounding=(CORNER,)),
                                         Segment(1, 2, 1.5, True, sounding=(LEFT_QUARTER,))])
    # P = 111 x 224 = 24864 px contains the 506 px of G: cIoU = 506 / (506 + 24864 - 506)
    assert diffuse.ciou == pytest.approx(506 / 24864)
    assert diffuse.hit is True and diffuse.failure == "diffuse"
    assert diffuse.area == pytest.approx(506 / 224 ** 2) and diffuse.size == "small"
    assert diffuse.peak_silent is None and diffuse.map_silent is None
    assert miss.ciou == 0.0 and miss.hit is False and miss.failure == "miss"


def test_degenerate_maps_and_gt():
    segs = [Segment(0, 1, 0.5, True, sounding=(RIGHT,)),          # constant map
            Segment(1, 2, 1.5, True, sounding=(RIGHT,)),          # NaN map
            Segment(2, 3, 2.5, True),                             # event without boxes
            Segment(3, 4, 3.5, True, sounding=(Box(0.401, 0, 0.4012, 1),)),  # sub-pixel box
            Segment(4, 5, 4.5, False),                            # background, p_avc 0.7
            Segment(5, 6, 5.5, False)]                            # background, p_avc 0.2
    maps = np.stack([np.full((7, 7), 0.4), np.full((7, 7), np.nan)] + [np.random.rand(7, 7)] * 4)
    r = score(maps, segs, p_avc=[0.9, 0.9, 0.9, 0.9, 0.7, 0.2])
    const, nan, no_gt, sub_pixel, fa, bg_ok = r
    # constant: normalises to zeros, nothing above the median -> cIoU 0; no peak -> miss;
    # pixel AP = share of positives (one threshold), ROC-AUC 0.5
    assert const.status == SCORED and const.ciou == 0.0 and const.hit is False
    assert const.failure == "miss" and const.pixel_ap == pytest.approx(0.5) and const.pixel_roc_auc == 0.5
    assert nan.status == FAILED and "NaN" in nan.error and nan.ciou is None and nan.size == "huge"
    for item in (no_gt, sub_pixel):
        assert item.status == SCORED and item.ciou is None and item.failure is None
        assert item.area == 0.0 and item.size is None and item.p_avc == pytest.approx(0.9)
    assert fa.failure == "false_alarm" and fa.ciou is None and fa.area is None
    assert bg_ok.failure == "ok"


def test_classification_and_row_round_trip():
    seg = Segment(0, 1, 0.5, True, sounding=(RIGHT,))
    probs = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    r = score([GRAD] * 3, [seg, seg, Segment(1, 2, 1.5, False)], class_probs=probs,
              classes=["drum", "bell"], p_avc=[0.1, 0.2, np.nan])
    assert (r[0].pred_class, r[0].class_correct) == ("bell", True)
    assert (r[1].pred_class, r[1].class_correct) == ("drum", False)
    assert r[2].pred_class is None and r[2].p_avc is None and r[2].failure is None
    row = r[0].to_row()
    assert row["class"] == "bell" and "category" not in row
    assert {"video", "time", "head", "ciou", "hit", "failure", "p_avc", "class", "size"} <= set(row)
    assert ItemResult.from_row(json.loads(json.dumps(row))) == r[0]


def test_unscored_items_keep_gt_facts():
    (m,) = unscored_items([Segment(0, 1, 0.5, True, sounding=(RIGHT,))], videos=["a.mp4"],
                          head="dnm", status=MISSING, error="no map", categories=["bell"])
    assert m.status == MISSING and m.size == "huge" and m.category == "bell" and m.ciou is None


def _item(video, ciou=None, event=True, p_avc=None, status=SCORED, head="dnm", cat="bell",
          size="large", hit=None, failure=None, time=0.5, **kw):
    return ItemResult(video=video, time=time, head=head, start=0, end=1, status=status,
                      event=event, category=cat, size=size if event else None, ciou=ciou,
                      hit=hit, p_avc=p_avc, failure=failure, **kw)


def test_report_aggregates_by_hand(tmp_path):
    items = [
        _item("a", 0.0, hit=False, failure="miss", pixel_ap=0.2, size="small"),
        _item("b", 0.25, hit=True, failure="diffuse", pixel_ap=0.4, cat="drum", class_correct=True),
        _item("c", 0.5, hit=True, failure="ok", pixel_ap=None, peak_silent=False,
              map_silent=0.1, map_sounding=0.9),
        _item("d", 1.0, hit=True, failure="ok", pixel_ap=0.8, peak_silent=True,
              map_silent=0.7, map_sounding=0.5, class_correct=False),
        _item("e", event=False, p_avc=0.9, failure="false_alarm"),
        _item("f", event=False, p_avc=0.1, failure="ok"),
        _item("g", ciou=None, event=True, p_avc=0.3, size=None),              # no GT
        _item("h", status=MISSING, size="huge"),
        _item("i", status=FAILED, cat="drum", size=None),
    ]
    rep = build_report(items, ["dnm", "other"], {"annotations": "x.json"}, ["a note"])
    h = rep["heads"]["dnm"]
    assert h["ciou@0.5"] == 0.5 and h["mean_ciou"] == pytest.approx(1.75 / 4)
    assert h["auc"] == pytest.approx(0.45625)                 # see test_success_rate_and_auc_by_hand
    assert h["pointing"] == 0.75
    assert h["pixel_ap"] == pytest.approx((0.2 + 0.4 + 0.8) / 3)   # mean over defined values
    assert (h["n_total"], h["n_items"], h["n_localized"], h["n_no_gt"], h["n_background"],
            h["n_missing"], h["n_failed"]) == (9, 7, 4, 1, 2, 1, 1)
    assert h["failures"] == {"ok": 3, "wrong_object": 0, "miss": 1, "diffuse": 1, "false_alarm": 1}
    assert list(h["failures"]) == list(LABELS)
    assert h["background"] == {"n_items": 2, "false_alarm_rate": 0.5, "mean_p_avc": pytest.approx(0.5)}
    assert h["silent"] == {"n_items": 2, "confusion_rate": 0.5, "mean_map_silent": pytest.approx(0.4),
                           "mean_map_sounding": pytest.approx(0.7)}
    assert h["classification"] == {"n_items": 2, "accuracy": 0.5}
    assert h["per_class"]["drum"]["n_localized"] == 1 and h["per_class"]["drum"]["n_failed"] == 1
    assert h["per_class"]["bell"]["ciou@0.5"] == pytest.approx(2 / 3)
    assert h["per_class"]["bell"]["false_alarm_rate"] == 0.5
    assert h["per_size"]["small"]["n_localized"] == 1 and h["per_size"]["small"]["ciou@0.5"] == 0
    assert h["per_size"]["large"]["ciou@0.5"] == pytest.approx(2 / 3)
    assert h["per_size"]["huge"]["n_missing"] == 1 and h["per_size"]["huge"]["ciou@0.5"] is None
    assert rep["heads"]["other"]["n_total"] == 0 and rep["heads"]["other"]["ciou@0.5"] is None
    # worst first: failed, missing, then goodness (cIoU; 1 - p_avc for background), no-GT last
    assert [r["video"] for r in rep["items"]] == ["i", "h", "a", "e", "b", "c", "f", "d", "g"]
    json.dumps(rep, allow_nan=False)              # strict JSON: no NaN anywhere
    write_report(tmp_path / "r.json", rep, tmp_path / "r.csv")
    assert json.loads((tmp_path / "r.json").read_text())["heads"]["dnm"]["n_items"] == 7
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert lines[0].startswith("video,time,head,") and len(lines) == 10
    assert lines[1].startswith("i,0.5,dnm,")
    assert items_csv([]).count("\n") == 1


def test_comparability_problems():
    a = build_report([_item("a", 0.5)], ["dnm"])
    b = build_report([_item("a", 0.5), _item("b", status=MISSING)], ["dnm"])
    assert comparability_problems(a, a) == []
    assert "dnm: n_total 1 vs 2" in comparability_problems(a, b)


def test_sort_is_deterministic_across_heads():
    items = [_item("b", 0.3, head="z"), _item("a", 0.3, head="a"), _item("a", 0.3, head="z", time=0.2)]
    assert [(i.head, i.video, i.time) for i in sort_worst_first(items)] == \
        [("a", "a", 0.5), ("z", "a", 0.2), ("z", "b", 0.5)]
