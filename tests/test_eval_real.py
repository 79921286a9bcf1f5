"""``avsol eval`` for real: tiny checkpoints on a tiny synthetic set, single process and
sharded over 2 CPU processes with ``torch.distributed.run``; agreement with ``avsol
metrics`` on maps of the same frames."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from model_core.cli import main
from model_core.jobs.events import Done, Item, Progress, parse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, synth_set, make_tiny_checkpoint):
    """3 synthetic videos of 3 s at 64 px (copied: the reports go beside them) and two tiny
    checkpoints (avc, dnm)."""
    from model_core.formats import load_avsol_e

    root = tmp_path_factory.mktemp("eval_real")
    synth_set(seed=5, videos=3, classes=3, fps=None, copy_to=root / "data")
    classes = load_avsol_e(root / "data" / "avsol-e.json").classes
    return root, [str(make_tiny_checkpoint(classes, head, seed)) for seed, head in enumerate(("avc", "dnm"))]


@pytest.fixture(scope="module")
def single_run(tiny):
    root, ckpts = tiny
    out = root / "single" / "report.json"
    args = ["eval", str(root / "data"), "--out", str(out), "--csv", str(root / "single" / "r.csv"),
            "--jsonl", "--batch-size", "4"]
    for c in ckpts:
        args += ["--checkpoint", c]
    return out, args


def test_eval_cli_single_process(tiny, single_run, capsys):
    out, args = single_run
    assert main(args) == 0
    captured = capsys.readouterr()
    events = [parse(line) for line in captured.out.splitlines()]   # stdout: only events
    assert events[-1] == Done(report=str(out))
    assert sum(isinstance(e, Item) for e in events) == 3 * 3 * 2
    rep = json.loads(out.read_text())
    assert list(rep["heads"]) == ["avc", "dnm"]
    for h in rep["heads"].values():
        assert h["n_total"] == 9 and h["n_items"] == 9 and h["n_failed"] == 0
        assert h["n_localized"] + h["n_background"] == 9
        assert 0 <= h["auc"] <= 1 and 0 <= h["pixel_roc_auc"] <= 1
    assert all(r["status"] == "scored" and r["silent_audio"] is False for r in rep["items"])
    assert rep["meta"]["complete"] and rep["meta"]["checkpoints"][1]["head"] == "dnm"
    assert "report:" in captured.err          # the summary goes to stderr with --jsonl


def test_eval_bad_and_missing_videos_become_rows(tiny, tmp_path, capsys):
    root, ckpts = tiny
    data = tmp_path / "data"
    shutil.copytree(root / "data", data)
    (data / "videos" / "synth_00001.mp4").write_bytes(b"\x00" * 1000)     # undecodable
    (data / "videos" / "synth_00002.mp4").unlink()                         # missing
    rc = main(["eval", str(data), "--checkpoint", ckpts[0], "--out", str(tmp_path / "r.json")])
    assert rc == 0
    rep = json.loads((tmp_path / "r.json").read_text())
    h = rep["heads"]["avc"]
    assert (h["n_items"], h["n_failed"], h["n_missing"]) == (3, 3, 3)
    assert [r["video"] for r in rep["items"][:6]] == ["synth_00001.mp4"] * 3 + ["synth_00002.mp4"] * 3
    assert "synth_00001.mp4" in rep["items"][0]["error"]
    err = capsys.readouterr().err
    assert "synth_00001.mp4: failed" in err and "synth_00002.mp4: missing" in err


def test_eval_agrees_with_metrics_on_the_same_maps(tiny, single_run, tmp_path):
    """Maps of the annotated frames through the maps file + ``avsol metrics`` give the
    same item scores as ``avsol eval`` (the two paths share the metrics code)."""
    from model_core.formats import load_avsol_e
    from model_core.inference import Localizer, localize_many
    from model_core.maps_file import save_maps

    root, ckpts = tiny
    out, args = single_run
    if not out.exists():
        assert main(args) == 0
    ann = load_avsol_e(root / "data" / "avsol-e.json")
    loc = Localizer(ckpts[1], device="cpu", batch_size=4)
    maps, videos, times, p = [], [], [], []
    for v in ann.videos:
        t = [s.frame_time for s in v.segments]
        vm = localize_many([loc], root / "data" / "videos" / v.video, t)[loc.name]
        maps.append(vm.maps), videos.extend([v.video] * len(t)), times.extend(t), p.append(vm.p_avc)
    save_maps(tmp_path / "m.npz", np.concatenate(maps), videos, np.array(times), head="dnm",
              extra={"p_avc": np.concatenate(p)})
    assert main(["metrics", "--maps", str(tmp_path / "m.npz"), "--annotations",
                 str(root / "data" / "avsol-e.json"), "--out", str(tmp_path / "m.json")]) == 0
    via_metrics = {(r["video"], r["time"]): r for r in json.loads((tmp_path / "m.json").read_text())["items"]}
    via_eval = {(r["video"], r["time"]): r for r in json.loads(out.read_text())["items"] if r["head"] == "dnm"}
    assert via_metrics.keys() == via_eval.keys()
    for k, r in via_eval.items():
        for key in ("ciou", "p_avc", "pixel_ap"):
            if r[key] is None:
                assert via_metrics[k][key] is None
            else:
                assert via_metrics[k][key] == pytest.approx(r[key], abs=1e-5)
        assert via_metrics[k]["failure"] == r["failure"]


def test_eval_under_torchrun_two_cpu_processes(tiny, single_run, tmp_path):
    root, ckpts = tiny
    out_single, args = single_run
    if not out_single.exists():
        assert main(args) == 0
    out = tmp_path / "dist.json"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(29500 + os.getpid() % 1000), "-m", "model_core", "eval",
           str(root / "data"), "--out", str(out), "--batch-size", "4", "--jsonl"]
    for c in ckpts:
        cmd += ["--checkpoint", c]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # each rank wrote its own log; rank 0 merged them into one report
    assert (tmp_path / "dist.items.rank0.jsonl").exists() and (tmp_path / "dist.items.rank1.jsonl").exists()
    dist_rep = json.loads(out.read_text())
    single = json.loads(out_single.read_text())
    assert dist_rep["meta"]["world_size"] == 2
    for name, h in single["heads"].items():
        d = dist_rep["heads"][name]
        for k in ("n_items", "n_total", "n_missing", "n_failed", "n_localized"):
            assert d[k] == h[k]
        for k in ("ciou@0.5", "auc", "mean_ciou", "pixel_ap"):
            assert d[k] == pytest.approx(h[k], abs=1e-5)
    key = lambda r: (r["head"], r["video"], r["time"])  # noqa: E731
    assert sorted(map(key, dist_rep["items"])) == sorted(map(key, single["items"]))
    events = [parse(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    assert [e for e in events if isinstance(e, Done)] == [Done(report=str(out))]
    # only rank 0 speaks, about its own shard (2 of the 3 videos)
    assert [e.done for e in events if isinstance(e, Progress)] == [0, 1, 2]


def test_eval_decodes_the_next_video_ahead_with_the_same_rows(tiny, tmp_path, monkeypatch):
    """``run_eval`` starts each next video's decoding ahead: before the current one's
    models run (``"models"``, the default on an accelerator) or once its maps are made,
    beside its scoring (``"scoring"``, the CPU default); the rows equal a run without it."""
    from model_core.evaluation import runner
    from model_core.evaluation.runner import run_eval
    from model_core.inference import localize_many
    from model_core.inference import pipeline

    root, ckpts = tiny
    events = []
    real = pipeline.decode_ahead
    monkeypatch.setattr(pipeline, "decode_ahead", lambda locs, path, *a, **k: events.append(
        ("ahead", os.path.basename(path))) or real(locs, path, *a, **k))
    real_localize, real_score = pipeline.localize_many, runner.score_items
    monkeypatch.setattr(pipeline, "localize_many", lambda locs, path, *a, **k: events.append(
        ("maps", os.path.basename(path))) or real_localize(locs, path, *a, **k))
    monkeypatch.setattr(runner, "score_items", lambda *a, **k: events.append(("score", k["videos"][0]))
                        or real_score(*a, **k))
    import model_core.inference as inference
    monkeypatch.setattr(inference, "localize_many", pipeline.localize_many)

    def order(**kw):
        events.clear()
        run_eval(root / "data", ckpts, tmp_path / f"{kw.get('decode_ahead')}.json", **kw)
        return list(events)

    got = order(decode_ahead=True)
    assert got[:4] == [("ahead", "synth_00001.mp4"), ("maps", "synth_00000.mp4"),
                       ("score", "synth_00000.mp4"), ("score", "synth_00000.mp4")], got
    got = order()                                       # on the CPU: while scoring
    assert got[:4] == [("maps", "synth_00000.mp4"), ("ahead", "synth_00001.mp4"),
                       ("score", "synth_00000.mp4"), ("score", "synth_00000.mp4")], got
    assert [e for e in got if e[0] == "ahead"] == [("ahead", "synth_00001.mp4"), ("ahead", "synth_00002.mp4")]
    got = order(decode_ahead=False)
    assert not [e for e in got if e[0] == "ahead"]
    rows = {k: json.loads((tmp_path / f"{k}.json").read_text())["items"] for k in ("True", "None", "False")}
    assert len(rows["False"]) == 18 and rows["True"] == rows["False"] == rows["None"]
    monkeypatch.setattr(runner, "_ahead_depth", lambda: 2)   # an accelerator with 3 cores
    got = order(decode_ahead="models")
    assert [e for e in got if e[0] != "score"] == [
        ("ahead", "synth_00001.mp4"), ("ahead", "synth_00002.mp4"), ("maps", "synth_00000.mp4"),
        ("maps", "synth_00001.mp4"), ("maps", "synth_00002.mp4")], got
    rows["models"] = json.loads((tmp_path / "models.json").read_text())["items"]
    assert rows["models"] == rows["False"]
    events.clear()
    run_eval(root / "data", ckpts, tmp_path / "c.json", localize=localize_many)  # injected: never
    assert not [e for e in events if e[0] == "ahead"]


def test_decoding_ahead_keeps_the_later_videos_when_one_is_missing(monkeypatch):
    """``_DecodeAhead.take``: a video with nothing started (missing file) leaves the
    decodings of the videos after it alone; one taken closes those skipped before it."""
    from types import SimpleNamespace

    from model_core.evaluation.runner import _DecodeAhead
    from model_core.inference import pipeline

    closed = []

    class Fake:
        def __init__(self, path):
            self.path = path

        def close(self):
            closed.append(self.path)

    monkeypatch.setattr(pipeline, "decode_ahead", lambda locs, path, times, **k: Fake(path))
    seg = [SimpleNamespace(frame_time=0.5)]
    v = [SimpleNamespace(name=f"v{k}", path=None if k == 1 else f"v{k}.mp4", segments=seg) for k in range(5)]
    with _DecodeAhead([], "models", depth=3) as ahead:
        ahead.start(v[1:4], "models")       # the next 3; v1 has no file: v2, v3 start
        assert list(ahead.pending) == ["v2", "v3"]
        assert ahead.take(v[1]) is None and list(ahead.pending) == ["v2", "v3"] and not closed
        ahead.start(v[2:], "scoring")       # not this run's moment
        assert list(ahead.pending) == ["v2", "v3"]
        assert ahead.take(v[3]).path == "v3.mp4" and closed == ["v2.mp4"]
        ahead.start(v[4:], "models")
    assert closed == ["v2.mp4", "v4.mp4"]   # the one never taken is closed on the way out
