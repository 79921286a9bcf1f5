"""VGG-SS and Flickr-SoundNet importers and ``avsol import`` (SPEC 4, 9)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_core.cli import main
from model_core.errors import AnnotationError
from model_core.formats import Box, import_flickr, import_vggss, load_avsol_e

SENTINEL = -2.9e16

VGGSS = [
    {"file": "abc_000030", "class": "dog barking", "bbox": [[0.1, 0.2, 0.5, 0.6]]},
    {"file": "def_000010", "class": "cat purring",                       # sentinel + zero area
     "bbox": [[SENTINEL, 0.2, 0.5, 0.6], [0.3, 0.3, 0.3, 0.7], [0.1, 0.1, 0.4, 0.4]]},
    {"file": "ghi_000000", "class": "cat purring",                       # nothing usable
     "bbox": [[SENTINEL, SENTINEL, SENTINEL, SENTINEL], [0.2, 0.5, 0.6, 0.5]]},
    {"file": "jkl_000020", "bbox": [[0, 0, 1.0000001, 1]]},             # no class, tiny excursion
    {"file": "abc_000030", "class": "dog barking", "bbox": [[0, 0, 1, 1]]},  # duplicate
    {"file": "mno_000040", "class": "x", "bbox": "oops"},
    {"file": "pqr_000050", "class": "x", "bbox": [[0.1, 0.1, "a", 0.5], [0.1, 0.1]]},
    "junk",
    {"class": "x", "bbox": [[0, 0, 1, 1]]},
]


def write_vggss(tmp_path: Path, data=VGGSS) -> Path:
    p = tmp_path / "vggss.json"
    p.write_text(json.dumps(data))
    return p


def test_vggss_clips_drops_and_reports(tmp_path):
    a, report = import_vggss(write_vggss(tmp_path))
    assert a.video_names == ("abc_000030.mp4", "def_000010.mp4", "jkl_000020.mp4")
    assert a.classes == ("cat purring", "dog barking", "unknown")
    seg = a["abc_000030.mp4"].segments[0]
    assert (seg.start, seg.end, seg.frame_time, seg.event) == (4.5, 5.5, 5.0, True)
    assert seg.sounding == (Box(0.1, 0.2, 0.5, 0.6),)
    assert seg.annotators is None
    # sentinel x1 clipped to 0 (box kept), zero-area box dropped
    assert a["def_000010.mp4"].segments[0].sounding == (Box(0.0, 0.2, 0.5, 0.6), Box(0.1, 0.1, 0.4, 0.4))
    jkl = a["jkl_000020.mp4"]
    assert jkl.category == "unknown" and jkl.segments[0].sounding == (Box(0, 0, 1, 1),)
    assert (report.read, report.written, report.repaired, report.dropped) == (9, 3, 2, 6)
    assert report.missing_videos is None
    lines = report.lines
    assert len(lines) == 8  # one line per entry affected
    assert lines[0].startswith("entry[1] 'def_000010': repaired: bbox[0] [-2.9e+16, 0.2, 0.5, 0.6] clipped")
    assert "bbox[1] [0.3, 0.3, 0.3, 0.7] dropped (zero area)" in lines[0]
    assert lines[1].startswith("entry[2] 'ghi_000000': dropped: no usable box (")
    assert "outside the frame" in lines[1]
    assert lines[2] == "entry[3] 'jkl_000020': repaired: no 'class', set to 'unknown'"
    assert lines[3] == "entry[4] 'abc_000030': dropped: duplicate of entry[0]"
    assert lines[4] == "entry[5] 'mno_000040': dropped: 'bbox' is missing or not a list"
    assert lines[5].startswith("entry[6] 'pqr_000050': dropped: no usable box")
    assert lines[6] == "entry[7]: dropped: not an object"
    assert lines[7] == "entry[8]: dropped: 'file' is missing or not a file name"


def test_vggss_videos_dir_names_and_missing(tmp_path):
    vids = tmp_path / "clips"
    vids.mkdir()
    (vids / "abc_000030.mp4").write_bytes(b"")
    (vids / "def_000010.mkv").write_bytes(b"")
    a, report = import_vggss(write_vggss(tmp_path), videos_dir=vids)
    assert a.video_names == ("abc_000030.mp4", "def_000010.mkv", "jkl_000020.mp4")
    assert report.missing_videos == ["jkl_000020.mp4"]
    assert report.lines[-1] == f"missing from {vids}: jkl_000020.mp4"
    assert report.summary().endswith("videos missing from folder: 1")


def test_vggss_bad_files(tmp_path):
    with pytest.raises(AnnotationError, match="file not found"):
        import_vggss(tmp_path / "none.json")
    p = tmp_path / "v.json"
    p.write_text("{}")
    with pytest.raises(AnnotationError, match="expected a JSON list"):
        import_vggss(p)
    p.write_text(json.dumps([{"file": "a", "class": "c", "bbox": [[SENTINEL] * 4]}]))
    with pytest.raises(AnnotationError, match="no usable entry among 1"):
        import_vggss(p)


def flickr_xml(boxes, extra="") -> str:
    """As the public files look: boxes under a child of the root, each ``<bbox>`` with a
    leading child that the field's code skips, then xmin, ymin, xmax, ymax in 256 px."""
    body = "".join(
        "<bbox><annotator>{}</annotator><xmin>{}</xmin><ymin>{}</ymin><xmax>{}</xmax><ymax>{}</ymax></bbox>"
        .format(i, *b) for i, b in enumerate(boxes))
    return f"<?xml version='1.0'?><annotation>{extra}<object>{body}</object></annotation>"


