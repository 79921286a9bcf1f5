"""``avsol metrics``: matching maps to segments, missing / unmatched items, bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest

from model_core.cli import main
from model_core.formats import AvsolE, Box, Segment, VideoAnnotation, save_avsol_e
from model_core.maps_file import save_maps

GRAD = np.tile(np.arange(224, dtype=np.float32) / 223, (224, 1))


@pytest.fixture()
def annotations(tmp_path):
    ann = AvsolE(classes=("bell", "drum"), videos=(
        VideoAnnotation("a.mp4", "bell", (
            Segment(0, 1, 0.5, True, sounding=(Box(0.5, 0, 1, 1),)),
            Segment(1, 2, 1.5, False),
            Segment(2, 3, 2.5, True, sounding=(Box(0, 0, 0.5, 1),)))),
        VideoAnnotation("b.mp4", "drum", (Segment(4, 5, 4.5, True, sounding=(Box(0.5, 0, 1, 1),)),)),
    ))
    path = tmp_path / "ann.json"
    save_avsol_e(ann, path)
    return path


def test_metrics_matches_maps_reports_missing_and_unmatched(tmp_path, annotations, capsys):
    maps = np.stack([GRAD, GRAD, 1 - GRAD, GRAD, GRAD, GRAD])
    videos = ["a.mp4", "a.mp4", "a.mp4", "a.mp4", "c.mp4", "a.mp4"]
    # 0.2 and 0.6 fall in [0, 1): 0.6 is nearer to 0.5 and wins (map 1); 0.2 is unused.
    # 1.0 is in [1, 2) (start inclusive); 2.99 in [2, 3); c.mp4 is not annotated;
    # 3.0 is in no segment (end exclusive). b.mp4 has no map: missing.
    times = [0.2, 0.6, 1.0, 2.99, 0.5, 3.0]
    save_maps(tmp_path / "m.npz", maps, videos, np.array(times), head="dnm",
              extra={"p_avc": np.array([0.1, 0.2, 0.7, 0.3, 0.5, 0.5], np.float32)})
    out, csv = tmp_path / "r.json", tmp_path / "r.csv"
    rc = main(["metrics", "--maps", str(tmp_path / "m.npz"), "--annotations", str(annotations),
               "--out", str(out), "--csv", str(csv)])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "unmatched map: c.mp4 at 0.5 s (video not in the annotations)" in stdout
    assert "unmatched map: a.mp4 at 3 s (time outside every annotated segment)" in stdout
    rep = json.loads(out.read_text())
    h = rep["heads"]["dnm"]
    assert (h["n_total"], h["n_items"], h["n_missing"], h["n_failed"], h["n_localized"]) == (4, 3, 1, 0, 2)
    assert rep["unmatched"]["n_unmatched"] == 2 and rep["unmatched"]["n_unused"] == 1
    rows = {(r["video"], r["start"]): r for r in rep["items"]}
    assert rows[("a.mp4", 0)]["time"] == 0.6 and rows[("a.mp4", 0)]["ciou"] == pytest.approx(111 / 112)
    assert rows[("a.mp4", 1)]["failure"] == "false_alarm" and rows[("a.mp4", 1)]["p_avc"] == pytest.approx(0.7)
    assert rows[("a.mp4", 2)]["ciou"] == 0.0 and rows[("a.mp4", 2)]["time"] == 2.99
    assert rows[("b.mp4", 4)]["status"] == "missing" and rows[("b.mp4", 4)]["time"] == 4.5
    assert rep["items"][0]["status"] == "missing"
    assert h["ciou@0.5"] == 0.5 and h["background"]["false_alarm_rate"] == 1.0
    assert rep["meta"]["annotations"] == str(annotations.resolve())
    assert csv.read_text().count("\n") == 5


def test_metrics_without_p_avc_and_head_from_file_name(tmp_path, annotations, capsys):
    save_maps(tmp_path / "mine.npz", np.stack([GRAD]), ["a.mp4"], np.array([1.5]))
    rc = main(["metrics", "--maps", str(tmp_path / "mine.npz"), "--annotations", str(annotations),
               "--out", str(tmp_path / "r.json")])
    assert rc == 0
    rep = json.loads((tmp_path / "r.json").read_text())
    h = rep["heads"]["mine"]
    assert h["background"]["n_items"] == 0 and h["background"]["false_alarm_rate"] is None
    assert h["n_items"] == 1 and h["n_missing"] == 3 and h["ciou@0.5"] is None
    assert any("p_avc" in n for n in rep["notes"])


def test_metrics_refuses_pickled_npz_and_bad_annotations(tmp_path, annotations, capsys):
    bad = tmp_path / "pickled.npz"
    np.savez(bad, maps=np.zeros((1, 7, 7), np.float32), videos=np.array(["a.mp4"], dtype=object),
             times=np.zeros(1))
    rc = main(["metrics", "--maps", str(bad), "--annotations", str(annotations),
               "--out", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert rc == 2 and str(bad) in err and "pickle" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.json").exists()
    (tmp_path / "bad.json").write_text("{}")
    save_maps(tmp_path / "m.npz", np.zeros((1, 7, 7)), ["a.mp4"], np.zeros(1))
    rc = main(["metrics", "--maps", str(tmp_path / "m.npz"), "--annotations",
               str(tmp_path / "bad.json"), "--out", str(tmp_path / "r.json")])
    assert rc == 2 and "bad.json" in capsys.readouterr().err
    rc = main(["metrics", "--maps", str(tmp_path / "m.npz"), "--annotations", str(annotations),
               "--out", str(tmp_path / "r.json"), "--threshold", "1.5"])
    assert rc == 2


# --- metrics --report: hand-edited reports and provenance (issue 26) -------------------------
@pytest.fixture()
def scored(tmp_path, annotations):
    """A metrics report over ``annotations``: 3 scored items of a.mp4, b.mp4 missing."""
    save_maps(tmp_path / "m.npz", np.stack([GRAD, 1 - GRAD, GRAD]), ["a.mp4"] * 3, np.array([0.5, 1.5, 2.5]),
              head="dnm", extra={"p_avc": np.array([0.9, 0.7, 0.8], np.float32)})
    out = tmp_path / "r.json"
    assert main(["metrics", "--maps", str(tmp_path / "m.npz"), "--annotations", str(annotations),
                 "--out", str(out)]) == 0
    return out


def test_the_report_pins_its_annotations_and_maps(scored, annotations, tmp_path):
    import hashlib

    meta = json.loads(scored.read_text())["meta"]
    assert meta["annotations_sha256"] == hashlib.sha256(annotations.read_bytes()).hexdigest()
    assert meta["maps_sha256"] == hashlib.sha256((tmp_path / "m.npz").read_bytes()).hexdigest()


@pytest.mark.parametrize("edit, problem", [
    (lambda d: d["items"][1].update(ciou="abc"), "items[1].ciou: not a number"),
    (lambda d: d["items"][1].update(time=float("inf")), "items[1].time: not a finite number"),
    (lambda d: d["items"][1].update(map="7x7:####"), "items[1].map: not valid base64"),
    (lambda d: d["items"][0].update(head=[1]), "items[0].head: not a string"),
    (lambda d: d["heads"].update(dnm=[1]), "heads.dnm: not an object"),
    (lambda d: d.update(items=[[[[[[[[[[[]]]]]]]]]]]), "items[0]: not an object"),
])
def test_rescoring_a_hand_edited_report_exits_2_with_one_located_line(scored, tmp_path, capsys, edit, problem):
    doc = json.loads(scored.read_text())
    edit(doc)
    scored.write_text(json.dumps(doc, allow_nan=True))
    capsys.readouterr()
    assert main(["metrics", "--report", str(scored), "--threshold", "top-gt", "--out", str(tmp_path / "n.json")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"r.json: {problem}" in err
    assert not (tmp_path / "n.json").exists()


def test_deeply_nested_json_is_one_line(tmp_path, capsys):
    bad = tmp_path / "r.json"
    bad.write_text("{\"a\": " * 100_000 + "1" + "}" * 100_000)
    assert main(["metrics", "--report", str(bad), "--threshold", "top-gt", "--out", str(tmp_path / "n.json")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "r.json: not a JSON report: nested too deeply" in err


def test_rescoring_stops_when_the_annotations_changed(scored, annotations, tmp_path, capsys):
    from model_core.formats import load_avsol_e

    ann = load_avsol_e(annotations)                                    # a box edited in place
    first = ann.videos[0]
    moved = (Segment(0, 1, 0.5, True, sounding=(Box(0, 0, 0.5, 1),)),) + tuple(first.segments[1:])
    save_avsol_e(AvsolE(ann.classes, (VideoAnnotation(first.video, first.category, moved),) + ann.videos[1:]),
                 annotations)
    capsys.readouterr()
    new = tmp_path / "n.json"
    assert main(["metrics", "--report", str(scored), "--threshold", "top-gt", "--out", str(new)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "changed since the report was scored" in err
    assert "--allow-changed-annotations" in err and not new.exists()
    assert main(["metrics", "--report", str(scored), "--threshold", "top-gt", "--out", str(new),
                 "--allow-changed-annotations"]) == 0
    meta = json.loads(new.read_text())["meta"]
    assert meta["annotations_changed"]["was"] == json.loads(scored.read_text())["meta"]["annotations_sha256"]
    assert "note: annotations changed: rescored against" in capsys.readouterr().out
