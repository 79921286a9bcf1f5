"""AVE folder reader: headers, CRLF/BOM, several rows per video, zero-length rows,
comma class names, split files, missing videos, and every bad line reported."""
from __future__ import annotations

from pathlib import Path

import pytest

from model_core.errors import AnnotationError
from model_core.formats import load_ave

HEADER = "Category&VideoID&Quality&StartTime&EndTime"
ROWS = [
    "Church bell&RUhOCu3LNXM&good&0&10",
    "Race car, auto racing&ycR-1SPvF7U&good&3&7",
    "Race car, auto racing&ycR-1SPvF7U&good&8&10",   # second event of the same video
    "Dog&abc_def-123&bad&4&4",                        # zero-length row
    "Dog&gone1234567&good&0&5",                       # listed, file missing
]


def make_ave(root: Path, lines, *, newline="\n", bom=False, splits=True, videos=None,
             trailing="\n\n\n", video_sub=None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    text = newline.join(lines) + trailing.replace("\n", newline)
    (root / "Annotations.txt").write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    if splits:
        (root / "trainSet.txt").write_text("\n".join([HEADER, ROWS[0], ROWS[1], ROWS[2]]) + "\n")
        (root / "valSet.txt").write_text(ROWS[3] + "\n")
        (root / "testSet.txt").write_text("gone1234567\n")  # bare-id form
    vdir = root / video_sub if video_sub else root
    vdir.mkdir(exist_ok=True)
    for vid in (videos if videos is not None else ["RUhOCu3LNXM", "ycR-1SPvF7U", "abc_def-123"]):
        (vdir / f"{vid}.mp4").write_bytes(b"")
    return root


@pytest.mark.parametrize("header", [True, False])
def test_reads_with_or_without_header(tmp_path, header):
    root = make_ave(tmp_path / "ave", ([HEADER] if header else []) + ROWS)
    ds = load_ave(root)
    assert ds.classes == ("Church bell", "Dog", "Race car, auto racing")
    assert len(ds.rows) == 5 and len(ds.videos) == 4
    car = ds.videos["ycR-1SPvF7U"]
    assert [(r.start, r.end) for r in car] == [(3, 7), (8, 10)]
    assert car[0].category == "Race car, auto racing" and car[0].quality == "good"
    assert car[0].line == (3 if header else 2)
    assert ds.category("ycR-1SPvF7U") == "Race car, auto racing"
    assert ds.missing_videos == ("gone1234567",)
    assert ds.present_videos() == ["RUhOCu3LNXM", "ycR-1SPvF7U", "abc_def-123"]
    assert ds.video_path("RUhOCu3LNXM") == root / "RUhOCu3LNXM.mp4"
    assert ds.video_path("gone1234567") is None
    assert ds.video_file("gone1234567") == "gone1234567.mp4"
    assert any("zero-length" in w and "abc_def-123" in w for w in ds.warnings)
    assert any("gone1234567" in w and "missing" in w for w in ds.warnings)
    assert ds.splits == {"train": ("RUhOCu3LNXM", "ycR-1SPvF7U"), "val": ("abc_def-123",),
                         "test": ("gone1234567",)}
    assert ds.split_of("abc_def-123") == "val" and ds.split_of("nope") is None


def test_event_segments_cover_start_to_end_exclusive(tmp_path):
    ds = load_ave(make_ave(tmp_path, ROWS))
    T, F = True, False
    assert ds.event_segments("RUhOCu3LNXM") == [T] * 10
    assert ds.event_segments("ycR-1SPvF7U") == [F, F, F, T, T, T, T, F, T, T]
    assert ds.event_segments("abc_def-123") == [F] * 10        # zero length covers nothing
    assert ds.event_segments("gone1234567") == [T] * 5 + [F] * 5
    with pytest.raises(KeyError):
        ds.event_segments("unknown")


def test_crlf_bom_and_trailing_blank_lines(tmp_path):
    ds = load_ave(make_ave(tmp_path, [HEADER] + ROWS, newline="\r\n", bom=True, trailing="\n \n\n"))
    assert len(ds.rows) == 5
    assert ds.rows[0].category == "Church bell"  # the BOM is not glued to the first class
    assert ds.rows[-1].end == 5.0


def test_videos_in_subfolder_and_explicit_dir(tmp_path):
    root = make_ave(tmp_path / "a", ROWS, video_sub="videos")
    assert load_ave(root).video_dir == root / "videos"
    assert load_ave(root).missing_videos == ("gone1234567",)
    assert load_ave(root, video_dir=tmp_path).missing_videos == (
        "RUhOCu3LNXM", "ycR-1SPvF7U", "abc_def-123", "gone1234567")
    with pytest.raises(AnnotationError, match="videos folder not found"):
        load_ave(root, video_dir=tmp_path / "nowhere")


def test_missing_split_file_warns(tmp_path):
    root = make_ave(tmp_path, ROWS, splits=False)
    ds = load_ave(root)
    assert ds.splits == {}
    assert sum("not found" in w for w in ds.warnings) == 3


def test_split_video_not_annotated_is_missing_and_warned(tmp_path):
    root = make_ave(tmp_path, ROWS)
    (root / "testSet.txt").write_text("Dog&zzzzzzzzzzz&good&0&1\n")
    ds = load_ave(root)
    assert "zzzzzzzzzzz" in ds.missing_videos
    assert any("testSet.txt" in w and "zzzzzzzzzzz" in w for w in ds.warnings)


def test_every_bad_line_reported_with_file_and_line(tmp_path):
    lines = [HEADER, ROWS[0],
             "Dog&x&good&3",                      # 4 fields
             "Dog&y&good&a&5",                    # start not a number
             "Dog&z&good&7&3",                    # start > end
             "Dog&w&good&0&11",                   # past the 10 s
             "&&good&0&1",                        # empty category and id
             "Dog&../etc&good&0&1"]               # not a file name
    root = make_ave(tmp_path, lines)
    (root / "valSet.txt").write_text("Dog&x&good&0&1\nthis is junk\n")
    with pytest.raises(AnnotationError) as info:
        load_ave(root)
    assert info.value.problems == [
        "Annotations.txt:3: expected 5 fields 'Category&VideoID&Quality&Start&End', got 4",
        "Annotations.txt:4: start 'a' is not a number",
        "Annotations.txt:5: start 7 > end 3",
        "Annotations.txt:6: times 0..11 are outside the 10 s video",
        "Annotations.txt:7: empty category; empty video id",
        "Annotations.txt:8: video id '../etc' is not a file name",
        "valSet.txt:2: expected 'Category&VideoID&Quality&Start&End' or a video id",
    ]


def test_header_only_on_first_line(tmp_path):
    root = make_ave(tmp_path, ROWS[:1] + [HEADER])
    with pytest.raises(AnnotationError, match=r"Annotations.txt:2: start 'StartTime' is not a number"):
        load_ave(root)


def test_folder_and_file_errors(tmp_path):
    with pytest.raises(AnnotationError, match="AVE folder not found"):
        load_ave(tmp_path / "nope")
    with pytest.raises(AnnotationError, match="Annotations.txt: file not found"):
        load_ave(tmp_path)
    (tmp_path / "Annotations.txt").write_bytes(b"Dog&\xff&good&0&1\n")
    with pytest.raises(AnnotationError, match="not UTF-8"):
        load_ave(tmp_path)
    (tmp_path / "Annotations.txt").write_text(HEADER + "\n\n")
    with pytest.raises(AnnotationError, match="no annotation rows"):
        load_ave(tmp_path)


def test_public_file_shape(tmp_path):
    """Several rows per video are all kept: 6 rows over 4 videos stay 6 rows."""
    rows = [f"Cat {i % 3}&vid{i % 4:08d}xyz&good&{i % 5}&{i % 5 + 2}" for i in range(6)]
    ds = load_ave(make_ave(tmp_path, rows, splits=False, videos=[]))
    assert len(ds.rows) == 6 and len(ds.videos) == 4
    assert sum(len(r) for r in ds.videos.values()) == 6
    assert len(ds.missing_videos) == 4
