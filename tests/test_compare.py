"""``avsol compare`` and its statistics (model_core.metrics.compare): hand-computed cases,
the resample distribution of tiny item sets, a coverage simulation, and the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest

from model_core.cli import main
from model_core.metrics import localization as L
from model_core.metrics.compare import (bootstrap_means, item_auc, item_metrics, paired_interval,
                                        resample_indices)
from model_core.metrics.items import ItemResult
from model_core.metrics.report import build_report

APPROX = 2e-6  # the compare file rounds to 6 decimals


# --- statistics ------------------------------------------------------------------------

def test_item_auc_averages_to_the_report_auc():
    c = np.array([0.0, 0.03, 0.05, 0.26, 0.5, 0.51, 0.99, 1.0])
    assert item_auc(c).mean() == pytest.approx(L.auc(c), abs=1e-12)
    # by hand: cIoU 0.26 passes thresholds 0 .. 0.25 (6 of 21): area 5 * 0.05 + 0.05 / 2
    assert item_auc(np.array([0.26]))[0] == pytest.approx(0.275)
    assert item_auc(np.array([1.0]))[0] == pytest.approx(1.0)
    assert item_auc(np.array([0.0]))[0] == pytest.approx(0.025)


def test_item_metrics_by_hand():
    rows = [{"ciou": 0.6, "hit": True, "pixel_ap": 0.5}, {"ciou": 0.2, "hit": False, "pixel_ap": None}]
    m = item_metrics(rows)
    assert m["ciou@0.5"].tolist() == [1.0, 0.0]
    assert m["pointing"].tolist() == [1.0, 0.0]
    assert m["mean_ciou"].tolist() == [0.6, 0.2]
    assert m["pixel_ap"][0] == 0.5 and np.isnan(m["pixel_ap"][1])


def test_resample_distribution_of_two_items():
    """d = [0, 1]: a resample's mean is 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4."""
    index = resample_indices(2, 20000, seed=3)
    means = bootstrap_means(np.array([0.0, 1.0]), index)
    freq = [np.mean(means == v) for v in (0.0, 0.5, 1.0)]
    assert freq == pytest.approx([0.25, 0.5, 0.25], abs=0.015)
    out = paired_interval(np.array([0.0, 1.0]), index)
    assert out["diff"] == 0.5 and out["ci"] == [0.0, 1.0] and out["n"] == 2


def test_resample_distribution_of_three_items():
    """d = [0, 0, 1]: the number of 1s drawn is Binomial(3, 1/3): means 0, 1/3, 2/3, 1 with
    probabilities 8/27, 12/27, 6/27, 1/27; the 2.5th percentile is 0 and, as 26/27 < 0.975,
    the 97.5th is 1."""
    d = np.array([0.0, 0.0, 1.0])
    index = resample_indices(3, 40000, seed=1)
    means = bootstrap_means(d, index)
    freq = [np.mean(np.isclose(means, v)) for v in (0, 1 / 3, 2 / 3, 1)]
    assert freq == pytest.approx([8 / 27, 12 / 27, 6 / 27, 1 / 27], abs=0.01)
    out = paired_interval(d, index)
    assert out["diff"] == pytest.approx(1 / 3) and out["ci"] == pytest.approx([0.0, 1.0])


def test_constant_difference_has_a_point_interval_and_nan_items_are_left_out():
    index = resample_indices(4, 500, seed=0)
    out = paired_interval(np.array([0.25, 0.25, np.nan, 0.25]), index)
    assert out["diff"] == 0.25 and out["ci"] == pytest.approx([0.25, 0.25]) and out["n"] == 3
    assert paired_interval(np.full(3, np.nan), resample_indices(3, 100, 0))["diff"] is None


