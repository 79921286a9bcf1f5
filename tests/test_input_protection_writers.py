"""Input protection, every writer against every input (issue 26 items 1 and 7).

Every writer (``avsol synth/import/train/infer/metrics/eval/compare``, ``avsol-viewer
--screenshot``, and the viewer's export video, live recording, report/CSV export, contact
sheet and screenshot) is run against every kind of file a command reads: a video or
picture of the data folder, a video anywhere, the annotation and split files, the files
beside an annotation file, a checkpoint, what a report's ``meta`` points at, and each of
those behind a symbolic or hard link. Each must refuse before any work: exit 2 (or an
``InputError`` in the viewer) with one line naming the file, and every file byte for byte
as it was. The files (``input_world``): ``input_protection_support.py``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from input_protection_support import make_link, snapshot
from model_core.cli import main
from model_core.errors import InputError
from model_core.input_protection import mark_image

# -- every writer against every kind of input ---------------------------------------------

#: Every kind of input a command reads, as the output path to try (some behind links).
TARGETS = {
    "data video": lambda w: w["data video"],
    "data picture": lambda w: w["data picture"],
    "video anywhere": lambda w: w["video anywhere"],
    "AVSOL-E annotations": lambda w: w["AVSOL-E annotations"],
    "AVE annotations": lambda w: w["AVE annotations"],
    "split file": lambda w: w["split file"],
    "video beside the annotations": lambda w: w["video beside the annotations"],
    "split beside the annotations": lambda w: w["split beside the annotations"],
    "checkpoint": lambda w: w["checkpoint"],
    "foreign checkpoint": lambda w: w["foreign checkpoint"],
    "symlink to a data video": lambda w: make_link(w, "data video", "link-out.png", soft=True),
    "symlink to the annotations": lambda w: make_link(w, "AVSOL-E annotations", "link-out.json", soft=True),
    "hard link to a data video": lambda w: make_link(w, "data video", "hard-out.png"),
    "hard link to the annotations": lambda w: make_link(w, "AVSOL-E annotations", "hard-out.json"),
    "hard link to the checkpoint": lambda w: make_link(w, "checkpoint", "hard-out.npz"),
}
#: Inputs of no protected kind that only the command's declaration protects: for the
#: writers that read the reports.
REPORT_TARGETS = {
    "the report read": lambda w: w["R.json"],
    "a file the report's meta names": lambda w: w["report sidecar"],
    "hard link to the report's sidecar": lambda w: make_link(w, "report sidecar", "hard-out.csv"),
}



def _viewer(argv) -> int:
    from avsol_viewer.app import main as viewer_main

    return viewer_main([str(a) for a in argv])


#: (name, reads the reports, run(input_world, out) -> exit status)
CLI_WRITERS = [
    ("synth OUT", False, lambda w, o: main(["synth", str(o), "--videos", "1", "--seed", "0"])),
    ("import --out", False, lambda w, o: main(["import", "vggss", str(w["vggss"]), "--out", str(o)])),
    ("train --out", False, lambda w, o: main(["train", str(w["data"]), "--head", "avc", "--epochs", "1",
                                              "--visual-init", str(w["foreign checkpoint"]), "--out", str(o)])),
    ("infer --out", False, lambda w, o: main(["infer", str(w["data video"]), "--checkpoint", str(w["checkpoint"]),
                                              "--out", str(o)])),
    ("metrics --maps --out", False, lambda w, o: main(["metrics", "--maps", str(w["maps"]), "--annotations",
                                                       str(w["annotations elsewhere"]), "--out", str(o)])),
    ("metrics --maps --csv", False, lambda w, o: main(["metrics", "--maps", str(w["maps"]), "--annotations",
                                                       str(w["annotations elsewhere"]), "--out",
                                                       str(w["data"].parent / "fresh.json"), "--csv", str(o)])),
    ("metrics --report --out", True, lambda w, o: main(["metrics", "--report", str(w["R.json"]), "--threshold",
                                                        "fixed:0.5", "--out", str(o)])),
    ("metrics --report --csv", True, lambda w, o: main(["metrics", "--report", str(w["R.json"]), "--threshold",
                                                        "fixed:0.5", "--out", str(w["data"].parent / "fresh.json"),
                                                        "--csv", str(o)])),
    ("eval --out", False, lambda w, o: main(["eval", str(w["data"]), "--checkpoint", str(w["checkpoint"]),
                                             "--out", str(o)])),
    ("eval --csv", False, lambda w, o: main(["eval", str(w["data"]), "--checkpoint", str(w["checkpoint"]),
                                             "--out", str(w["data"].parent / "fresh.json"), "--csv", str(o)])),
    ("compare --out", True, lambda w, o: main(["compare", str(w["R.json"]), str(w["R2.json"]), "--out", str(o)])),
    ("avsol-viewer --screenshot", False, lambda w, o: _viewer([w["data video"], "--screenshot", o])),
]


#: Not an input of that writer, and of the kind it writes: allowed (see
#: test_input_protection_kinds.py's test_outputs_replace_their_own_earlier_kind_only).
#: ``avsol train`` reads no checkpoint but its --visual-init (the foreign checkpoint,
#: which it refuses) and replaces a checkpoint written by avsol train, as a rerun of the
#: same command does.
OWN_KIND = {("train --out", "checkpoint"), ("train --out", "hard link to the checkpoint")}


#: The output check's refusals (and, for synth and the screenshot, the checks before it:
#: OUT must be a folder, a screenshot an image name): not some later failure.
REFUSALS = ("refused", "also an input", "is a file, not a folder", "--screenshot must end in")


def _cases(writers):
    for name, reads_reports, run in writers:
        targets = {**TARGETS, **(REPORT_TARGETS if reads_reports else {})}
        for target in targets:
            if (name, target) not in OWN_KIND:
                yield pytest.param(run, targets[target], id=f"{name} x {target}")


@pytest.mark.parametrize("run, target", list(_cases(CLI_WRITERS)))
def test_every_cli_writer_refuses_every_input(input_world, capsys, run, target):
    out = target(input_world)
    before = snapshot(input_world)
    assert run(input_world, out) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert str(out) in lines[0] or Path(out).name in lines[0], lines[0]
    assert any(w in lines[0] for w in REFUSALS), lines[0]
    assert snapshot(input_world) == before
    if Path(out).is_symlink():
        assert Path(out).resolve().read_bytes() == before[Path(out).resolve()]


def test_the_issue_26_data_losses_are_refused(input_world, capsys):
    """The four findings of issue 26 that destroyed files with exit 0, as the issue ran them."""
    w = {k: str(v) for k, v in input_world.items()}
    before = snapshot(input_world)
    runs = [
        ["metrics", "--report", w["R.json"], "--threshold", "fixed:0.5", "--out", w["AVSOL-E annotations"]],
        ["metrics", "--report", w["R.json"], "--threshold", "fixed:0.5", "--out", w["data video"]],
        ["metrics", "--report", w["R.json"], "--threshold", "fixed:0.5", "--out", w["data"] + "/r.json",
         "--csv", w["AVE annotations"]],
        ["metrics", "--maps", w["maps"], "--annotations", w["annotations elsewhere"], "--out",
         w["video beside the annotations"]],
        ["metrics", "--maps", w["maps"], "--annotations", w["annotations elsewhere"], "--out",
         w["split beside the annotations"]],
        ["compare", w["R.json"], w["R2.json"], "--out", w["data video"]],
        ["compare", w["R.json"], w["R2.json"], "--out", w["split file"]],
        ["compare", w["R.json"], w["R2.json"], "--out", w["checkpoint"]],
        ["infer", w["data video"], "--checkpoint", w["checkpoint"], "--out", w["video anywhere"]],
    ]
    for argv in runs:
        assert main(argv) == 2, argv
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert snapshot(input_world) == before


def test_viewer_training_checkpoints_never_replace_a_foreign_file(input_world, capsys):
    """The viewer's Train runs ``avsol train`` per head into ``OUT_DIR/HEAD.pt``."""
    from avsol_viewer.train.train_job import TrainRequest

    out_dir = input_world["data"].parent / "runs"
    out_dir.mkdir()
    (out_dir / "avc.pt").write_bytes(input_world["foreign checkpoint"].read_bytes())
    before = snapshot(input_world)
    assert main(TrainRequest(str(input_world["data"]), ("avc",), 1, str(out_dir)).args("avc")) == 2
    assert "a checkpoint" in capsys.readouterr().err
    assert snapshot(input_world) == before


