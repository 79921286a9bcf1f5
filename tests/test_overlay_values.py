"""What the overlay draws of a map holding NaN (a published model's degenerate map): 0
where the upsampled map is not finite, no peak, and a finite map drawn unchanged."""
from __future__ import annotations

import numpy as np

from avsol_viewer.core.map_display import prepare
from model_core.metrics.masks import resize_maps


def test_non_finite_values_draw_as_zero_and_finite_maps_as_upsampled():
    raw = np.full((4, 4), 0.25, np.float32)
    raw[0, 0] = np.nan
    dm = prepare(raw, "absolute", size=8)
    assert np.isfinite(dm.values).all() and dm.values.dtype == np.float32
    big = resize_maps(raw[None], 8)[0]
    assert (dm.values[~np.isfinite(big)] == 0).all() and np.isnan(big[0, 0])
    assert dm.peak is None                      # a map holding NaN has no peak (metrics' peaks)
    assert (dm.values[np.isfinite(big)] == 0.25).all()

    ok = np.arange(16, dtype=np.float32).reshape(4, 4) / 15
    dm = prepare(ok, "absolute", size=8)
    np.testing.assert_array_equal(dm.values, np.clip(resize_maps(ok[None], 8)[0], 0, 1))
    assert dm.values.flags.c_contiguous and dm.peak is not None
