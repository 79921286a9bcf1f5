"""Maps file (SPEC 9): round trip, and every bad file refused with an InputError naming it."""
from __future__ import annotations

import numpy as np
import pytest

from model_core.errors import InputError
from model_core.maps_file import load_maps, save_maps


def _sample(n=5, h=7, w=7):
    rng = np.random.default_rng(0)
    maps = rng.random((n, h, w), dtype=np.float32)
    videos = [f"v{i // 2}.mp4" for i in range(n)]
    times = np.arange(n, dtype=np.float64) / 25.0
    return maps, videos, times


def test_round_trip(tmp_path):
    maps, videos, times = _sample()
    p_avc = np.linspace(0, 1, 5, dtype=np.float32)
    path = tmp_path / "m.npz"
    save_maps(path, maps, videos, times, head="dnm", extra={"p_avc": p_avc})
    mf = load_maps(path)
    assert mf.maps.dtype == np.float32 and np.array_equal(mf.maps, maps)
    assert mf.videos.dtype.kind == "U" and list(mf.videos) == videos
    assert mf.times.dtype == np.float64 and np.array_equal(mf.times, times)
    assert mf.head == "dnm" and len(mf) == 5
    assert set(mf.extra) == {"p_avc"} and np.array_equal(mf.extra["p_avc"], p_avc)
    # the file is a plain npz any numpy reads without pickles, with the SPEC 9 keys
    with np.load(path, allow_pickle=False) as npz:
        assert set(npz.files) == {"maps", "videos", "times", "head", "p_avc"}
        assert str(npz["head"]) == "dnm"


def test_no_head_float64_input_and_name_without_extension(tmp_path):
    maps, videos, times = _sample(3, 14, 14)
    path = tmp_path / "maps"  # no .npz: written exactly where asked
    save_maps(path, maps.astype(np.float64), videos, times)
    assert path.exists() and not (tmp_path / "maps.npz").exists()
    mf = load_maps(path)
    assert mf.head is None and mf.extra == {} and mf.maps.dtype == np.float32
    assert mf.maps.shape == (3, 14, 14)


def test_empty_file_of_maps(tmp_path):
    save_maps(tmp_path / "e.npz", np.zeros((0, 7, 7), np.float32), [], np.zeros(0))
    mf = load_maps(tmp_path / "e.npz")
    assert mf.maps.shape == (0, 7, 7) and len(mf.videos) == 0


@pytest.mark.parametrize("bad", [
    dict(maps=np.zeros((5, 7), np.float32)),                     # 2-D
    dict(videos=["a.mp4"] * 4),                                  # one name short
    dict(times=np.zeros(6)),                                     # one time too many
    dict(maps=np.full((5, 7, 7), np.nan, np.float32)),          # NaN
    dict(maps=np.zeros((5, 7, 7), np.int64)),                    # not floats
])
def test_save_refuses_wrong_shapes(tmp_path, bad):
    maps, videos, times = _sample()
    args = dict(maps=maps, videos=videos, times=times) | bad
    with pytest.raises(ValueError):
        save_maps(tmp_path / "x.npz", **args)
    assert not (tmp_path / "x.npz").exists()


def test_save_refuses_bad_extra(tmp_path):
    maps, videos, times = _sample()
    for extra in ({"maps": maps}, {"not a name": np.zeros(5)}, {"o": np.array([{}], dtype=object)}):
        with pytest.raises(ValueError):
            save_maps(tmp_path / "x.npz", maps, videos, times, extra=extra)


def test_pickled_npz_refused(tmp_path):
    maps, _, times = _sample()
    path = tmp_path / "pickled.npz"
    np.savez(path, maps=maps, videos=np.array([f"v{i}" for i in range(5)], dtype=object), times=times)
    with pytest.raises(InputError, match="pickled") as err:
        load_maps(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("arrays, message", [
    (dict(maps=np.zeros((5, 7), np.float32)), "N x h x w"),
    (dict(videos=np.array(["a"] * 3)), "one name per map"),
    (dict(times=np.zeros((5, 2))), "one time per map"),
    (dict(videos=np.arange(5)), "strings"),
    (dict(times=np.array(["x"] * 5)), "numbers"),
    (dict(head=np.array([1, 2])), "head"),
])
def test_load_refuses_wrong_shapes(tmp_path, arrays, message):
    maps, videos, times = _sample()
    content = dict(maps=maps, videos=np.array(videos), times=times) | arrays
    path = tmp_path / "bad.npz"
    np.savez(path, **content)
    with pytest.raises(InputError, match=message) as err:
        load_maps(path)
    assert str(path) in str(err.value)


def test_load_refuses_missing_keys_and_non_npz(tmp_path):
    maps, videos, times = _sample()
    np.savez(tmp_path / "k.npz", maps=maps, times=times)
    with pytest.raises(InputError, match="missing 'videos'"):
        load_maps(tmp_path / "k.npz")
    (tmp_path / "t.npz").write_text("not a zip")
    with pytest.raises(InputError, match="not an .npz") as err:   # not "pickled data"
        load_maps(tmp_path / "t.npz")
    assert "pickle" not in str(err.value)
    np.save(tmp_path / "one.npy", maps)
    with pytest.raises(InputError, match="single .npy"):
        load_maps(tmp_path / "one.npy")
    with pytest.raises(InputError, match="not found"):
        load_maps(tmp_path / "nope.npz")
    # truncated archive
    save_maps(tmp_path / "full.npz", maps, videos, times)
    data = (tmp_path / "full.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError):
        load_maps(tmp_path / "cut.npz")