def test_same_seed_same_interval_other_seed_other_draws():
    rng = np.random.default_rng(5)
    d = rng.normal(0.1, 1.0, 300)
    a = paired_interval(d, resample_indices(300, 1000, seed=7))
    b = paired_interval(d, resample_indices(300, 1000, seed=7))
    c = paired_interval(d, resample_indices(300, 1000, seed=8))
    assert a == b and a["ci"] != c["ci"]
    # the interval is close to the normal one: mean +- 1.96 sd / sqrt(n)
    se = d.std(ddof=1) / np.sqrt(300)
    assert a["ci"] == pytest.approx([d.mean() - 1.96 * se, d.mean() + 1.96 * se], abs=0.25 * se)


def test_coverage_of_a_known_difference():
    """200 simulated test sets of 150 items: head A hits with p 0.7, head B with p 0.6,
    correlated through a shared item difficulty; the true difference is 0.1. The 95 %
    interval must cover it in about 95 % of the sets (binomial sd of the rate ~1.5 %)."""
    rng = np.random.default_rng(2026)
    n, sets, covered = 150, 200, 0
    index = resample_indices(n, 1000, seed=11)
    for _ in range(sets):
        u = rng.random(n)                       # shared difficulty: A hits when u < 0.7,
        a = (u < 0.7).astype(float)             # B when u < 0.6 (paired, correlated),
        flip = rng.random(n) < 0.2              # and 20 % of B's items redrawn independently
        b = np.where(flip, (rng.random(n) < 0.6).astype(float), (u < 0.6).astype(float))
        lo, hi = paired_interval(a - b, index)["ci"]
        covered += lo <= 0.1 <= hi
    assert 0.90 <= covered / sets <= 0.99


# --- the command -------------------------------------------------------------------------

def _items(head, cious, hits, aps=None, videos=None):
    videos = videos or [f"v{i}.mp4" for i in range(len(cious))]
    aps = aps or [0.5] * len(cious)
    return [ItemResult(video=v, time=0.5, head=head, start=0.0, end=1.0, ciou=c, hit=h, pixel_ap=ap)
            for v, c, h, ap in zip(videos, cious, hits, aps)]


def _write(path, items, heads, checkpoints=None):
    meta = {"checkpoints": checkpoints} if checkpoints else {}
    path.write_text(json.dumps(build_report(items, heads, meta)))
    return str(path)


def test_compare_two_heads_by_hand(tmp_path, capsys):
    a = _items("a", [0.6, 0.2, 0.7], [True, False, True], [0.9, 0.1, 0.8])
    b = _items("b", [0.4, 0.1, 0.8], [False, False, True], [0.5, 0.2, 0.7])
    rep = _write(tmp_path / "r.json", a + b, ["a", "b"])
    out = tmp_path / "c.json"
    assert main(["compare", rep, "--out", str(out), "--resamples", "5000", "--seed", "4"]) == 0
    doc = json.loads(out.read_text())
    assert doc["bootstrap"]["resamples"] == 5000 and doc["bootstrap"]["seed"] == 4
    (pair,) = doc["pairs"]
    assert (pair["a"], pair["b"], pair["n_items"]) == ("a", "b", 3)
    m = pair["metrics"]
    assert m["ciou@0.5"]["diff"] == pytest.approx(1 / 3, abs=APPROX)       # successes [1,0,1] - [0,0,1]
    assert m["pointing"]["diff"] == pytest.approx(1 / 3, abs=APPROX)       # hits [1,0,1] - [0,0,1]
    assert m["mean_ciou"]["diff"] == pytest.approx(0.2 / 3, abs=APPROX)    # (0.2 + 0.1 - 0.1) / 3
    assert m["pixel_ap"]["diff"] == pytest.approx(0.4 / 3, abs=APPROX)     # (0.4 - 0.1 + 0.1) / 3
    assert m["auc"]["diff"] == pytest.approx(L.auc(np.array([0.6, 0.2, 0.7])) - L.auc(np.array([0.4, 0.1, 0.8])), abs=APPROX)
    # per-item differences of cIoU@0.5 are [1, 0, 0]: a resample draws k ~ Binomial(3, 1/3)
    # ones, P(mean 0) = 8/27 > 2.5 %, P(mean 1) = 1/27 > 2.5 %: the interval is [0, 1]
    assert m["ciou@0.5"]["ci"] == pytest.approx([0.0, 1.0], abs=APPROX)
    assert doc["models"]["a"]["pointing"] == pytest.approx(2 / 3, abs=APPROX)
    assert "a - b (3 items)" in capsys.readouterr().out


