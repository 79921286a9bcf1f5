"""The published repositories' scoring conventions as ``--threshold`` rules (issue 27 item 4),
the maps' absolute scale by ``map_kind`` and a centre-cropped map placed back on the frame,
each computed by hand."""
from __future__ import annotations

import numpy as np
import pytest

from model_core.errors import InputError
from model_core.maps_file import load_maps, save_maps
from model_core.metrics.masks import absolute_maps, place_maps
from model_core.metrics.threshold import SWEEP_LEVELS, binarize_rule, canonical


def test_named_rules_read_back():
    for rule in ("adaptive", "slavc", "sweep", "median", "top-gt"):
        assert canonical(rule) == rule and canonical(rule.upper()) == rule
    with pytest.raises(ValueError, match="adaptive, slavc, sweep"):
        canonical("ciou_adap")
    assert SWEEP_LEVELS[0] == 0.05 and SWEEP_LEVELS[-1] == 0.95 and len(SWEEP_LEVELS) == 19


def test_adaptive_is_ssl_aligns_cIoU_adap_by_hand():
    # min-max of [[.1, .4], [.3, .9]] = [[0, .375], [.25, 1]]; sorted 0, .25, .375, 1
    norm = np.array([[[0.0, 0.375], [0.25, 1.0]]], np.float32)
    two = np.array([[[1, 1], [0, 0]]], np.float32)        # k = 2 GT pixels: index 4 - 2 -> .375
    assert binarize_rule("adaptive", norm, norm, two).tolist() == [[[False, False], [False, True]]]
    none = np.zeros((1, 2, 2), np.float32)                 # no GT: k = h*w // 2 = 2, the same
    assert binarize_rule("adaptive", norm, norm, none).tolist() == [[[False, False], [False, True]]]
    one = np.array([[[0, 0], [0, 0.5]]], np.float32)       # k = 1 (a consensus 0.5 counts): index 3 -> 1.0
    assert not binarize_rule("adaptive", norm, norm, one).any()
    four = np.ones((1, 2, 2), np.float32)                  # k = 4: index 0 -> 0, three pixels above it
    assert binarize_rule("adaptive", norm, norm, four).sum() == 3
    with pytest.raises(ValueError, match="GT"):
        binarize_rule("adaptive", norm, norm)


def test_median_is_the_repositories_median():
    rng = np.random.default_rng(0)
    norm = rng.random((3, 224, 224)).astype(np.float32)
    theirs = np.stack([m > np.sort(m.flatten())[224 * 224 // 2] for m in norm])   # LVS / EZ-VSL's code
    np.testing.assert_array_equal(binarize_rule("median", norm, norm), theirs)


def test_slavc_is_the_absolute_cosine_over_tau_at_one_half():
    tau = 0.03
    cos = np.array([[[0.0, 0.3], [-0.2, 0.01]]], np.float32)
    absolute = absolute_maps(cos / tau, "cosine_tau", tau)
    # (S + 1/tau) / (2/tau) = (cos + 1) / 2: 0.5, 0.65, 0.4, 0.505
    np.testing.assert_allclose(absolute, [[[0.5, 0.65], [0.4, 0.505]]], atol=1e-6)
    assert binarize_rule("slavc", absolute, absolute).tolist() == [[[False, True], [False, True]]]
    assert (binarize_rule("sweep", absolute, absolute) == binarize_rule("fixed:0.5", absolute, absolute)).all()


def test_absolute_scale_by_kind():
    m = np.array([[[-1.0, 0.0], [0.5, 1.0]]], np.float32)
    np.testing.assert_allclose(absolute_maps(m, "cosine"), [[[0.0, 0.5], [0.75, 1.0]]])
    np.testing.assert_allclose(absolute_maps(m, "gradcam"), [[[0.0, 0.5], [0.75, 1.0]]])
    raw = np.array([[[1.5, -0.2], [0.3, 0.1]]], np.float32)   # another tool's maps: as they are
    np.testing.assert_array_equal(absolute_maps(raw, "sigmoid"), raw)


def test_a_centre_cropped_map_is_placed_on_its_square_and_nothing_outside():
    ones = np.ones((1, 2, 2), np.float32)
    placed = place_maps(ones, (0.25, 0.0, 0.75, 1.0), size=8)
    expect = np.zeros((8, 8), np.float32)
    expect[:, 2:6] = 1.0
    np.testing.assert_array_equal(placed[0], expect)
    np.testing.assert_array_equal(place_maps(ones, None, size=8)[0], np.ones((8, 8), np.float32))


def test_maps_file_keeps_the_native_scale(tmp_path):
    p = tmp_path / "m.npz"
    maps = np.zeros((2, 7, 7), np.float32)
    save_maps(p, maps, ["a.mp4"] * 2, np.array([0.0, 1.0]), head="EZ-VSL", map_kind="cosine_tau", tau=0.03,
              family="ezvsl", crop=(0.1, 0.0, 0.9, 1.0))
    mf = load_maps(p)
    assert (mf.map_kind, mf.tau, mf.family, mf.crop) == ("cosine_tau", 0.03, "ezvsl", (0.1, 0.0, 0.9, 1.0))
    assert "map_kind" not in mf.extra
    save_maps(p, maps, ["a.mp4"] * 2, np.array([0.0, 1.0]))
    assert (load_maps(p).map_kind, load_maps(p).crop) == ("sigmoid", None)      # older files
    np.savez(p, maps=maps, videos=np.array(["a.mp4"] * 2), times=np.zeros(2), map_kind=np.array("cosine_tau"))
    with pytest.raises(InputError, match="needs 'tau'"):
        load_maps(p)
    np.savez(p, maps=maps, videos=np.array(["a.mp4"] * 2), times=np.zeros(2), map_kind=np.array("logits"))
    with pytest.raises(InputError, match="unknown map_kind 'logits'"):
        load_maps(p)


def test_rescoring_puts_a_centre_cropped_map_where_scoring_did():
    """A centre-cropping model's rows carry their crop, and rescoring (which has only the
    rows) places the map on that square again: the same cIoU as the first scoring, not
    the map stretched over the whole frame."""
    from model_core.formats.annotations import Box, Segment
    from model_core.metrics.items import ItemResult, decode_map, score_items
    from model_core.metrics.rescore import _crops

    rng = np.random.default_rng(3)
    maps = rng.random((3, 14, 14)).astype(np.float32)
    segs = [Segment(k, k + 1, k + 0.5, True, sounding=(Box(0.2, 0.2, 0.6, 0.7),)) for k in range(3)]
    crop = (0.125, 0.0, 0.875, 1.0)                       # 320 x 240: the centre 240 x 240 square
    first = score_items(maps, segs, videos=["v.mp4"] * 3, head="lvs", threshold="median", crop=crop)
    rows = [r.to_row() for r in first]
    assert all(r["crop"] == [0.125, 0.0, 0.875, 1.0] for r in rows)
    again = score_items(np.stack([decode_map(r["map"]) for r in rows]), segs, videos=["v.mp4"] * 3,
                        head="lvs", threshold="median", crop=_crops(rows))
    assert [a.ciou for a in again] == pytest.approx([f.ciou for f in first])
    whole = score_items(maps, segs, videos=["v.mp4"] * 3, head="lvs", threshold="median")
    assert [w.ciou for w in whole] != pytest.approx([f.ciou for f in first])   # the test can fail
    assert ItemResult.from_row(rows[0]).crop == [0.125, 0.0, 0.875, 1.0]
    assert whole[0].to_row()["crop"] is None and _crops([w.to_row() for w in whole]) is None
