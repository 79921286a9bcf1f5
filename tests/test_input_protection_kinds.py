"""Input protection, what a file is (issue 26 items 1 and 7): each kind of input known by
its name and its first bytes (a renamed or hard-linked copy included), an output that may
replace only its own earlier kind, and odd inputs (FIFOs, devices, symlink loops) named as
what they are by every reader.

Every writer against every input: ``test_input_protection_writers.py``; the README's
promises: ``test_input_protection_promises.py``; the files: ``input_protection_support.py``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from model_core.cli import main
from model_core.errors import InputError
from model_core.input_protection import (ANNOTATIONS, CHECKPOINT, ITEM_TABLE, ITEMS_LOG, MAPS, MEDIA,
                                         OWN_CHECKPOINT, OWN_IMAGE, OWN_VIDEO, REPORT, SPLIT, identify,
                                         input_problem, mark_image, report_inputs)
from model_core.outputs.checks import check_outputs, check_writable_output


# -- what a file is ---------------------------------------------------------------------------

@pytest.mark.parametrize("key, kind", [
    ("data video", MEDIA), ("data picture", MEDIA), ("AVSOL-E annotations", ANNOTATIONS),
    ("AVE annotations", ANNOTATIONS), ("split file", SPLIT), ("annotations elsewhere", ANNOTATIONS),
    ("checkpoint", OWN_CHECKPOINT), ("foreign checkpoint", CHECKPOINT), ("maps", MAPS), ("R.json", REPORT),
    ("report sidecar", None)])
def test_identify_by_name_and_content(input_world, key, kind):
    assert identify(input_world[key]) == kind


def test_identify_sees_through_a_rename_by_content(input_world, tmp_path):
    """A hard link or a renamed copy keeps its bytes: a video named .json is still a video."""
    for key, kind in (("data video", MEDIA), ("annotations elsewhere", ANNOTATIONS), ("checkpoint", OWN_CHECKPOINT),
                      ("maps", MAPS), ("R.json", REPORT)):
        alias = tmp_path / f"alias-{key.replace(' ', '-')}.dat"
        os.link(input_world[key], alias)
        assert identify(alias) == kind, key
    table, log = tmp_path / "t.csv", tmp_path / "r.items.jsonl"
    table.write_text("video,time,head,start,end,status\n")
    log.write_text('{"kind": "header", "fingerprint": "x"}\n')
    assert (identify(table), identify(log)) == (ITEM_TABLE, ITEMS_LOG)


def test_benchmark_sources_and_hand_written_annotations_are_annotations(input_world, tmp_path):
    """VGG-SS JSON and Flickr XML (what ``avsol import`` reads), and an AVSOL-E file whose
    "format" comes last (hand-written, 300 kB of videos first), under any name."""
    xml = tmp_path / "1000.xml"
    xml.write_text('<?xml version="1.0"?>\n<annotation><object><bndbox/></object></annotation>\n')
    late = tmp_path / "labels.json"
    videos = [{"video": f"v{i}.mp4", "segments": []} for i in range(10000)]
    late.write_text(json.dumps({"videos": videos, "classes": ["cat"], "version": 1, "format": "avsol-e"}))
    assert late.stat().st_size > 300_000
    for p in (input_world["vggss"], xml, late):
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


def test_a_report_declares_what_its_meta_points_at(input_world):
    declared = {Path(p).resolve() for p in report_inputs(input_world["R.json"])}
    for key in ("R.json", "AVSOL-E annotations", "AVE annotations", "split file", "data video", "data picture",
                "checkpoint", "report sidecar"):
        assert input_world[key].resolve() in declared, key


# -- an output may replace only its own kind ------------------------------------------------

def test_outputs_replace_their_own_earlier_kind_only(input_world, tmp_path):
    import cv2

    from model_core.input_protection import OWN_VIDEO_METADATA
    from model_core.media.writer import Mp4Writer

    report, maps, ckpt = tmp_path / "old-report.json", tmp_path / "old.npz", tmp_path / "old.pt"
    report.write_bytes(input_world["R.json"].read_bytes())
    maps.write_bytes(input_world["maps"].read_bytes())
    ckpt.write_bytes(input_world["checkpoint"].read_bytes())
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
        check_writable_output(input_world["foreign checkpoint"], "checkpoint")
    with pytest.raises(InputError, match="also an input"):                 # its own kind, but read
        check_outputs({"--out": (report, "report")}, {"--report": report_inputs(report)})


def test_an_output_that_is_a_symlink_loop_is_refused(input_world, tmp_path, capsys):
    loop = tmp_path / "r.json"
    loop.symlink_to(tmp_path / "r2.json")
    (tmp_path / "r2.json").symlink_to(loop)
    assert main(["metrics", "--report", str(input_world["R.json"]), "--out", str(loop)]) == 2
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

