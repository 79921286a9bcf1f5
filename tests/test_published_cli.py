"""The field's published models through the CLI (issue 27): ``avsol infer`` and ``avsol eval``
take any family's checkpoint (random weights in each repository's exact layout, built by
``tests/published_support.py``), ``eval --negatives`` runs a published model beside one of
our heads, ``avsol compare`` reads such a report, and bad files are one line, exit 2.

Published models are ResNet-18 pairs, so on a 2-core machine a family costs seconds per
call: the set is tiny (2 videos of 3 s at 64 px) and the module is marked slow.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from published_support import FAMILIES, make_repo_checkpoint  # noqa: E402

from model_core.cli import main  # noqa: E402

pytestmark = pytest.mark.slow

#: map side and scale per family (the repositories' own)
EXPECTED = {"ezvsl": (7, "cosine_tau"), "fnac": (7, "cosine_tau"), "slavc": (7, "cosine_tau"),
            "lvs": (14, "cosine"), "sslalign": (14, "cosine"), "ssltie": (14, "cosine"),
            "rcgrad": (14, "gradcam")}  # Grad-CAM on its stride-1 layer4


@pytest.fixture(scope="module")
def world(tmp_path_factory, synth_set, make_tiny_checkpoint):
    """A synthetic set of 2 videos (3 s, 64 px), one of our tiny heads and every family's file."""
    from model_core.formats import load_avsol_e

    root = tmp_path_factory.mktemp("published_cli")
    data = synth_set(seed=7, videos=2, classes=2, fps=None, copy_to=root / "data")
    ours = make_tiny_checkpoint(load_avsol_e(data / "avsol-e.json").classes, name="ours")
    ckpts = {f: make_repo_checkpoint(f, root / f"{f}_vggss.pth.tar", seed=100 + i) for i, f in enumerate(FAMILIES)}
    videos = sorted((root / "data" / "videos").glob("*.mp4")) or sorted((root / "data").rglob("*.mp4"))
    return {"root": root, "ours": ours, "ckpts": ckpts, "video": videos[0]}


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_through_infer(world, family, tmp_path, capsys):
    from model_core.maps_file import load_maps
    from model_core.media.probe import probe

    out = tmp_path / "maps.npz"
    # FNAC saves EZ-VSL's very keys: it is detected as EZ-VSL, and chosen by --model-family
    forced = ["--model-family", "fnac"] if family == "fnac" else []
    assert main(["infer", str(world["video"]), "--checkpoint", str(world["ckpts"][family]), "--out", str(out),
                 "--fps", "2", "--device", "cpu", "--quiet", *forced]) == 0
    assert family in capsys.readouterr().out
    mf = load_maps(out)
    side, kind = EXPECTED[family]
    dur = probe(world["video"]).duration
    assert mf.maps.shape[1:] == (side, side) and len(mf) == len(np.arange(0, dur, 0.5))
    assert (mf.map_kind, mf.family) == (kind, family)
    assert np.isfinite(mf.maps).all()
    if kind == "cosine":
        assert np.abs(mf.maps).max() <= 1 + 1e-5
    if kind == "cosine_tau":
        assert mf.tau == pytest.approx(0.03) and np.abs(mf.maps).max() <= 1 / 0.03 + 1e-3
    if family in ("lvs", "ssltie"):   # Resize(224) + CenterCrop(224): the frame's centre square
        w, h = probe(world["video"]).width, probe(world["video"]).height
        x0, y0, x1, y1 = mf.crop
        assert (x1 - x0) * w == pytest.approx((y1 - y0) * h) and (x0 + x1) / 2 == pytest.approx(0.5)
    else:
        assert mf.crop is None


@pytest.mark.parametrize("family", FAMILIES)
def test_eval_scores_a_published_model_beside_ours_and_names_it(world, family, tmp_path, capsys):
    out = tmp_path / "r.json"
    # FNAC saves EZ-VSL's keys: forced, and --model-family forces every checkpoint, so alone
    ours_args = ["--model-family", "fnac"] if family == "fnac" else ["--checkpoint", str(world["ours"])]
    assert main(["eval", str(world["root"] / "data"), *ours_args,
                 "--checkpoint", str(world["ckpts"][family]), "--out", str(out), "--device", "cpu",
                 "--batch-size", "4"]) == 0
    rep = json.loads(out.read_text())
    *ours, theirs = rep["meta"]["checkpoints"]
    if family != "fnac":
        assert (ours[0]["family"], ours[0]["map_kind"]) == ("dnm", "sigmoid")
    assert (theirs["family"], theirs["map_kind"]) == (family, EXPECTED[family][1])
    import hashlib

    assert theirs["sha256"] == hashlib.sha256(world["ckpts"][family].read_bytes()).hexdigest()
    for h in rep["heads"].values():
        assert h["n_items"] == h["n_total"] > 0 and h["n_failed"] == 0
    capsys.readouterr()