def test_screenshot_of_a_report_never_replaces_what_the_report_names(input_world, capsys):
    """``avsol-viewer REPORT.json --screenshot`` reads what the report's meta names: even an
    image of ours (replaceable by kind) is refused when the report names it."""
    import cv2

    shot = input_world["data"].parent / "shot.png"
    shot.write_bytes(mark_image(cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))[1].tobytes()))
    report = json.loads(input_world["R.json"].read_text())
    report["meta"]["maps"] = str(shot)
    input_world["R.json"].write_text(json.dumps(report))
    before = snapshot(input_world)
    assert _viewer([input_world["R.json"], "--screenshot", shot]) == 2
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1 and "also an input" in line
    assert snapshot(input_world) == before


# the viewer's writers: they raise InputError (shown in a dialog) before writing anything

def _export_video(w, out):
    from avsol_viewer.export.export_video import ExportJob, export_video

    export_video(ExportJob(video_path=str(w["data video"]), video_key="v", out_path=str(out)))


def _live_record(w, out):
    from model_core.inference.live_record import LiveRecorder

    rec = LiveRecorder(out, {}, 25.0, inputs={"--camera": [w["data video"]]})
    rec.close()                                    # only reached if the check failed to refuse


def _contact_sheet(w, out):
    from avsol_viewer.evaluate.contact_sheet import save_contact_sheet

    save_contact_sheet(json.loads(w["R.json"].read_text()), out, 4)


