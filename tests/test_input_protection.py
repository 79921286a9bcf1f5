"""One input-protection rule for every writer (issue 26 items 1 and 7).

Every writer (``avsol synth/import/train/infer/metrics/eval/compare``, ``avsol-viewer
--screenshot``, and the viewer's export video, live recording, report/CSV export, contact
sheet and screenshot) is run against every kind of file a command reads: a video or
picture of the data folder, a video anywhere, the annotation and split files, the files
beside an annotation file, a checkpoint, what a report's ``meta`` points at, and each of
those behind a symbolic or hard link. Each must refuse before any work: exit 2 (or an
``InputError`` in the viewer) with one line naming the file, and every file byte for byte
as it was. The refusals come before anything is decoded, so the inputs are small files
with the right first bytes (content sniffing is part of what is tested).

The second half pins the README's promises: one test per bullet of "What every command
promises", named after it, and a test that the list and the tests stay one to one.
"""
from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from model_core.cli import main
from model_core.errors import InputError
from model_core.input_protection import (ANNOTATIONS, CHECKPOINT, ITEM_TABLE, ITEMS_LOG, MAPS, MEDIA,
                                         OWN_CHECKPOINT, OWN_IMAGE, OWN_VIDEO, REPORT, SPLIT, identify,
                                         input_problem, mark_image, report_inputs)
from model_core.outputs.checks import check_outputs, check_writable_output

REPO = Path(__file__).resolve().parents[1]
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
AVSOL_E = {"format": "avsol-e", "version": 1, "classes": ["cat"], "videos": []}


