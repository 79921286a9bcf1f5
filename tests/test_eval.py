"""The evaluation runner with fake localizers: decode once per video for every head,
error rows, the items log and --resume, progress and JSON lines, AVE mode.

The fake ``localize`` stands in for ``model_core.inference.localize_many``; it records
its calls and returns known maps: the column gradient (peak on the right) for head ``a``
and its mirror for head ``b``, so the expected cIoU values are those of
test_metrics_localization (111/112 for a right-half box, 0 for the mirror).
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from model_core.errors import InputError, MediaError
from model_core.evaluation import EvalOptions, head_names, load_eval_set, run_eval
from model_core.evaluation.distributed import Dist
from model_core.evaluation.store import ItemsLog, log_path, read_logs
from model_core.formats import AvsolE, Box, Segment, VideoAnnotation, save_avsol_e
from model_core.inference import VideoMaps

from fakes import FakeModel

GRAD = np.tile(np.arange(224, dtype=np.float32) / 223, (224, 1))
CLASSES = ["bell", "drum"]


class FakeLocalize:
    """Records calls; fails on videos named in ``bad``; raises KeyboardInterrupt (a kill)
    once ``kill_after`` videos have been done."""

    def __init__(self, bad=(), kill_after=None):
        self.calls: list[tuple[str, tuple[str, ...], int]] = []
        self.bad, self.kill_after = set(bad), kill_after

    def __call__(self, locs, path, times, cancel=None, **kw):
        name = Path(path).name
        if self.kill_after is not None and len(self.calls) >= self.kill_after:
            raise KeyboardInterrupt
        self.calls.append((name, tuple(loc.name for loc in locs), len(times)))
        if name in self.bad:
            raise MediaError(path, "cannot decode the video stream")
        n = len(times)
        out = {}
        for loc in locs:
            m = GRAD if loc.name == "a" else GRAD[:, ::-1]
            out[loc.name] = VideoMaps(np.asarray(times, float), np.stack([m] * n),
                                      np.full(n, 0.8 if loc.name == "a" else 0.2, np.float32),
                                      np.tile(np.array([0.9, 0.1], np.float32), (n, 1)), False)
        return out


def make_set(root: Path, n_videos=4, absent=("v3.mp4",)) -> Path:
    vids = []
    for i in range(n_videos):
        name = f"v{i}.mp4"
        vids.append(VideoAnnotation(name, CLASSES[i % 2], (
            Segment(0, 1, 0.5, True, sounding=(Box(0.5, 0, 1, 1),)),
            Segment(1, 2, 1.5, False))))
        if name not in absent:
            (root / "videos").mkdir(parents=True, exist_ok=True)
            (root / "videos" / name).write_bytes(b"not decoded by the fake")
    save_avsol_e(AvsolE(tuple(CLASSES), tuple(vids)), root / "avsol-e.json")
    return root


def run(root, out, fake, opts=None, **kw):
    err, stdout = io.StringIO(), io.StringIO()
    res = run_eval(root, [], out, opts or EvalOptions(), localizers=[FakeModel("a", classes=CLASSES), FakeModel("b", classes=CLASSES)],
                   localize=fake, dist=Dist(), err=err, stdout=stdout, **kw)
    return res, err.getvalue(), stdout.getvalue()


def test_each_video_decoded_once_for_all_heads_and_scored(tmp_path):
    root = make_set(tmp_path / "data", absent=("v3.mp4",))
    fake = FakeLocalize(bad={"v2.mp4"})
    out = tmp_path / "rep" / "r.json"
    res, err, _ = run(root, out, fake, EvalOptions(csv=str(tmp_path / "rep" / "r.csv")))
    # one call per present video, carrying both heads and both segment times
    assert fake.calls == [("v0.mp4", ("a", "b"), 2), ("v1.mp4", ("a", "b"), 2), ("v2.mp4", ("a", "b"), 2)]
    rep = json.loads(out.read_text())
    assert rep == res.report
    a, b = rep["heads"]["a"], rep["heads"]["b"]
    assert (a["n_total"], a["n_items"], a["n_missing"], a["n_failed"]) == (8, 4, 2, 2)
    assert a["ciou@0.5"] == 1.0 and a["mean_ciou"] == pytest.approx(111 / 112)
    assert b["ciou@0.5"] == 0.0 and b["failures"]["miss"] == 2
    assert a["background"]["false_alarm_rate"] == 1.0 and b["background"]["false_alarm_rate"] == 0.0
    assert a["classification"]["accuracy"] == 0.5            # always "bell"; v1 is a drum
    rows = rep["items"]
    assert [r["status"] for r in rows[:8]] == ["failed"] * 4 + ["missing"] * 4
    assert "cannot decode" in rows[0]["error"] and rows[4]["error"] == "video file not found"
    assert {(r["video"], r["time"]) for r in rows if r["status"] == "missing"} == {("v3.mp4", 0.5), ("v3.mp4", 1.5)}
    assert "v2.mp4: failed" in err and "v3.mp4: missing" in err
    assert rep["meta"]["complete"] and rep["meta"]["mode"] == "avsol-e"
    assert (tmp_path / "rep" / "r.csv").read_text().count("\n") == 17
    assert log_path(out).exists()


def test_resume_after_kill_redoes_nothing_done(tmp_path):
    root = make_set(tmp_path / "data", n_videos=5, absent=())
    out = tmp_path / "r.json"
    with pytest.raises(KeyboardInterrupt):
        run(root, out, FakeLocalize(kill_after=2))
    assert not out.exists()
    assert sorted(read_logs([log_path(out)])) == ["v0.mp4", "v1.mp4"]
    with open(log_path(out), "ab") as fh:        # a kill in the middle of writing v2's line
        fh.write(b'{"kind": "video", "video": "v2.mp4", "rows": [{"vid')
    fake = FakeLocalize()
    res, err, _ = run(root, out, fake, EvalOptions(resume=True))
    assert [c[0] for c in fake.calls] == ["v2.mp4", "v3.mp4", "v4.mp4"]
    assert "resuming, 2 of 5 videos already done" in err
    assert res.report["heads"]["a"]["n_items"] == 10 and res.report["meta"]["complete"]
    lines = log_path(out).read_text().splitlines()
    assert len(lines) == 6 and all(json.loads(x) for x in lines)   # torn tail cut off
    # resuming a finished run evaluates nothing and rewrites the same numbers
    fake2 = FakeLocalize()
    res2, _, _ = run(root, out, fake2, EvalOptions(resume=True))
    assert fake2.calls == [] and res2.report["heads"] == res.report["heads"]
    # without --resume everything is redone
    fake3 = FakeLocalize()
    run(root, out, fake3)
    assert len(fake3.calls) == 5


def test_resume_refuses_a_log_of_other_settings(tmp_path):
    root = make_set(tmp_path / "data", n_videos=2, absent=())
    out = tmp_path / "r.json"
    run(root, out, FakeLocalize())
    with pytest.raises(InputError, match="other checkpoints, annotations or settings"):
        run(root, out, FakeLocalize(), EvalOptions(resume=True, threshold=0.3))


def test_cancel_keeps_done_videos_and_writes_partial_report(tmp_path):
    root = make_set(tmp_path / "data", n_videos=3, absent=())
    fake = FakeLocalize()
    res, _, _ = run(root, tmp_path / "r.json", fake, cancel=lambda: len(fake.calls) >= 1)
    assert res.cancelled and res.videos_done == 1
    assert not res.report["meta"]["complete"]
    assert any("incomplete: 1 of 3" in n for n in res.report["notes"])
    res2, _, _ = run(root, tmp_path / "r.json", FakeLocalize(), EvalOptions(resume=True))
    assert res2.videos_done == 3 and not res2.cancelled


def test_jsonl_events(tmp_path):
    root = make_set(tmp_path / "data", n_videos=2, absent=())
    out = tmp_path / "r.json"
    _, err, stdout = run(root, out, FakeLocalize(), EvalOptions(jsonl=True))
    events = [json.loads(line) for line in stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "progress" and kinds[-1] == "done" and events[-1]["report"] == str(out)
    prog = [e for e in events if e["event"] == "progress"]
    assert [(e["done"], e["total"]) for e in prog] == [(0, 2), (1, 2), (2, 2)]
    items = [e for e in events if e["event"] == "item"]
    assert len(items) == 8 and {"video", "time", "head", "ciou", "hit", "failure"} <= set(items[0])
    assert "eval: 2/2 videos" in err              # plain lines on a non-terminal


def test_ave_folder_scores_background_and_classification_only(tmp_path):
    root = tmp_path / "ave"
    (root / "videos").mkdir(parents=True)
    (root / "Annotations.txt").write_text("Category&VideoID&Quality&StartTime&EndTime\n"
                                          "bell&x1&good&0&3\ndrum&x2&good&2&10\n")
    (root / "videos" / "x1.mp4").write_bytes(b"fake")
    es = load_eval_set(root)
    assert es.mode == "ave" and [len(v.segments) for v in es.videos] == [10, 10]
    assert [s.event for s in es.videos[0].segments][:4] == [True, True, True, False]
    fake = FakeLocalize()
    res, _, _ = run(root, tmp_path / "r.json", fake)
    h = res.report["heads"]["a"]
    assert h["n_localized"] == 0 and h["ciou@0.5"] is None and h["n_no_gt"] == 3
    assert h["background"]["n_items"] == 7 and h["background"]["false_alarm_rate"] == 1.0
    assert h["n_missing"] == 10                                       # x2.mp4 absent
    assert h["classification"]["n_items"] == 3 and h["classification"]["accuracy"] == 1.0
    assert any("AVE annotations have no boxes" in n for n in res.report["notes"])


def test_eval_set_errors_and_head_names(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_eval_set(tmp_path / "nope")
    with pytest.raises(InputError, match="no annotations"):
        load_eval_set(tmp_path)
    assert head_names(["r/a/best.pt", "r/b/best.pt", "x/dnm.pt"]) == ["a/best", "b/best", "x/dnm"]
    assert head_names(["avc.pt", "cls.pt"]) == ["avc", "cls"]
    assert head_names(["a/x.pt", "a/x.pt"]) == ["a/x", "a/x#2"]


def test_items_log_header_written_once(tmp_path):
    p = tmp_path / "r.items.jsonl"
    hdr = {"kind": "header", "fingerprint": {"x": 1}}
    with ItemsLog(p, hdr, resume=False) as log:
        log.append_video("v.mp4", [{"video": "v.mp4"}])
    with ItemsLog(p, hdr, resume=True) as log:
        log.append_video("w.mp4", [])
    assert [json.loads(x)["kind"] for x in p.read_text().splitlines()] == ["header", "video", "video"]
    assert read_logs([p], hdr) == {"v.mp4": [{"video": "v.mp4"}], "w.mp4": []}


def test_progress_bar_on_a_terminal_and_plain_lines_otherwise():
    from model_core.evaluation.progress import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty, out = Tty(), io.StringIO()
    p = Progress(2, jsonl=True, err=tty, out=out)
    p.resumed(0, 0)
    p.advance("a.mp4", 3)
    p.advance("b.mp4", 3)
    text = tty.getvalue()
    assert "2/2" in text and "videos" in text and text.endswith("\n")
    try:
        import tqdm  # noqa: F401
    except ImportError:
        pass          # a terminal without tqdm installed gets the plain lines
    else:
        assert "\r" in text  # tqdm's bar, redrawn in place
    assert [json.loads(x)["done"] for x in out.getvalue().splitlines()] == [0, 1, 2]
    plain = io.StringIO()
    q = Progress(3, err=plain, out=io.StringIO())
    for v in "abc":
        q.advance(v, 1)
    lines = plain.getvalue().splitlines()
    assert "\r" not in plain.getvalue() and lines[0].startswith("eval: 1/3") and lines[-1].startswith("eval: 3/3")
    assert len(lines) == 2        # throttled: the first line, then the last