def test_eval_negatives_and_compare_with_a_published_model(world, tmp_path, capsys, synth_set,
                                                           make_tiny_checkpoint):
    from model_core.formats import load_avsol_e

    # classes enough that every event has an off-screen segment of another class
    data = synth_set(seed=5, videos=6, classes=6, fps=None)
    ours = make_tiny_checkpoint(load_avsol_e(data / "avsol-e.json").classes, name="ours")
    out = tmp_path / "neg.json"
    assert main(["eval", str(data), "--checkpoint", str(ours),
                 "--checkpoint", str(world["ckpts"]["ezvsl"]), "--out", str(out), "--device", "cpu",
                 "--negatives", "--threshold", "slavc"]) == 0
    rep = json.loads(out.read_text())
    assert rep["meta"]["threshold"] == "slavc"
    name = rep["meta"]["checkpoints"][1]["name"]
    assert rep["meta"]["checkpoints"][1]["family"] == "ezvsl"
    assert rep["heads"][name].get("negatives")
    events = [r for r in rep["items"] if r["head"] == name and r.get("negatives")]
    assert events and all({"silence", "noise"} <= set(r["negatives"]) for r in events)
    capsys.readouterr()
    cmp = tmp_path / "cmp.json"
    assert main(["compare", str(out), "--out", str(cmp)]) == 0
    doc = json.loads(cmp.read_text())
    assert "dnm - EZ-VSL" in capsys.readouterr().out and doc["pairs"]   # each head by its kind


def test_bad_files_are_one_line_exit_2(world, tmp_path, capsys):
    good = world["ckpts"]["ezvsl"]
    damaged = tmp_path / "damaged.pth"
    damaged.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    obj = torch.load(good, weights_only=False)
    partial = tmp_path / "partial.pth"
    state = dict(obj["model"])
    for k in [k for k in state if k.startswith("aud_proj")]:
        del state[k]
    torch.save({"model": state}, partial)

    class Hostile:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    hostile = tmp_path / "hostile.pth"
    torch.save({"model": obj["model"], "x": Hostile()}, hostile)
    cases = [([str(damaged)], "truncated"), ([str(partial)], "closest is"),
             ([str(hostile)], "could run code"), ([str(good), "--model-family", "lvs"], "does not match family lvs")]
    for extra, words in cases:
        out = tmp_path / "m.npz"
        code = main(["infer", str(world["video"]), "--out", str(out), "--device", "cpu", "--quiet",
                     "--checkpoint", *extra])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and words in err[0], (extra, err)
        assert not out.exists()
    assert not (tmp_path / "pwned").exists()


def test_protocol_and_sweep_are_recorded(world, tmp_path, capsys):
    data, ck = str(world["root"] / "data"), str(world["ckpts"]["lvs"])
    out = tmp_path / "p.json"
    assert main(["eval", data, "--checkpoint", ck, "--out", str(out), "--device", "cpu", "--protocol", "lvs"]) == 0
    meta = json.loads(out.read_text())["meta"]
    assert meta["protocol"]["name"] == "lvs" and meta["threshold"] == "median"
    assert any("centre crop" in u for u in meta["protocol"]["unmatched"])
    assert "Localizing-Visual-Sounds" in meta["protocol"]["repository"]
    capsys.readouterr()
    assert main(["eval", data, "--checkpoint", ck, "--out", str(out), "--device", "cpu", "--protocol", "slavc",
                 "--threshold", "median"]) == 2
    assert "--protocol slavc scores with --threshold slavc" in capsys.readouterr().err
    # sweep: each item binarised at 0.5 of the absolute map, so the sweep's 0.5 is the items' mean
    assert main(["eval", data, "--checkpoint", ck, "--out", str(out), "--device", "cpu", "--threshold", "sweep"]) == 0
    rep = json.loads(out.read_text())
    (name, sweep), = rep["meta"]["sweep"].items()
    cious = [r["ciou"] for r in rep["items"] if r.get("ciou") is not None]
    assert len(sweep["mean_ciou"]) == 19 and sweep["n_items"] == len(cious) > 0
    assert sweep["mean_ciou"]["0.5"] == pytest.approx(np.mean(cious), abs=1e-6)
    means = [sweep["mean_ciou"][k] for k in sweep["mean_ciou"]]
    assert all(0 <= m <= 1 for m in means)
