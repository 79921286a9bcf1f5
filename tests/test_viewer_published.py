"""The viewer runs any model: the field's published
checkpoints (random weights, each repository's exact layout: tests/published_support.py)
load beside our demo head on the demo clip, each shown with its family in its title, no
made-up p(av), its native map normalised by its kind and, for a centre-cropping family, on
its crop of the frame only; live mode feeds each model a window of its own length; a
damaged, hostile or unmatched file is one message and the loaded heads stay as they were.

The display rules are checked by hand first (no Qt, no torch), then end to end offscreen."""
from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "demo" / "demo.mp4"          # 320 x 240, 25 fps, 10 s
DNM = REPO / "resources" / "models" / "dnm.pt"
#: what each family's title says (``Family.title``) and whether it centre-crops
TITLES = {"ezvsl": "EZ-VSL", "fnac": "FNAC", "slavc": "SLAVC", "lvs": "LVS", "sslalign": "SSL-align",
          "ssltie": "SSL-TIE", "rcgrad": "RCGrad"}


# -- the display rules, by hand -------------------------------------------------------------
def test_native_maps_are_normalised_by_their_kind_before_the_scale():
    from avsol_viewer.core.map_display import prepare, value_at

    cos = np.array([[-1.0, 0.0], [0.5, 1.0]], np.float32)
    dm = prepare(cos, "absolute", size=2, map_kind="cosine")
    np.testing.assert_allclose(dm.values, [[0.0, 0.5], [0.75, 1.0]], atol=1e-6)   # (S + 1) / 2
    assert (dm.raw_min, dm.raw_max) == (-1.0, 1.0)                                 # the native range is kept
    tau = 0.03
    ctau = np.array([[-1 / tau, 0.0], [0.5 / tau, 1 / tau]], np.float32)         # cosine / tau
    dm = prepare(ctau, "absolute", size=2, map_kind="cosine_tau", tau=tau)
    np.testing.assert_allclose(dm.values, [[0.0, 0.5], [0.75, 1.0]], atol=1e-5)   # SLAVC's (S + 1/tau) / (2/tau)
    cam = np.array([[2.0, 4.0], [6.0, 10.0]], np.float32)                          # Grad-CAM: min-max
    dm = prepare(cam, "absolute", size=2, map_kind="gradcam")
    np.testing.assert_allclose(dm.values, [[0.0, 0.25], [0.5, 1.0]], atol=1e-6)
    assert value_at(dm, 0.75, 0.75) == pytest.approx((1.0, 1.0))
    # our heads' sigmoid maps are drawn exactly as before
    sig = np.array([[0.1, 0.2], [0.3, 0.9]], np.float32)
    np.testing.assert_allclose(prepare(sig, "absolute", size=2).values, sig)


def test_a_centre_cropped_map_is_placed_on_its_crop_only():
    from avsol_viewer.core.map_display import crop_region, prepare, value_at

    # a 320 x 240 frame, the centre 240 x 240 square seen: x from 40 to 280
    region = crop_region((40.0, 0.0, 280.0, 240.0), 320, 240)
    assert region == pytest.approx((0.125, 0.0, 0.875, 1.0))
    m = np.zeros((4, 4), np.float32)
    m[0, 3] = 1.0                                    # hot in the crop's top-right cell
    dm = prepare(m, "absolute", size=4, map_kind="sigmoid", region=region)
    # the peak: centre of cell (row 0, col 3) of the crop = x 40 + 3.5 * 60 = 250 px, y 30 px
    assert dm.peak == pytest.approx((250 / 320, 30 / 240))
    assert value_at(dm, 250 / 320, 30 / 240) == pytest.approx((1.0, 1.0))
    assert value_at(dm, 20 / 320, 0.5) is None and value_at(dm, 300 / 320, 0.5) is None   # outside the crop
    from avsol_viewer.maps.map_readout import readout_text

    assert "outside the part of the frame" in readout_text("LVS · lvs", dm, 20, 120, 320, 240)
    assert "map value 1.000" in readout_text("LVS · lvs", dm, 250, 30, 320, 240)


def test_p_avc_is_shown_only_where_the_family_has_one():
    from avsol_viewer.core.map_display import p_avc_text
    from avsol_viewer.panels.segment_panel import _fmt

    assert p_avc_text(0.4242) == "p(av) 0.42"
    assert p_avc_text(float("nan")) == "" and _fmt(float("nan")) == "–"