def make_flickr(tmp_path: Path) -> Path:
    d = tmp_path / "anno"
    d.mkdir()
    (d / "1001.xml").write_text(flickr_xml([(0, 0, 128, 256), (64, 32, 192, 224)]))
    (d / "1002.xml").write_text(flickr_xml([(10, 10, 300, 100), (5, 5, 5, 50)], extra="<name>guitar</name>"))
    (d / "1003.xml").write_text(flickr_xml([(50, 50, 20, 60)]))           # nothing usable
    (d / "1004.xml").write_text("<annotation><object><bbox>")             # not XML
    (d / "1005.xml").write_text("<annotation><object><bbox><a/><b>1</b><c>x</c><d>3</d><e>4</e></bbox>"
                                "<bbox><a/><b>1</b></bbox></object></annotation>")
    (d / "readme.txt").write_text("ignored")
    return d


def test_flickr_positional_children_256_scale(tmp_path):
    a, report = import_flickr(make_flickr(tmp_path))
    assert a.video_names == ("1001.jpg", "1002.jpg")
    assert a.classes == ("guitar", "unknown")
    s = a["1001.jpg"].segments[0]
    assert (s.start, s.end, s.frame_time, s.event) == (0.0, 1.0, 0.5, True)
    assert s.sounding == () and s.annotators == ((Box(0, 0, 0.5, 1),), (Box(0.25, 0.125, 0.75, 0.875),))
    kind, groups = s.gt_boxes_for_metrics()
    assert kind == "annotators" and len(groups) == 2
    # the fractions give the same pixels as the field's int(224 * v / 256)
    for v in range(257):
        assert int(224 * (v / 256)) == int(224 * v / 256)
    s2 = a["1002.jpg"].segments[0]
    assert s2.annotators == ((Box(10 / 256, 10 / 256, 1.0, 100 / 256),),)
    assert a["1002.jpg"].category == "guitar"
    assert (report.read, report.written, report.repaired, report.dropped) == (5, 2, 1, 3)
    assert report.lines[0].startswith("'1002.xml': repaired: bbox[0] [10, 10, 300, 100] clipped to [0, 256]")
    assert "bbox[1] dropped (empty box [5, 5, 5, 50])" in report.lines[0]
    assert report.lines[1] == "'1003.xml': dropped: no usable <bbox> (bbox[0] dropped (empty box [50, 50, 20, 60]))"
    assert report.lines[2].startswith("'1004.xml': dropped: not XML")
    assert report.lines[3] == ("'1005.xml': dropped: no usable <bbox> (bbox[0] dropped (coordinates are not "
                               "integers); bbox[1] dropped (2 children, expected 1 + 4))")


def test_flickr_videos_dir(tmp_path):
    anno = make_flickr(tmp_path)
    vids = tmp_path / "media"
    vids.mkdir()
    (vids / "1001.mp4").write_bytes(b"")
    (vids / "1001.jpg").write_bytes(b"")
    a, report = import_flickr(anno, videos_dir=vids)
    assert a.video_names == ("1001.mp4", "1002.jpg")
    assert report.missing_videos == ["1002.jpg"]


def test_flickr_bad_folders(tmp_path):
    with pytest.raises(AnnotationError, match="annotation folder not found"):
        import_flickr(tmp_path / "nope")
    (tmp_path / "f.xml").write_text("x")
    with pytest.raises(AnnotationError, match="expected a folder"):
        import_flickr(tmp_path / "f.xml")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AnnotationError, match="no .xml files"):
        import_flickr(empty)
    with pytest.raises(AnnotationError, match="no usable annotation among 1"):
        import_flickr(tmp_path)
    with pytest.raises(AnnotationError, match="videos folder not found"):
        import_flickr(make_flickr(tmp_path), videos_dir=tmp_path / "nope")


def test_cli_import_vggss(tmp_path, capsys):
    src = write_vggss(tmp_path)
    out = tmp_path / "out" / "avsol-e.json"
    vids = tmp_path / "clips"
    vids.mkdir()
    (vids / "abc_000030.mp4").write_bytes(b"")
    assert main(["import", "vggss", str(src), "--out", str(out), "--videos", str(vids)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 8 + 2 + 1
    assert lines[-1] == ("entries read: 9, written: 3, repaired: 2, dropped: 6, "
                         "videos missing from folder: 2")
    a = load_avsol_e(out)
    assert a.video_names == ("abc_000030.mp4", "def_000010.mp4", "jkl_000020.mp4")


def test_cli_import_flickr(tmp_path, capsys):
    out = tmp_path / "f.json"
    assert main(["import", "flickr", str(make_flickr(tmp_path)), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "entries read: 5, written: 2, repaired: 1, dropped: 3"
    assert len(lines) == 5
    assert load_avsol_e(out)["1001.jpg"].segments[0].annotators is not None


@pytest.mark.parametrize("content", [None, "not json", "{}", "[]"])
def test_cli_bad_input_exit_2(tmp_path, capsys, content):
    src = tmp_path / "v.json"
    if content is not None:
        src.write_text(content)
    out = tmp_path / "o.json"
    assert main(["import", "vggss", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("avsol import: error: ") and str(src) in err
    assert err.count("\n") == 1
    assert not out.exists()


def test_cli_unwritable_out_exit_2(tmp_path, capsys):
    src = write_vggss(tmp_path)
    (tmp_path / "dir.json").mkdir()
    assert main(["import", "vggss", str(src), "--out", str(tmp_path / "dir.json")]) == 2
    assert "--out is a folder" in capsys.readouterr().err