def _screenshot(w, out):
    from PySide6.QtGui import QImage

    from avsol_viewer.export.screenshot import save_png

    save_png(QImage(8, 8, QImage.Format.Format_RGB32), out)


class _Panel:
    def __init__(self, w):
        self.report = json.loads(w["R.json"].read_text())
        self.report_path = str(w["R.json"])
        self.source_path = str(w["R.json"])


class _Context:
    """What ``export_report`` asks of the window's context: the evaluation feature (the
    panel shown) and the error line."""

    def __init__(self, w):
        self.evaluation = type("E", (), {"panel": _Panel(w)})()
        self.errors: list[str] = []

    def feature(self, name):
        return {"evaluation": self.evaluation}.get(name)

    def error(self, title, text):
        self.errors.append(text)


def _export_report(kind):
    def run(w, out):
        from avsol_viewer.evaluate.commands import export_report

        win = _Context(w)
        assert export_report(win, out, kind) is False
        assert len(win.errors) == 1 and "\n" not in win.errors[0]
        raise InputError(out, win.errors[0])
    return run


VIEWER_WRITERS = [
    ("export overlay video", False, _export_video),
    ("live recording", False, _live_record),
    ("contact sheet", True, _contact_sheet),
    ("screenshot", False, _screenshot),
    ("export report JSON", True, _export_report("json")),
    ("export report CSV", True, _export_report("csv")),
]


@pytest.mark.parametrize("run, target", list(_cases(VIEWER_WRITERS)))
def test_every_viewer_writer_refuses_every_input(input_world, qapp, run, target):
    out = target(input_world)
    before = snapshot(input_world)
    with pytest.raises(InputError) as err:
        run(input_world, out)
    assert "\n" not in str(err.value) and Path(out).name in str(err.value)
    assert "refused" in str(err.value) or "also an input" in str(err.value), str(err.value)
    assert snapshot(input_world) == before

