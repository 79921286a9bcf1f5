"""cIoU, median threshold, success rate, AUC, pointing, pixel AP / ROC-AUC (SPEC 5).

Most cases use the column gradient ``norm[r, c] = c / 223`` whose sorted pixels are each
column's value repeated 224 times: the median index 224*224/2 = 25088 = 224 * 112 is the
first pixel of column 112, so t = 112/223 and P = columns 113..223 (111 columns).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.metrics import average_precision_score, roc_auc_score

from model_core.metrics import localization as L
from model_core.metrics.masks import consensus_map, union_mask

GRAD = np.tile(np.arange(224, dtype=np.float32) / 223, (224, 1))[None]


def test_median_threshold_and_strict_binarisation():
    assert L.median_thresholds(GRAD)[0] == pytest.approx(112 / 223)
    p = L.binarize(GRAD)[0]
    assert p.sum() == 111 * 224 and p[:, 113:].all() and not p[:, :113].any()
    # fixed threshold 0.25: c / 223 > 0.25 <=> c >= 56 -> 168 columns
    assert L.binarize(GRAD, threshold=0.25)[0].sum() == 168 * 224
    # a constant map: nothing is strictly above its median
    assert not L.binarize(np.zeros((1, 224, 224))).any()


@pytest.mark.parametrize("box, expected", [
    ((0.5, 0, 1, 1), 111 / 112),          # G = cols 112..223: P inside, 111 of 112 columns
    ((0, 0, 0.5, 1), 0.0),                # G = cols 0..111: no overlap
    ((0.25, 0, 0.75, 1), 55 / (112 + 56)),  # overlap cols 113..167 = 55; P outside 168..223 = 56
])
def test_ciou_by_hand(box, expected):
    p = L.binarize(GRAD)
    g = union_mask([box])[None].astype(np.float32)
    assert L.ciou(p, g)[0] == pytest.approx(expected)


def test_ciou_with_consensus_map():
    # G: cols 0..55 -> .5, 56..111 -> 1, 112..167 -> .5; P = cols 113..223
    # sum(P G) = 224 * 55 * .5; sum(G) = 224 * 112; sum(P [G == 0]) = 224 * 56 (cols 168..223)
    g = consensus_map([[(0, 0, 0.5, 1)], [(0.25, 0, 0.75, 1)]])[None]
    assert L.ciou(L.binarize(GRAD), g)[0] == pytest.approx(27.5 / 168)


def test_ciou_fixed_threshold_and_empty_gt():
    g = union_mask([(0.5, 0, 1, 1)])[None].astype(np.float32)
    # P = cols 56..223 (168); G = 112..223: 112 / (112 + 56)
    assert L.ciou(L.binarize(GRAD, 0.25), g)[0] == pytest.approx(112 / 168)
    assert np.isnan(L.ciou(L.binarize(GRAD), np.zeros((1, 224, 224)))[0])   # undefined
    assert np.isnan(L.ciou(np.zeros((1, 224, 224), bool), np.zeros((1, 224, 224)))[0])


def test_success_rate_and_auc_by_hand():
    c = np.array([0.0, 0.25, 0.5, 1.0, np.nan])       # NaN: not scored, left out
    assert L.success_rate(c) == 0.5                    # 0.5 and 1.0 are >= 0.5
    # success curve at 0.05 i: i=0 -> 1; i=1..5 -> 3/4; i=6..10 -> 1/2; i=11..20 -> 1/4
    curve = L.success_curve(c)
    np.testing.assert_allclose(curve, [1] + [0.75] * 5 + [0.5] * 5 + [0.25] * 10)
    # trapezoid: 0.05 * (sum(curve) - (first + last) / 2) = 0.05 * (9.75 - 0.625)
    assert L.auc(c) == pytest.approx(0.05 * 9.125, abs=1e-12)
    assert L.auc(np.ones(3)) == pytest.approx(1.0) and L.auc(np.zeros(3)) == pytest.approx(0.05 / 2)
    assert np.isnan(L.success_rate([])) and np.isnan(L.auc([]))


def test_pointing_game_and_peak_of_degenerate_maps():
    m = np.zeros((3, 224, 224), dtype=np.float32)
    m[0, 10, 200] = 1.0             # box (0.85, 0, 1, 0.1) -> cols 190..223, rows 0..21
    m[1, 100, 100] = 1.0
    m[2] += 0.3                     # constant: no peak
    pk = L.peaks(m)
    assert list(pk) == [10 * 224 + 200, 100 * 224 + 100, -1]
    box = union_mask([(0.85, 0, 1, 0.1)])
    assert list(L.peak_inside(pk, np.stack([box] * 3))) == [True, False, False]
    nan = np.ones((1, 4, 4))
    nan[0, 1, 1] = np.nan
    assert L.peaks(nan)[0] == -1


def test_pixel_ap_roc_auc_by_hand():
    # scores .9 .8 .8 .1, labels 1 0 1 0. Thresholds .9: P=1/1, R=.5; .8 (tied group): P=2/3, R=1
    # AP = .5 * 1 + .5 * 2/3. ROC-AUC: (2 + (.5 + 1)) / (2 * 2) = 0.875 (a tie counts half)
    ap, roc = L.pixel_ap_roc_auc_one(np.array([0.9, 0.8, 0.8, 0.1]), np.array([1, 0, 1, 0], bool))
    assert ap == pytest.approx(0.5 + 1 / 3) and roc == pytest.approx(0.875)
    # degenerate: no positive -> both NaN; all positive -> AP 1, ROC-AUC NaN; constant -> AP = share
    assert np.isnan(L.pixel_ap_roc_auc_one(np.arange(4.0), np.zeros(4, bool))).all()
    ap, roc = L.pixel_ap_roc_auc_one(np.arange(4.0), np.ones(4, bool))
    assert ap == 1.0 and np.isnan(roc)
    ap, roc = L.pixel_ap_roc_auc_one(np.zeros(4), np.array([1, 0, 0, 0], bool))
    assert ap == 0.25 and roc == 0.5
    ap, roc = L.pixel_ap_roc_auc_one(np.array([0.0, -0.0, 1.0]), np.array([1, 0, 1], bool))
    assert roc == pytest.approx(0.75)      # -0.0 ties with 0.0, as in scikit-learn


@settings(max_examples=150, deadline=None)
@given(hnp.arrays(np.float32, st.integers(2, 80),
                  elements=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0, -2.0, 3.5e-8, 7.0])),
       st.data())
def test_pixel_ap_roc_auc_match_scikit_learn(scores, data):
    labels = data.draw(hnp.arrays(bool, scores.shape))
    ap, roc = L.pixel_ap_roc_auc_one(scores, labels)
    if labels.any():
        assert ap == pytest.approx(average_precision_score(labels, scores), abs=1e-12)
    else:
        assert np.isnan(ap)
    if labels.any() and not labels.all():
        assert roc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    else:
        assert np.isnan(roc)


def test_pixel_ap_roc_auc_on_real_sized_maps_match_scikit_learn():
    from model_core.metrics.masks import resize_maps

    rng = np.random.default_rng(3)
    maps = resize_maps(rng.random((3, 7, 7)).astype(np.float32))
    masks = np.stack([union_mask([(0.1, 0.2, 0.5, 0.6)]), union_mask([(0, 0, 1, 0.9)]),
                      union_mask([(0.4, 0.4, 0.45, 0.45)])])
    ap, roc = L.pixel_ap_roc_auc(maps, masks)
    for i in range(3):
        assert ap[i] == pytest.approx(average_precision_score(masks[i].ravel(), maps[i].ravel()), abs=1e-10)
        assert roc[i] == pytest.approx(roc_auc_score(masks[i].ravel(), maps[i].ravel()), abs=1e-10)


def test_mean_inside():
    m = np.arange(8, dtype=np.float64).reshape(2, 2, 2)
    k = np.array([[[1, 1], [0, 0]], [[0, 0], [0, 0]]], bool)
    out = L.mean_inside(m, k)
    assert out[0] == 0.5 and np.isnan(out[1])