def test_seeds_give_mean_and_spread_and_seed_averaged_pairs(tmp_path):
    # two seeds of dnm, one of avc; kinds come from the checkpoints named in the reports
    d1 = _items("dnm_s0", [0.6, 0.6, 0.1, 0.1], [True, True, False, False])
    d2 = _items("dnm_s1", [0.6, 0.1, 0.1, 0.1], [True, True, True, False])
    av = _items("avc_s0", [0.1, 0.1, 0.1, 0.6], [False, True, False, False])
    ck = [{"name": "dnm_s0", "head": "dnm", "path": "/x/dnm_s0.pt"},
          {"name": "dnm_s1", "head": "dnm", "path": "/x/dnm_s1.pt"}]
    r1 = _write(tmp_path / "r1.json", d1 + d2, ["dnm_s0", "dnm_s1"], ck)
    r2 = _write(tmp_path / "r2.json", av, ["avc_s0"], [{"name": "avc_s0", "head": "avc", "path": "/x/a.pt"}])
    out = tmp_path / "c.json"
    assert main(["compare", r1, r2, "--out", str(out), "--resamples", "200"]) == 0
    doc = json.loads(out.read_text())
    dnm = doc["kinds"]["dnm"]
    assert dnm["n_seeds"] == 2 and dnm["models"] == ["dnm_s0", "dnm_s1"]
    assert dnm["metrics"]["pointing"]["mean"] == pytest.approx(0.625, abs=APPROX)   # (0.5 + 0.75) / 2
    assert dnm["metrics"]["pointing"]["sd"] == pytest.approx(np.std([0.5, 0.75], ddof=1), abs=APPROX)
    assert doc["kinds"]["avc"]["metrics"]["pointing"]["sd"] is None
    (kp,) = doc["kind_pairs"]
    assert (kp["a"], kp["b"], kp["n_items"]) == ("dnm", "avc", 4)
    # seed-averaged dnm successes [1, .5, 0, 0] minus avc [0, 0, 0, 1]: mean 0.5 / 4
    assert kp["metrics"]["ciou@0.5"]["diff"] == pytest.approx(0.125, abs=APPROX)
    assert kp["metrics"]["ciou@0.5"]["seed_diffs"] == pytest.approx([0.25], abs=APPROX)
    assert len(doc["pairs"]) == 3


