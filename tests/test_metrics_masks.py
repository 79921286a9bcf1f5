"""Boxes -> 224 x 224 masks (LVS's pixel convention), consensus map, resizing, normalising.

Expected values are computed by hand in the comments next to each assertion.
"""
from __future__ import annotations

import numpy as np
import pytest

from model_core.formats import Box, Segment
from model_core.metrics.masks import (box_slices, consensus_map, gt_map, minmax_normalise,
                                      resize_maps, silent_mask, sounding_mask, union_mask)


def test_box_becomes_truncated_pixel_slice():
    # x: int(224*0.1)=int(22.4)=22 .. int(224*0.5)=112; y: int(44.8)=44 .. int(134.4)=134
    rows, cols = box_slices(Box(0.1, 0.2, 0.5, 0.6))
    assert (rows, cols) == (slice(44, 134), slice(22, 112))
    m = union_mask([Box(0.1, 0.2, 0.5, 0.6)])
    assert m.shape == (224, 224) and m.dtype == bool
    assert m.sum() == 90 * 90
    assert m[44, 22] and m[133, 111] and not m[134, 22] and not m[44, 112]


def test_box_coordinates_are_clipped_and_a_sub_pixel_box_covers_nothing():
    # (-0.5, 0.9, 1.5, 1.2) -> columns 0..224, rows int(201.6)=201..224 -> 224 x 23
    assert union_mask([(-0.5, 0.9, 1.5, 1.2)]).sum() == 224 * 23
    # x1 = 0.401 -> int(89.824) = 89, x2 = 0.4012 -> int(89.8688) = 89: empty slice
    assert union_mask([(0.401, 0.0, 0.4012, 1.0)]).sum() == 0


def test_union_of_overlapping_boxes_counts_pixels_once():
    # [0, 0.5] x [0, 0.5] -> 112 x 112; [0.25, 0.25, 0.75, 0.75] -> 56..168 both axes
    # union = 112^2 + 112^2 - overlap (56..112)^2 = 12544 + 12544 - 3136 = 21952
    m = union_mask([(0, 0, 0.5, 0.5), (0.25, 0.25, 0.75, 0.75)])
    assert m.sum() == 21952


def test_consensus_map_halves_votes_and_each_annotator_votes_once():
    # annotator A: columns 0..112 (two overlapping boxes, still one vote); B: columns 56..168
    # G = 0.5 on columns 0..56 and 112..168, 1 on 56..112, 0 elsewhere
    a = [(0.0, 0.0, 0.5, 1.0), (0.0, 0.0, 0.25, 1.0)]
    b = [(0.25, 0.0, 0.75, 1.0)]
    g = consensus_map([a, b])
    assert g.dtype == np.float32
    assert np.all(g[:, :56] == 0.5) and np.all(g[:, 56:112] == 1.0)
    assert np.all(g[:, 112:168] == 0.5) and np.all(g[:, 168:] == 0)
    assert g.sum() == 224 * (56 * 0.5 + 56 * 1 + 56 * 0.5)
    # three annotators agreeing still give 1, not 1.5
    assert consensus_map([b, b, b]).max() == 1.0


def test_gt_map_of_segment_forms():
    seg = Segment(0, 1, 0.5, True, sounding=(Box(0, 0, 0.5, 1),), silent=(Box(0.75, 0, 1, 1),))
    assert gt_map(seg).sum() == 112 * 224
    assert sounding_mask(seg).sum() == 112 * 224
    assert silent_mask(seg).sum() == 56 * 224   # int(168.0)=168 .. 224
    ann = Segment(0, 1, 0.5, True, annotators=((Box(0, 0, 0.5, 1),), (Box(0.25, 0, 0.75, 1),)))
    assert gt_map(ann).sum() == 224 * 112            # 0.5*56 + 56 + 0.5*56 = 112 per row
    assert sounding_mask(ann).sum() == 224 * 168     # union of every annotator's boxes
    bg = Segment(0, 1, 0.5, False)
    assert gt_map(bg).sum() == 0 and not silent_mask(bg).any()


def test_resize_by_hand_half_pixel_centres():
    # a 2-pixel row [0, 1] to 4 pixels: source x = (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25
    # clamped at the borders -> 0, 0.25, 0.75, 1
    out = resize_maps(np.array([[0.0, 1.0], [0.0, 1.0]], dtype=np.float32), size=4)
    np.testing.assert_allclose(out[0], [0, 0.25, 0.75, 1.0], atol=1e-6)
    assert out.shape == (4, 4) and out.dtype == np.float32


@pytest.mark.parametrize("side", [7, 14, 300])
def test_resize_matches_torch_bilinear_align_corners_false(side):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(side)
    maps = rng.random((3, side, side)).astype(np.float32)
    ours = resize_maps(maps)
    ref = torch.nn.functional.interpolate(torch.from_numpy(maps)[:, None], size=(224, 224),
                                          mode="bilinear", align_corners=False)[:, 0].numpy()
    # upsampling agrees to float32 rounding; downsampling to ~2e-5 (OpenCV computes its
    # source coordinates in float32)
    np.testing.assert_allclose(ours, ref, atol=2e-6 if side < 224 else 5e-5)


def test_minmax_normalise_and_degenerate_maps():
    out = minmax_normalise(np.array([[1, 3], [5, 9]], dtype=np.float32))
    np.testing.assert_allclose(out, [[0, 0.25], [0.5, 1]])       # (x - 1) / 8
    assert np.all(minmax_normalise(np.full((3, 3), 0.7)) == 0)     # constant: no contrast
    nan = np.ones((2, 2, 2), dtype=np.float32)
    nan[1, 0, 0] = np.nan
    nan[0, 0, 0] = 3
    out = minmax_normalise(nan)
    np.testing.assert_allclose(out[0], [[1, 0], [0, 0]])
    assert np.isnan(out[1]).all()                                   # NaN map stays NaN