def _torch_zip(marker: bytes) -> bytes:
    """The shape of a ``torch.save`` file: a zip holding ``archive/data.pkl``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00(X\x06\x00\x00\x00format" + marker + b"u.")
        z.writestr("archive/version", b"3\n")
    return buf.getvalue()


def _npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, maps=np.zeros((1, 2, 2), np.float32), times=np.zeros(1))
    return buf.getvalue()


@pytest.fixture
def world(tmp_path) -> dict[str, Path]:
    """A data folder (AVE + AVSOL-E), an annotation file with videos beside it, a video
    elsewhere, checkpoints (ours and a foreign state dict), a maps file, a VGG-SS source,
    and two reports whose meta point at the data, annotations, checkpoint and a sidecar of
    no known kind (only the declaration protects that one)."""
    t = tmp_path
    data, videos, ann, other = t / "data", t / "data" / "videos", t / "ann", t / "other"
    for d in (videos, ann, other):
        d.mkdir(parents=True)
    f: dict[str, Path] = {
        "data video": videos / "v.mp4", "data picture": videos / "p.jpg", "video anywhere": other / "B.mp4",
        "AVSOL-E annotations": data / "avsol-e.json", "AVE annotations": data / "Annotations.txt",
        "split file": data / "trainSet.txt", "annotations elsewhere": ann / "labels.json",
        "video beside the annotations": ann / "clip.mp4", "split beside the annotations": ann / "valSet.txt",
        "checkpoint": t / "m.pt", "foreign checkpoint": t / "init.pth", "maps": t / "m.npz",
        "vggss": t / "vggss.json", "report sidecar": t / "notes.dat",
    }
    content = {"data video": MP4, "data picture": JPEG, "video anywhere": MP4, "video beside the annotations": MP4,
               "AVSOL-E annotations": json.dumps(AVSOL_E).encode(), "annotations elsewhere": json.dumps(AVSOL_E).encode(),
               "AVE annotations": b"Category&VideoID&Quality&StartTime&EndTime\n", "split file": b"",
               "split beside the annotations": b"cat&v&good&0&1\n", "checkpoint": _torch_zip(b"X\x10\x00\x00\x00avsol-checkpoint"),
               "foreign checkpoint": _torch_zip(b"X\x05\x00\x00\x00other"), "maps": _npz(),
               "vggss": json.dumps([{"file": "abc", "class": "cat", "bbox": [[0.1, 0.2, 0.5, 0.6]]}]).encode(),
               "report sidecar": b"some notes the report's meta names\n"}
    for k, p in f.items():
        p.write_bytes(content[k])
    for name in ("valSet.txt", "testSet.txt"):
        (data / name).write_bytes(b"")
    for name, extra in (("R.json", {}), ("R2.json", {"threshold": "fixed:0.5"})):
        report = {"format": "avsol-report", "version": 1,
                  "meta": {"command": "eval", "data": str(data), "annotations": str(f["AVSOL-E annotations"]),
                           "maps": str(f["report sidecar"]), "checkpoints": [{"name": "m", "path": str(f["checkpoint"])}],
                           **extra},
                  "heads": {}, "items": [], "notes": []}
        f[name] = t / name
        f[name].write_text(json.dumps(report))
    f["data"] = data
    return f


def snapshot(world) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in world["data"].parent.rglob("*") if p.is_file() and not p.is_symlink()}


# -- what a file is ---------------------------------------------------------------------------

@pytest.mark.parametrize("key, kind", [
    ("data video", MEDIA), ("data picture", MEDIA), ("AVSOL-E annotations", ANNOTATIONS),
    ("AVE annotations", ANNOTATIONS), ("split file", SPLIT), ("annotations elsewhere", ANNOTATIONS),
    ("checkpoint", OWN_CHECKPOINT), ("foreign checkpoint", CHECKPOINT), ("maps", MAPS), ("R.json", REPORT),
    ("report sidecar", None)])
def test_identify_by_name_and_content(world, key, kind):
    assert identify(world[key]) == kind


def test_identify_sees_through_a_rename_by_content(world, tmp_path):
    """A hard link or a renamed copy keeps its bytes: a video named .json is still a video."""
    for key, kind in (("data video", MEDIA), ("annotations elsewhere", ANNOTATIONS), ("checkpoint", OWN_CHECKPOINT),
                      ("maps", MAPS), ("R.json", REPORT)):
        alias = tmp_path / f"alias-{key.replace(' ', '-')}.dat"
        os.link(world[key], alias)
        assert identify(alias) == kind, key
    table, log = tmp_path / "t.csv", tmp_path / "r.items.jsonl"
    table.write_text("video,time,head,start,end,status\n")
    log.write_text('{"kind": "header", "fingerprint": "x"}\n')
    assert (identify(table), identify(log)) == (ITEM_TABLE, ITEMS_LOG)


def test_benchmark_sources_and_hand_written_annotations_are_annotations(world, tmp_path):
    """VGG-SS JSON and Flickr XML (what ``avsol import`` reads), and an AVSOL-E file whose
    "format" comes last (hand-written, 300 kB of videos first), under any name."""
    xml = tmp_path / "1000.xml"
    xml.write_text('<?xml version="1.0"?>\n<annotation><object><bndbox/></object></annotation>\n')
    late = tmp_path / "labels.json"
    videos = [{"video": f"v{i}.mp4", "segments": []} for i in range(10000)]
    late.write_text(json.dumps({"videos": videos, "classes": ["cat"], "version": 1, "format": "avsol-e"}))
    assert late.stat().st_size > 300_000
    for p in (world["vggss"], xml, late):
        assert identify(p) == ANNOTATIONS, p
        with pytest.raises(InputError, match="annotation file"):
            check_writable_output(p, "report")


def test_own_images_and_videos_carry_a_mark(tmp_path):
    import cv2

    for ext in (".png", ".jpg"):
        ok, buf = cv2.imencode(ext, np.full((8, 8, 3), 77, np.uint8))
        plain, ours = tmp_path / f"plain{ext}", tmp_path / f"ours{ext}"
        plain.write_bytes(buf.tobytes())
        ours.write_bytes(mark_image(buf.tobytes()))
        assert identify(plain) == MEDIA and identify(ours) == OWN_IMAGE
        assert np.array_equal(cv2.imread(str(ours)), cv2.imread(str(plain)))     # the picture is the same
    from model_core.input_protection import OWN_VIDEO_METADATA
    from model_core.media.writer import Mp4Writer

    for name, meta in (("plain.mp4", None), ("ours.mp4", OWN_VIDEO_METADATA)):
        w = Mp4Writer(tmp_path / name, (16, 16), 25, metadata=meta)
        w.picture(np.zeros((16, 16, 3), np.uint8))
        w.close(True)
    assert identify(tmp_path / "plain.mp4") == MEDIA and identify(tmp_path / "ours.mp4") == OWN_VIDEO


def test_a_report_declares_what_its_meta_points_at(world):
    declared = {Path(p).resolve() for p in report_inputs(world["R.json"])}
    for key in ("R.json", "AVSOL-E annotations", "AVE annotations", "split file", "data video", "data picture",
                "checkpoint", "report sidecar"):
        assert world[key].resolve() in declared, key


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
    "symlink to a data video": lambda w: _link(w, "data video", "link-out.png", soft=True),
    "symlink to the annotations": lambda w: _link(w, "AVSOL-E annotations", "link-out.json", soft=True),
    "hard link to a data video": lambda w: _link(w, "data video", "hard-out.png"),
    "hard link to the annotations": lambda w: _link(w, "AVSOL-E annotations", "hard-out.json"),
    "hard link to the checkpoint": lambda w: _link(w, "checkpoint", "hard-out.npz"),
}
#: Inputs of no protected kind that only the command's declaration protects: for the
#: writers that read the reports.
REPORT_TARGETS = {
    "the report read": lambda w: w["R.json"],
    "a file the report's meta names": lambda w: w["report sidecar"],
    "hard link to the report's sidecar": lambda w: _link(w, "report sidecar", "hard-out.csv"),
}


def _link(w, key: str, name: str, soft: bool = False) -> Path:
    p = w["data"].parent / name
    if soft:
        p.symlink_to(w[key])
    else:
        os.link(w[key], p)
    return p


def _viewer(argv) -> int:
    from avsol_viewer.app import main as viewer_main

    return viewer_main([str(a) for a in argv])


#: (name, reads the reports, run(world, out) -> exit status)
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
#: test_outputs_replace_their_own_earlier_kind_only). ``avsol train`` reads no checkpoint
#: but its --visual-init (the foreign checkpoint, which it refuses) and replaces a
#: checkpoint written by avsol train, as a rerun of the same command does.
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
def test_every_cli_writer_refuses_every_input(world, capsys, run, target):
    out = target(world)
    before = snapshot(world)
    assert run(world, out) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert str(out) in lines[0] or Path(out).name in lines[0], lines[0]
    assert any(w in lines[0] for w in REFUSALS), lines[0]
    assert snapshot(world) == before
    if Path(out).is_symlink():
        assert Path(out).resolve().read_bytes() == before[Path(out).resolve()]


def test_the_issue_26_data_losses_are_refused(world, capsys):
    """The four findings of issue 26 that destroyed files with exit 0, as the issue ran them."""
    w = {k: str(v) for k, v in world.items()}
    before = snapshot(world)
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
    assert snapshot(world) == before


def test_viewer_training_checkpoints_never_replace_a_foreign_file(world, capsys):
    """The viewer's Train runs ``avsol train`` per head into ``OUT_DIR/HEAD.pt``."""
    from avsol_viewer.train.train_job import TrainRequest

    out_dir = world["data"].parent / "runs"
    out_dir.mkdir()
    (out_dir / "avc.pt").write_bytes(world["foreign checkpoint"].read_bytes())
    before = snapshot(world)
    assert main(TrainRequest(str(world["data"]), ("avc",), 1, str(out_dir)).args("avc")) == 2
    assert "a checkpoint" in capsys.readouterr().err
    assert snapshot(world) == before