def test_export_tile_blends_only_the_crop():
    from avsol_viewer.export.export_render import RenderOptions, render_tile
    from avsol_viewer.core.map_display import prepare

    frame = np.zeros((40, 80, 3), np.uint8)
    lut = np.zeros((256, 4), np.uint8)
    lut[:, :3], lut[:, 3] = 255, 255                 # every value opaque white
    dm = prepare(np.ones((2, 2), np.float32), "absolute", size=4, region=(0.25, 0.0, 0.75, 1.0))
    img = render_tile(frame, dm, lut, RenderOptions(contour=False, peak=False, boxes=False, labels=False, scale="absolute"))
    assert (img[:, 20:60] == 255).all() and (img[:, :20] == 0).all() and (img[:, 60:] == 0).all()


def test_model_family_needs_a_checkpoint(capsys):
    from avsol_viewer.app import main

    assert main(["--model-family", "lvs"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--model-family needs --checkpoint" in err[0]


# -- the viewer, offscreen, with the real loader and engine ----------------------------------
def real_factory(path, family=None):
    """The engine's loader (any family), one thread: the suite shares its cores."""
    from model_core.models.loading import load_model

    return load_model(path, device="cpu", family=family, batch_size=4, threads=1)


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    from published_support import FAMILIES, make_repo_checkpoint

    out = tmp_path_factory.mktemp("published")
    return {f: make_repo_checkpoint(f, out / f"{f}_vggss.pth.tar", seed=200 + i) for i, f in enumerate(FAMILIES)}


def _side_by_side(v):
    v.win.set_options(replace(v.win.display.options, layout="side_by_side", hidden=()))


def _beside_our_head(make_viewer, ckpt, family=None):
    """A window on the demo clip with our head and ``ckpt`` (its family forced when given)
    loaded, frame 0's maps computed, shown side by side; returns it and (ours, theirs)."""
    v = make_viewer(real_factory)
    assert v.win.open_path(DEMO)
    v.wait_frame(0)
    v.win.load_checkpoint(DNM)
    v.win.load_checkpoint(ckpt, family)
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == 2 and not v.c.maps.loading, timeout=120000)
    assert not v.errors
    v.wait_maps(0, timeout=180000)
    _side_by_side(v)
    v.win.presenter.refresh()
    ours, theirs = v.c.maps.models
    return v, ours, theirs


def _overlay_rect(view):
    r = view.overlay.mapRectToParent(view.overlay.boundingRect())
    return (r.x(), r.y(), r.x() + r.width(), r.y() + r.height())


@pytest.mark.slow
@pytest.mark.parametrize("family", list(TITLES))
def test_each_family_plays_beside_our_head(family, ckpts, make_viewer):
    from avsol_viewer.maps.head_style import head_colour
    from model_core.models.protocol import map_hw, normalise

    # FNAC saves EZ-VSL's keys and container: detected as EZ-VSL, so FNAC is forced (--model-family)
    v, ours, theirs = _beside_our_head(make_viewer, ckpts[family], "fnac" if family == "fnac" else None)
    assert (ours.family, theirs.family) == ("dnm", family)
    views = v.win.heads.views
    assert len(views) == 3                                      # the frame, our head, theirs
    title = views[2].title.text
    assert TITLES[family] in title and theirs.name in title    # "EZ-VSL · ezvsl_vggss"
    assert head_colour(theirs.name, theirs.head) in title      # in its own colour
    assert "p(av)" not in title and "p(av)" in views[1].title.text   # none made up for theirs
    assert f"family: {family}, native map {theirs.map_kind}" in views[2].title.toolTip()
    # their native map, normalised by its kind, is what is drawn (peak on the native argmax)
    entry, _ = v.c.maps.entry(theirs.key, 0)
    model = v.c.maps.worker.loaded_localizers()[theirs.key]
    assert entry.map.shape == map_hw(model.map_size)
    label, dm = v.win.presenter.shown[2]
    assert TITLES[family] in label and 0.0 <= dm.values.min() and dm.values.max() <= 1.0
    norm = normalise(entry.map, model.map_kind, model.tau)
    assert (dm.raw_min, dm.raw_max) == pytest.approx((float(entry.map.min()), float(entry.map.max())))
    if model.map_kind != "gradcam":                             # a fixed range: the absolute value is drawn
        assert float(dm.values.max()) == pytest.approx(float(norm.max()), abs=0.02)
    # the overlay covers the frame, or only the centre-cropping family's crop (by hand:
    # 320 x 240 -> the centre 240 x 240 square, x from ~40 to ~280)
    x0, y0, x1, y1 = _overlay_rect(views[2])
    if family in ("lvs", "ssltie"):
        assert x0 == pytest.approx(40, abs=1) and x1 == pytest.approx(280, abs=1)
        assert (y0, y1) == pytest.approx((0, 240), abs=0.5)
    else:
        assert (x0, y0, x1, y1) == pytest.approx((0, 0, 320, 240), abs=0.5)
    assert _overlay_rect(views[1]) == pytest.approx((0, 0, 320, 240), abs=0.5)   # ours: the whole frame
    assert views[1].overlay.isVisible() and views[2].overlay.isVisible()


@pytest.mark.slow
def test_forced_family_and_unusable_files_are_one_message_and_keep_the_heads(ckpts, make_viewer, tmp_path):
    import os

    import torch

    v = make_viewer(real_factory)
    assert v.win.open_path(DEMO)
    v.win.load_checkpoint(DNM)
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == 1 and not v.c.maps.loading, timeout=60000)
    before = list(v.c.maps.models)

    good = ckpts["ezvsl"]
    damaged = tmp_path / "damaged.pth"
    damaged.write_bytes(good.read_bytes()[:100_000])

    class Hostile:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    hostile = tmp_path / "hostile.pth"
    torch.save({"model": {"w": torch.zeros(2)}, "extra": Hostile()}, hostile)
    partial = tmp_path / "partial.pth.tar"
    state = torch.load(good, weights_only=False)["model"]
    torch.save({"model": {k: t for k, t in state.items() if not k.startswith("aud_proj")}}, partial)
    cases = [(damaged, None, "truncated"), (hostile, None, "could run code"),
             (partial, None, "closest is ezvsl"), (good, "lvs", "does not match family lvs")]
    for path, family, words in cases:
        n = len(v.errors)
        v.win.load_checkpoint(path, family)
        v.qtbot.waitUntil(lambda: len(v.errors) > n and not v.c.maps.loading, timeout=60000)
        title, text = v.errors[-1]
        assert len(v.errors) == n + 1 and "\n" not in text and "Traceback" not in text
        assert str(path) in text and words in text, text
        assert v.c.maps.models == before                        # the loaded heads as they were
    assert not (tmp_path / "pwned").exists()