def test_reports_without_shared_items_exit_2(tmp_path, capsys):
    r1 = _write(tmp_path / "r1.json", _items("a", [0.6], [True], videos=["x.mp4"]), ["a"])
    r2 = _write(tmp_path / "r2.json", _items("b", [0.6], [True], videos=["y.mp4"]), ["b"])
    assert main(["compare", r1, r2, "--out", str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "share no scored item" in err and "r1.json" in err
    assert not (tmp_path / "c.json").exists()


@pytest.mark.parametrize("content, problem", [("{", "not JSON"), ('{"heads": {}}', "not an AVSOL report")])
def test_bad_report_exit_2(tmp_path, capsys, content, problem):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert main(["compare", str(bad), "--out", str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err
    assert problem in err and "bad.json" in err and len(err.strip().splitlines()) == 1


def test_one_head_is_refused(tmp_path, capsys):
    r = _write(tmp_path / "r.json", _items("a", [0.6], [True]), ["a"])
    assert main(["compare", r, "--out", str(tmp_path / "c.json")]) == 2
    assert "two heads" in capsys.readouterr().err


# --- hand-edited reports, provenance, names, pairing (issue 26) ------------------------------
def _two(tmp_path, meta_a=None, meta_b=None, time_b=0.5):
    a = _items("a", [0.6, 0.2, 0.7], [True, False, True])
    b = [ItemResult(video=i.video, time=time_b, head="b", start=0.0, end=1.0, ciou=c, hit=True, pixel_ap=0.5)
         for i, c in zip(a, [0.4, 0.1, 0.8])]
    ra, rb = tmp_path / "ra.json", tmp_path / "rb.json"
    ra.write_text(json.dumps(build_report(a, ["a"], meta_a or {})))
    rb.write_text(json.dumps(build_report(b, ["b"], meta_b or {})))
    return str(ra), str(rb)


def _edited(path, edit):
    doc = json.loads(open(path).read())
    edit(doc)
    text = json.dumps(doc, allow_nan=True)
    open(path, "w").write(text)


@pytest.mark.parametrize("edit, problem", [
    (lambda d: d["items"][1].update(ciou="abc"), "items[1].ciou: not a number"),
    (lambda d: d["items"][1].update(ciou=57), "items[1].ciou: 57 is out of range [0, 1]"),
    (lambda d: d["items"][0].update(time=float("inf")), "items[0].time: not a finite number"),
    (lambda d: d["items"][0].update(head=["a"]), "items[0].head: not a string"),
    (lambda d: d.update(heads=["a"]), "heads: missing or not an object"),
    (lambda d: d.update(version=99), "version: report format version 99 is not supported (this avsol reads 1, 2)"),
    (lambda d: d["meta"].update(x=[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]), None),   # deep but fine
])
def test_hand_edited_reports_exit_2_with_one_located_line(tmp_path, capsys, edit, problem):
    ra, rb = _two(tmp_path)
    _edited(ra, edit)
    code = main(["compare", ra, rb, "--out", str(tmp_path / "c.json")])
    err = capsys.readouterr().err
    if problem is None:
        assert code == 0
        return
    assert code == 2 and len(err.strip().splitlines()) == 1 and "ra.json: " + problem in err
    assert not (tmp_path / "c.json").exists()


def test_json_nested_too_deeply_is_one_line(tmp_path, capsys):
    ra, rb = _two(tmp_path)
    open(ra, "w").write("[" * 200_000 + "]" * 200_000)
    assert main(["compare", ra, rb, "--out", str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "ra.json: not a JSON report: nested too deeply" in err


def test_incomplete_reports_need_allow_incomplete(tmp_path, capsys):
    ra, rb = _two(tmp_path, meta_a={"complete": False, "videos_done": 3, "videos_total": 5})
    assert main(["compare", ra, rb, "--out", str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err
    assert "ra.json: is incomplete (3 of 5 videos evaluated)" in err and "--allow-incomplete" in err
    assert main(["compare", ra, rb, "--out", str(tmp_path / "c.json"), "--allow-incomplete"]) == 0


def test_reports_of_different_annotations_are_not_paired(tmp_path, capsys):
    ra, rb = _two(tmp_path, meta_a={"annotations_sha256": "a" * 64}, meta_b={"annotations_sha256": "b" * 64})
    assert main(["compare", ra, rb, "--out", str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err
    assert "were scored on different annotations (sha256 aaaaaaaaaaaa… vs bbbbbbbbbbbb…)" in err
    assert len(err.strip().splitlines()) == 1
    ra, rb = _two(tmp_path, meta_a={"annotations_sha256": "a" * 64}, meta_b={"annotations_sha256": "a" * 64})
    assert main(["compare", ra, rb, "--out", str(tmp_path / "c.json")]) == 0
    doc = json.loads((tmp_path / "c.json").read_text())
    assert doc["models"]["a"]["annotations_sha256"] == "a" * 64 and doc["notes"] == []
    ra, rb = _two(tmp_path, meta_a={"annotations_sha256": "a" * 64})          # rb: an older report
    assert main(["compare", ra, rb, "--out", str(tmp_path / "c.json")]) == 0
    assert "rb.json: records no annotations digest" in capsys.readouterr().out


def test_items_are_paired_by_segment_not_by_the_maps_time(tmp_path):
    ra, rb = _two(tmp_path, time_b=0.48)              # the same segments, maps at 0.48 s vs 0.5 s
    assert main(["compare", ra, rb, "--out", str(tmp_path / "c.json")]) == 0
    (pair,) = json.loads((tmp_path / "c.json").read_text())["pairs"]
    assert pair["n_items"] == 3 and pair["n_only_a"] == 0


def test_model_names_are_unique_and_stable(tmp_path, capsys):
    from model_core.cli.compare_cmd import model_names

    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    x, y = str(tmp_path / "x" / "r.json"), str(tmp_path / "y" / "r.json")
    assert model_names([(x, "a"), (y, "b")]) == ["a", "b"]
    assert model_names([(x, "a"), (y, "a")]) == ["x/r:a", "y/r:a"]                 # same stem, two folders
    assert model_names([(x, "a"), (x, "b"), (x, "a"), (x, "b")]) == ["r:a", "r:b", "r:a#2", "r:b#2"]  # given twice
    ra, _ = _two(tmp_path)
    assert main(["compare", ra, ra, "--out", str(tmp_path / "c.json"), "--resamples", "100"]) == 0
    doc = json.loads((tmp_path / "c.json").read_text())
    assert list(doc["models"]) == ["ra:a", "ra:a#2"] and len(doc["pairs"]) == 1
    assert doc["notes"] == [f"{ra}: given 2 times: each of its heads is compared as 2 models (and 2 seeds)"]


def test_one_null_item_does_not_void_a_seed_averaged_metric(tmp_path):
    # dnm seeds with one undefined pixel AP each; the old test ~np.isnan(x).any() voided the metric
    d1 = _items("dnm_s0", [0.6, 0.6, 0.6], [True] * 3, [0.5, None, 0.7])
    d2 = _items("dnm_s1", [0.6, 0.6, 0.6], [True] * 3, [None, 0.3, 0.9])
    av = _items("avc_s0", [0.6, 0.6, 0.6], [True] * 3, [0.1, 0.1, 0.1])
    ck = [{"name": "dnm_s0", "head": "dnm"}, {"name": "dnm_s1", "head": "dnm"}, {"name": "avc_s0", "head": "avc"}]
    r = _write(tmp_path / "r.json", d1 + d2 + av, ["dnm_s0", "dnm_s1", "avc_s0"], ck)
    assert main(["compare", r, "--out", str(tmp_path / "c.json"), "--resamples", "200"]) == 0
    (kp,) = json.loads((tmp_path / "c.json").read_text())["kind_pairs"]
    # per item, the seed average [0.5, 0.3, 0.8] minus 0.1: [0.4, 0.2, 0.7]
    assert kp["metrics"]["pixel_ap"]["diff"] == pytest.approx(1.3 / 3, abs=APPROX)


def test_the_chunked_bootstrap_draws_exactly_the_one_big_draw():
    from model_core.metrics.compare import Resampler

    d = np.random.default_rng(2).random(257)
    d[::9] = np.nan
    whole = resample_indices(257, 3001, seed=5)
    chunked = Resampler(257, 3001, 5, chunk=1000)            # 3 resamples per chunk, 1001 chunks
    assert chunked.rows == 3 and np.array_equal(np.concatenate(list(chunked.chunks())), whole)
    assert paired_interval(d, chunked) == paired_interval(d, whole)
    assert np.array_equal(bootstrap_means(d, chunked), bootstrap_means(d, whole), equal_nan=True)