def test_screenshot_of_a_report_never_replaces_what_the_report_names(world, capsys):
    """``avsol-viewer REPORT.json --screenshot`` reads what the report's meta names: even an
    image of ours (replaceable by kind) is refused when the report names it."""
    import cv2

    shot = world["data"].parent / "shot.png"
    shot.write_bytes(mark_image(cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))[1].tobytes()))
    report = json.loads(world["R.json"].read_text())
    report["meta"]["maps"] = str(shot)
    world["R.json"].write_text(json.dumps(report))
    before = snapshot(world)
    assert _viewer([world["R.json"], "--screenshot", shot]) == 2
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1 and "also an input" in line
    assert snapshot(world) == before


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
def test_every_viewer_writer_refuses_every_input(world, qapp, run, target):
    out = target(world)
    before = snapshot(world)
    with pytest.raises(InputError) as err:
        run(world, out)
    assert "\n" not in str(err.value) and Path(out).name in str(err.value)
    assert "refused" in str(err.value) or "also an input" in str(err.value), str(err.value)
    assert snapshot(world) == before


# -- an output may replace only its own kind ------------------------------------------------

def test_outputs_replace_their_own_earlier_kind_only(world, tmp_path):
    import cv2

    from model_core.input_protection import OWN_VIDEO_METADATA
    from model_core.media.writer import Mp4Writer

    report, maps, ckpt = tmp_path / "old-report.json", tmp_path / "old.npz", tmp_path / "old.pt"
    report.write_bytes(world["R.json"].read_bytes())
    maps.write_bytes(world["maps"].read_bytes())
    ckpt.write_bytes(world["checkpoint"].read_bytes())
    shot = tmp_path / "old-shot.png"
    shot.write_bytes(mark_image(cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))[1].tobytes()))
    video = tmp_path / "old-export.mp4"
    wr = Mp4Writer(video, (16, 16), 25, metadata=OWN_VIDEO_METADATA)
    wr.picture(np.zeros((16, 16, 3), np.uint8))
    wr.close(True)
    table = tmp_path / "old.csv"
    table.write_text("video,time,head,start,end,status\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("anything of no known kind")
    comparison, log = tmp_path / "old-compare.json", tmp_path / "old.items.jsonl"
    comparison.write_text(json.dumps({"format": "avsol-compare", "version": 1, "pairs": []}))
    log.write_text('{"kind": "header", "fingerprint": "f"}\n{"kind": "video", "video": "v.mp4", "rows": []}\n')
    own = {"report": report, "maps": maps, "checkpoint": ckpt, "image": shot, "video": video, "csv": table,
           "comparison": comparison, "items log": log}
    for kind, path in own.items():
        assert check_writable_output(path, kind) == path, kind           # its own earlier output
        check_writable_output(notes, kind)                               # a file of no known kind
        for other, p in own.items():
            if other != kind:
                with pytest.raises(InputError, match="refused"):
                    check_writable_output(p, kind)
    with pytest.raises(InputError, match="a checkpoint"):                 # not written by avsol train
        check_writable_output(world["foreign checkpoint"], "checkpoint")
    with pytest.raises(InputError, match="also an input"):                 # its own kind, but read
        check_outputs({"--out": (report, "report")}, {"--report": report_inputs(report)})


def test_an_output_that_is_a_symlink_loop_is_refused(world, tmp_path, capsys):
    loop = tmp_path / "r.json"
    loop.symlink_to(tmp_path / "r2.json")
    (tmp_path / "r2.json").symlink_to(loop)
    assert main(["metrics", "--report", str(world["R.json"]), "--out", str(loop)]) == 2
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1 and "symlink loop" in line
    assert loop.is_symlink() and (tmp_path / "r2.json").is_symlink()


# -- inputs named as what they are --------------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "device", "symlink loop", "missing", "empty"])
def test_odd_inputs_are_named_as_what_they_are(tmp_path, capsys, kind):
    """A FIFO or ``/dev/zero`` is not "an empty file (0 bytes)"; a symlink loop is not
    "file not found" (issue 26), in every reader: media, annotations, maps, checkpoints."""
    p = tmp_path / "in.mp4"
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "device":
        p = Path("/dev/zero")
    elif kind == "symlink loop":
        p.symlink_to(tmp_path / "in2.mp4")
        (tmp_path / "in2.mp4").symlink_to(p)
    elif kind == "empty":
        p.write_bytes(b"")
    words = {"fifo": "FIFO", "device": "a device", "symlink loop": "symlink loop", "missing": "not found",
             "empty": "empty file"}[kind]
    assert words in input_problem(p)
    from model_core.formats import load_avsol_e
    from model_core.maps_file import load_maps
    from model_core.media.probe import probe
    from model_core.model.checkpoint import load_checkpoint

    readers = [probe, load_maps, load_checkpoint] + ([load_avsol_e] if kind != "empty" else [])
    for reader in readers:
        with pytest.raises(InputError) as err:
            reader(p)
        text = str(err.value)
        if kind != "missing" and kind != "empty":
            assert words in text, (reader.__name__, text)
            assert "empty file" not in text and "not found" not in text
    ck = tmp_path / "m.pt"
    ck.write_bytes(b"x")
    assert main(["infer", str(p), "--checkpoint", str(ck), "--out", str(tmp_path / "o.npz")]) == 2
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1 and words in line, line


@pytest.mark.parametrize("command", ["eval", "train", "metrics"])
def test_a_data_folder_or_annotations_behind_a_symlink_loop_is_named_so(tmp_path, capsys, command):
    loop = tmp_path / "data"
    loop.symlink_to(tmp_path / "data2")
    (tmp_path / "data2").symlink_to(loop)
    ck = tmp_path / "m.pt"
    ck.write_bytes(b"x")
    argv = {"eval": ["eval", str(loop), "--checkpoint", str(ck), "--out", str(tmp_path / "r.json")],
            "train": ["train", str(loop), "--head", "avc", "--epochs", "1", "--out", str(tmp_path / "o.pt")],
            "metrics": ["metrics", "--maps", str(ck), "--annotations", str(loop), "--out", str(tmp_path / "r.json")]}
    assert main(argv[command]) == 2
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1 and "symlink loop" in line and "not found" not in line, line


# -- the README's promises, one test each ---------------------------------------------------

def _promises() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text[text.index("**What every command promises**"):]
    section = section[:section.index("\n\n")]
    return re.findall(r"^- \*([^*]+?)\.\*", section, flags=re.M)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


def test_every_promise_has_its_test():
    """The README's list and the tests below stay one to one."""
    titles = _promises()
    assert len(titles) >= 5, titles
    names = {n for n in globals() if n.startswith("test_promise_")}
    assert names == {f"test_promise_{_slug(t)}" for t in titles}, (names, titles)


def test_promise_inputs_are_never_destroyed(world, capsys):
    """Each output against every file the command reads (a report's meta and a data
    folder's files included) and against media, annotation, split and checkpoint files
    anywhere, before any work; links resolved."""
    hard = _link(world, "AVSOL-E annotations", "h.json")
    before = snapshot(world)
    for argv in (["metrics", "--report", world["R.json"], "--out", world["report sidecar"]],   # declared
                 ["import", "vggss", world["vggss"], "--out", world["video anywhere"]],          # media anywhere
                 ["eval", world["data"], "--checkpoint", world["checkpoint"], "--out", hard]):  # a hard link
        assert main([str(a) for a in argv]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert snapshot(world) == before


def test_promise_an_output_replaces_only_its_own_kind(world, tmp_path, capsys):
    """A report over an earlier report (known by its format marker) is fine; a report
    over a maps file, a checkpoint or a picture is refused."""
    old, maps, ckpt = tmp_path / "old.json", tmp_path / "other.npz", tmp_path / "other.pt"
    old.write_bytes(world["R.json"].read_bytes())
    maps.write_bytes(world["maps"].read_bytes())
    ckpt.write_bytes(world["checkpoint"].read_bytes())      # not the report's: refused by its kind
    argv = ["metrics", "--report", str(world["R.json"]), "--threshold", "fixed:0.5", "--out"]
    for p in (maps, ckpt, world["video anywhere"]):
        assert main(argv + [str(p)]) == 2
        assert "refused" in capsys.readouterr().err
    check_outputs({"--out": (old, "report")}, {"--report": report_inputs(world["R.json"])})
    # avsol import never over an annotation file, even one it wrote; a file of no known kind is fine
    fresh = tmp_path / "imported.json"
    assert main(["import", "vggss", str(world["vggss"]), "--out", str(fresh)]) == 0
    written = fresh.read_bytes()
    assert main(["import", "vggss", str(world["vggss"]), "--out", str(fresh)]) == 2
    assert "an annotation file" in capsys.readouterr().err and fresh.read_bytes() == written
    notes = tmp_path / "notes.txt"
    notes.write_text("scratch")
    assert main(["import", "vggss", str(world["vggss"]), "--out", str(notes)]) == 0


def test_promise_bad_options_cost_nothing(world, tmp_path, capsys):
    """A bad option is one line, exit 2, before any decoding or cache; an input that is a
    FIFO is named as one (the readers' cases: test_odd_inputs_are_named_as_what_they_are)."""
    assert main(["train", str(world["data"]), "--head", "avc", "--epochs", "1", "--lr", "nan",
                 "--out", str(world["data"].parent / "new.pt")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (world["data"] / ".avsol-cache").exists() and not (world["data"].parent / "new.pt").exists()
    fifo = tmp_path / "maps.npz"
    os.mkfifo(fifo)
    assert main(["metrics", "--maps", str(fifo), "--annotations", str(world["annotations elsewhere"]),
                 "--out", str(tmp_path / "r.json")]) == 2
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1 and "FIFO" in line and "empty" not in line


def test_promise_outputs_appear_whole_or_not_at_all(tmp_path, monkeypatch):
    """A failure while writing leaves the previous output as it was, and no temporary."""
    from model_core import atomic

    out = tmp_path / "r.json"
    out.write_text("previous")

    def boom(path, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError):
        atomic.write_json(out, {"new": 1})
    assert out.read_text() == "previous" and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_promise_one_writer_per_output(tmp_path):
    """A second writer on a locked output is refused at once, naming the first's pid."""
    import subprocess
    import sys

    out = tmp_path / "r.json"
    code = ("import sys, time; from model_core.outputs.lock import OutputLock; "
            f"OutputLock({str(out)!r}).acquire(); print('held', flush=True); sys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "held"
        from model_core.outputs.lock import OutputLock

        with pytest.raises(InputError, match=f"pid {holder.pid}"):
            OutputLock(out).acquire()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_promise_interruption(world, tmp_path, monkeypatch, capsys, sig):
    """SIGINT and SIGTERM alike: exit 130, one line saying what to rerun, no partial file
    and no lock left; a reader that closes stdout early never stops the work. (Eval's
    report of what was done and train's OUT.last.pt: test_outputs.py's
    test_sigint_and_sigterm_alike_in_eval and test_train_loop.py's resume tests.)"""
    import signal
    import time

    import model_core.formats as formats
    from model_core.outputs.lock import lock_path
    from model_core.outputs.stdout import SafeStdout

    def killed(*a, **k):
        os.kill(os.getpid(), getattr(signal, sig))
        for _ in range(1000):                  # the handler raises here, at the next bytecode
            time.sleep(0.01)

    monkeypatch.setattr(formats, "import_vggss", killed)
    out = tmp_path / "o.json"
    assert main(["import", "vggss", str(world["vggss"]), "--out", str(out)]) == 130
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1 and "interrupted" in line and "rerun" in line
    assert not out.exists() and not lock_path(out).exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".o.json")] == []

    r, w = os.pipe()
    os.close(r)
    stream = SafeStdout(os.fdopen(w, "w"))
    stream.write("x" * 100000)
    stream.flush()
    assert stream.closed_early and stream.error is None and stream.write("more") == 4