@pytest.mark.slow
def test_a_published_model_with_a_dropped_pth_tar_and_a_forced_family(ckpts, make_viewer):
    v = make_viewer(real_factory)
    assert v.win.open_path(ckpts["sslalign"])                    # dropped / opened: loads as a model
    v.win.load_checkpoint(ckpts["lvs"], "lvs")                   # forced, and right
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == 2 and not v.c.maps.loading, timeout=120000)
    assert sorted(m.family for m in v.c.maps.models) == ["lvs", "sslalign"] and not v.errors


# -- live mode ------------------------------------------------------------------------------
def test_live_mode_feeds_each_model_its_own_window(make_viewer, tmp_path, index_clip):
    """Fakes that record the length of what they hear: our 1 s head and a 10 s model (LVS's
    length, the longest published) get their own windows from the same microphone."""
    from viewer_support import FakeFactory, FakeLocalizer

    class Heard(FakeLocalizer):
        def __init__(self, *a, seconds=1.0, **kw):
            super().__init__(*a, **kw)
            self.audio_window_s = seconds
            self.lengths: set[int] = set()

        def embed_audio(self, windows):
            self.lengths.add(np.asarray(windows).shape[-1])
            return super().embed_audio(windows)

    ours, lvs_like = Heard("dnm", head="dnm"), Heard("lvs", head="LVS", seconds=10.0)
    lvs_like.family, lvs_like.map_kind = "lvs", "cosine"
    v = make_viewer(FakeFactory(dnm=ours, lvs=lvs_like))
    for name in ("dnm", "lvs"):
        v.win.load_checkpoint(tmp_path / f"{name}.pth")
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == 2, timeout=15000)
    live = v.win.live
    try:
        live.start(str(index_clip), str(index_clip))
        v.qtbot.waitUntil(lambda: live.shown >= 3, timeout=20000)
        assert ours.lengths == {16000} and lvs_like.lengths == {160000}
        r = live.last
        assert set(r.entries) == {m.key for m in v.c.maps.models}
        key = {m.name: m.key for m in v.c.maps.models}
        # each map's audio centre is the middle of its own window, the newest sound heard
        e1, e10 = r.entries[key["dnm"]], r.entries[key["lvs"]]
        assert e10.audio_centre == pytest.approx(e1.audio_centre + 0.5 - 5.0, abs=0.11)
    finally:
        live.stop()
    assert not [t for t in threading.enumerate() if t.name.startswith("avsol-live")]


