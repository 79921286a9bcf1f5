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


# -- bounded reading: shapes are checked from the members' headers before allocating ------

def _crafted(path, members: dict) -> None:
    """An .npz whose members are ``{name: (shape, dtype)}`` headers followed by only a few
    bytes of data: what numpy would allocate is the header's claim, whatever follows."""
    import io
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, (shape, dtype) in members.items():
            buf = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                buf, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
                      "shape": shape})
            zf.writestr(f"{name}.npy", buf.getvalue() + b"\0" * 64)


def _peak_of(fn) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_file_claiming_gigabytes_is_refused_before_allocating(tmp_path):
    # the case: a few-kB file whose maps claim 300 000 x 64 x 64 float32 = 4.9 GB
    path = tmp_path / "bomb.npz"
    _crafted(path, {"maps": ((300_000, 64, 64), np.float32), "videos": ((300_000,), "<U8"),
                    "times": ((300_000,), np.float64)})
    assert path.stat().st_size < 5000

    def load():
        with pytest.raises(InputError, match=r"unpack to|crafted") as err:
            load_maps(path)
        assert str(path) in str(err.value) and "\n" not in str(err.value)

    assert _peak_of(load) < 20 << 20     # refused from the headers: no 4.9 GB (nor 1 GB) array


def test_a_highly_compressed_file_is_refused_as_crafted(tmp_path):
    # 80 000 x 56 x 56 float32 = 1.0 GB claimed by a few kB: under MAX_BYTES, over the ratio
    path = tmp_path / "zeros.npz"
    _crafted(path, {"maps": ((80_000, 56, 56), np.float32), "videos": ((80_000,), "<U8"),
                    "times": ((80_000,), np.float64)})
    with pytest.raises(InputError, match="crafted"):
        load_maps(path)


@pytest.mark.parametrize("members, words", [
    ({"maps": ((2, 8192, 8), np.float32)}, "8192 x 8 pixels"),              # absurd side
    ({"videos": ((5,), "<U100000")}, "not file names"),                      # absurd names
    ({"maps": ((5, 7, 7), np.float32), "times": ((50_000_000,), np.float64)}, "one time per map"),
])
def test_absurd_headers_are_named(tmp_path, members, words):
    base = {"maps": ((5, 7, 7), np.float32), "videos": ((5,), "<U8"), "times": ((5,), np.float64)}
    path = tmp_path / "odd.npz"
    _crafted(path, base | members)
    with pytest.raises(InputError, match=words):
        load_maps(path)


def test_bounds_of_one_video(tmp_path):
    from model_core.maps_file import MapsBounds

    maps, _, times = _sample(5, 8, 8)
    path = tmp_path / "rec.avc.maps.npz"
    save_maps(path, maps, ["rec.mp4"] * 5, times)
    ok = MapsBounds(max_maps=5, map_shape=(8, 8), video="rec.mp4", duration=0.2)
    assert len(load_maps(path, ok)) == 5
    for bounds, words in [
        (MapsBounds(max_maps=4), "5 maps for a video of 4 frames"),
        (MapsBounds(map_shape=(7, 7)), "8 x 8 pixels, but the model makes 7 x 7"),
        (MapsBounds(video="other.mp4"), "maps of 'rec.mp4', not of 'other.mp4'"),
        (MapsBounds(duration=0.1 - 0.5 - 1e-3), "past the end of the video"),
    ]:
        with pytest.raises(InputError, match=words):
            load_maps(path, bounds)


class _Emitter:
    def __init__(self):
        self.said: list[str] = []

    def emit(self, text):
        self.said.append(text)


def _viewer_state(tmp_path, map_size=8, frames=5):
    """What ``fill_recorded_maps`` reads of the viewer's controller: the open video's
    session, the loaded models and the map cache (the real ones, without Qt)."""
    from types import SimpleNamespace

    from avsol_viewer.core.session import Timeline
    from model_core.inference.map_cache import MapCache

    video = tmp_path / "rec.mp4"
    video.write_bytes(b"x")
    session = SimpleNamespace(path=video, key="vkey", name=video.name,
                              timeline=Timeline(fps=25.0, frame_count=frames, duration=frames / 25.0))
    model = SimpleNamespace(name="avc", key="mkey", classes=("a",), map_size=map_size)
    return SimpleNamespace(session=session, maps=SimpleNamespace(models=[model], cache=MapCache()),
                           message=_Emitter())


@pytest.mark.parametrize("write, words", [
    (lambda p: save_maps(p, np.zeros((5, 7, 7), np.float32), ["rec.mp4"] * 5, np.arange(5) / 25.0),
     "the model makes 8 x 8"),
    (lambda p: save_maps(p, np.zeros((5, 8, 8), np.float32), ["other.mp4"] * 5, np.arange(5) / 25.0),
     "not of 'rec.mp4'"),
    (lambda p: save_maps(p, np.zeros((9, 8, 8), np.float32), ["rec.mp4"] * 9, np.arange(9) / 25.0),
     "9 maps for a video of 5 frames"),
])
def test_the_viewer_refuses_recorded_maps_of_another_shape_or_video(tmp_path, write, words):
    from avsol_viewer.live.recorded_maps import fill_recorded_maps
    from model_core.inference.live_record import maps_path

    c = _viewer_state(tmp_path)
    write(maps_path(c.session.path, "avc"))
    assert fill_recorded_maps(c) == 0
    assert len(c.message.said) == 1 and words in c.message.said[0] and "rec.avc.maps.npz" in c.message.said[0]


def test_the_viewer_takes_recorded_maps_that_fit(tmp_path):
    from avsol_viewer.live.recorded_maps import fill_recorded_maps
    from model_core.inference.live_record import maps_path

    c = _viewer_state(tmp_path)
    save_maps(maps_path(c.session.path, "avc"), np.ones((5, 8, 8), np.float32), ["rec.mp4"] * 5,
              np.arange(5) / 25.0)
    assert fill_recorded_maps(c) == 5


def test_metrics_refuses_a_crafted_maps_file_with_one_line(tmp_path, capsys):
    """``avsol metrics --maps`` on the issue's kind of file: exit 2, one line, no gigabytes."""
    from model_core.cli import main
    from model_core.formats import AvsolE, Box, Segment, VideoAnnotation, save_avsol_e

    bomb = tmp_path / "maps.npz"
    _crafted(bomb, {"maps": ((300_000, 64, 64), np.float32), "videos": ((300_000,), "<U8"),
                    "times": ((300_000,), np.float64)})
    seg = (Segment(0, 1, 0.5, True, sounding=(Box(0.2, 0.2, 0.8, 0.8),)),)
    save_avsol_e(AvsolE(("a",), (VideoAnnotation("v.mp4", "a", seg),)), tmp_path / "avsol-e.json")
    codes = []
    peak = _peak_of(lambda: codes.append(main(["metrics", "--maps", str(bomb), "--annotations",
                                                str(tmp_path / "avsol-e.json"), "--out", str(tmp_path / "r.json")])))
    err = capsys.readouterr().err
    assert codes == [2] and "crafted" in err and str(bomb) in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "r.json").exists()
    assert peak < 50 << 20