@pytest.mark.slow
@pytest.mark.parametrize("family", list(TITLES))
def test_live_mode_maps_a_published_model(family, ckpts, make_viewer, other_clip):
    from model_core.models.protocol import map_hw

    v = make_viewer(real_factory)
    v.win.load_checkpoint(ckpts[family], "fnac" if family == "fnac" else None)
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == 1 and not v.c.maps.loading, timeout=120000)
    live = v.win.live
    try:
        live.start(str(other_clip), str(other_clip))
        v.qtbot.waitUntil(lambda: live.shown >= 2, timeout=180000)
        (m,) = v.c.maps.models
        e = live.last.entries[m.key]
        model = v.c.maps.worker.loaded_localizers()[m.key]
        assert e.map.shape == map_hw(model.map_size) and np.isnan(e.p_avc)
        title = v.win.heads.views[-1].title.text
        assert "p(av)" not in title and TITLES[family] in title
        assert not live.problems
    finally:
        live.stop()


# -- the export -----------------------------------------------------------------------------
def test_export_draws_a_centre_cropping_models_map_on_its_crop(make_viewer, index_clip, tmp_path):
    """A fake LVS-like model (cosine map, centre crop, no p(av)): the exported overlay is the
    normalised map on the centre square only, and the label has no p(av)."""
    import av

    from avsol_viewer.export.export_video import _head_label, export_overlay
    from avsol_viewer.maps.colormaps import colour_of
    from model_core.media.frames import VideoReader
    from viewer_support import FakeFactory, FakeLocalizer

    class Cropping(FakeLocalizer):
        family, map_kind, head = "lvs", "cosine", "LVS"

        def crop(self, width, height):            # the centre square of the short side
            s = min(width, height)
            return ((width - s) / 2, (height - s) / 2, (width + s) / 2, (height + s) / 2)

        def predict(self, frames, emb, audio_index=None):
            out = super().predict(frames, emb, audio_index)
            out.p_avc = np.full(len(out.maps), np.nan, np.float32)
            return out

    fake = Cropping("lvs", head="LVS", map_fn=lambda f, e: np.ones((8, 8), np.float32))  # cosine 1 -> 1
    v = make_viewer(FakeFactory(lvs=fake))
    v.win.load_checkpoint(tmp_path / "lvs.pth")
    assert v.win.open_path(index_clip)                    # 128 x 96: the crop is x 16..112
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == 1, timeout=20000)
    v.win.set_options(replace(v.win.display.options, layout="single", colormap="inferno", opacity=0.6,
                              contour=False, peak=False, boxes=False, scale="absolute"))
    out = tmp_path / "overlay.mp4"
    worker = export_overlay(v.win.context, out, labels=False, end=0.2)
    with v.qtbot.waitSignal(worker.done, timeout=60000):
        pass
    worker.wait(10000)
    with av.open(str(out)) as c:
        got = next(c.decode(c.streams.video[0])).to_ndarray(format="rgb24").astype(float)
    with VideoReader(index_clip) as r:
        src = r.read_at_index(0).astype(float)

    def patch(img, x, y):
        return img[y - 3:y + 3, x - 3:x + 3].reshape(-1, 3).mean(axis=0)

    colour = np.array(colour_of("inferno", 1.0), float)
    for x in (24, 64, 104):                              # inside the crop: the map at 1
        assert np.abs(patch(got, x, 48) - (0.4 * patch(src, x, 48) + 0.6 * colour)).max() < 12, x
    for x in (6, 122):                                   # outside: the frame as it is
        assert np.abs(patch(got, x, 48) - patch(src, x, 48)).max() < 8, x
    entry, _ = v.c.maps.entry(v.c.maps.models[0].key, 0)
    assert "p(av)" not in _head_label(v.c.maps.models[0], entry)


# -- at launch ------------------------------------------------------------------------------
def _app(args, tmp_path, timeout=400):
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", AVSOL_VIEWER_SETTINGS=str(tmp_path / "settings.ini"))
    return subprocess.run([sys.executable, "-m", "avsol_viewer.app", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout)


@pytest.mark.slow
def test_checkpoint_and_model_family_at_launch(ckpts, tmp_path):
    out = tmp_path / "shot.png"
    res = _app([DEMO, "--checkpoint", ckpts["sslalign"], "--model-family", "sslalign", "--screenshot", out,
                "--at", "2.0"], tmp_path)
    assert res.returncode == 0 and out.is_file(), res.stderr
    assert "warning" not in res.stderr                  # its map was ready before the timeout
    # the wrong family forced: exit 2, one line naming the file and the family
    out2 = tmp_path / "shot2.png"
    res = _app([DEMO, "--checkpoint", ckpts["sslalign"], "--model-family", "ezvsl", "--screenshot", out2],
               tmp_path)
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert res.returncode == 2 and len(lines) == 1 and not out2.exists(), res.stderr
    assert str(ckpts["sslalign"]) in lines[0] and "does not match family ezvsl" in lines[0]


# -- your own model: a plugin family in the viewer ------------------------------------------
VIEWER_PLUGIN = '''
import torch
import torch.nn.functional as F
from torch import nn

from model_core.models import frontends
from model_core.models.base import Family, load_exact


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.vis = nn.Conv2d(3, 8, kernel_size=32, stride=32)   # 224 -> 7 x 7
        self.aud = nn.Linear(257, 8)                            # the spectrogram's bins

    def audio(self, spec):                                      # A x 1 x 257 x T
        return F.normalize(self.aud(spec.mean(dim=3).flatten(1)), dim=1)

    def visual(self, img):
        return F.normalize(self.vis(img), dim=1)

    def read(self, V, a):
        return torch.einsum("nchw,nc->nhw", V, a)


class TinyViz(Family):
    key = "tinyviz"
    title = "TinyViz"
    licence = "MIT"
    window_s = 1.0
    map_kind = "cosine"
    map_size = 7
    top_keys = ("state_dict",)

    def skeleton(self):
        return _Net()

    def frontend(self, windows):
        return frontends.scipy_log_spectrogram(windows, 274)

    def build_net(self, state):
        return load_exact(_Net(), state)
'''


@pytest.mark.slow
def test_a_plugin_family_plays_in_the_viewer(make_viewer, tmp_path, monkeypatch, capsys):
    """A package registered under ``avsol.models`` (a dist-info on sys.path, as pip leaves it)
    is listed by ``avsol models list`` and its checkpoint plays beside our head, titled with
    the plugin's family."""
    import sys

    import torch

    from model_core.cli import main

    (tmp_path / "avsol_tinyviz.py").write_text(VIEWER_PLUGIN)
    info = tmp_path / "avsol_tinyviz-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: avsol-tinyviz\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[avsol.models]\ntinyviz = avsol_tinyviz:TinyViz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert main(["models", "list"]) == 0
        assert "tinyviz" in capsys.readouterr().out
        torch.manual_seed(0)
        state = {"vis.weight": torch.randn(8, 3, 32, 32) * 0.05, "vis.bias": torch.zeros(8),
                 "aud.weight": torch.randn(8, 257) * 0.05, "aud.bias": torch.zeros(8)}
        ckpt = tmp_path / "mine.pth"
        torch.save({"state_dict": state}, ckpt)
        v, ours, theirs = _beside_our_head(make_viewer, ckpt)
        assert theirs.family == "tinyviz"
        assert "TinyViz" in v.win.heads.views[2].title.text
        entry, _ = v.c.maps.entry(theirs.key, 0)
        assert entry.map.shape == (7, 7) and np.isfinite(entry.map).all()
        assert v.win.heads.views[2].overlay.isVisible()
    finally:
        sys.modules.pop("avsol_tinyviz", None)
