"""Property-based tests: malformed input to every reader gives an AnnotationError, never
another exception; what is accepted keeps the data classes' invariants."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from model_core.errors import AnnotationError
from model_core.formats import (
    AvsolE, avsol_e_from_dict, import_flickr, import_vggss, load_ave, load_avsol_e, save_avsol_e,
)

# AVSOL_FUZZ_EXAMPLES=5000 for a deeper run by hand; the suite stays fast by default.
FUZZ = settings(max_examples=int(os.environ.get("AVSOL_FUZZ_EXAMPLES", 150)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

KEYS = ["format", "version", "classes", "videos", "video", "category", "segments", "start",
        "end", "frame_time", "event", "sounding", "silent", "annotators", "box", "label",
        "file", "class", "bbox"]
scalars = (st.none() | st.booleans() | st.integers(-3, 12) | st.integers()
           | st.floats(allow_nan=True, allow_infinity=True) | st.floats(-0.1, 1.1)
           | st.sampled_from(["avsol-e", "a", "c", "v.mp4", ""]) | st.text(max_size=5))
json_ish = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=5)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=3), kids, max_size=6),
    max_leaves=30)
coord = st.floats(-0.2, 1.2) | st.sampled_from([0.0, 1.0, -2.9e16, 1 + 1e-7]) | scalars
box = st.lists(coord, min_size=3, max_size=5) | st.fixed_dictionaries(
    {"box": st.lists(coord, min_size=4, max_size=4)}, optional={"label": scalars})
segment = st.fixed_dictionaries(
    {"start": st.sampled_from([0, 1, 2.5]) | scalars, "end": st.sampled_from([1, 2, 3.5]) | scalars},
    optional={"event": st.booleans() | scalars, "frame_time": st.floats(-1, 4) | scalars,
              "sounding": st.lists(box, max_size=3) | json_ish, "silent": st.lists(box, max_size=2),
              "annotators": st.lists(st.lists(box, max_size=2), max_size=3) | json_ish})
video = st.fixed_dictionaries(
    {"video": st.sampled_from(["a.mp4", "b.mp4"]) | scalars, "category": st.sampled_from(["c", "d"]) | scalars,
     "segments": st.lists(segment | json_ish, max_size=3)})
document = st.fixed_dictionaries(
    {"format": st.just("avsol-e") | scalars, "version": st.just(1) | scalars,
     "classes": st.just(["c"]) | st.lists(scalars, max_size=3), "videos": st.lists(video | json_ish, max_size=3)})


# Valid documents, then one random value replaced anywhere: most of the validator's paths
# are reached only by input that is nearly right.
unit = st.floats(0, 1)


@st.composite
def good_box(draw):
    x1, x2 = sorted(draw(st.lists(unit, min_size=2, max_size=2, unique=True)))
    y1, y2 = sorted(draw(st.lists(unit, min_size=2, max_size=2, unique=True)))
    label = draw(st.none() | st.text(max_size=4))
    return [x1, y1, x2, y2] if draw(st.booleans()) else {"box": [x1, y1, x2, y2], "label": label}


@st.composite
def good_segment(draw, k):
    event = draw(st.booleans())
    seg = {"start": float(k), "end": k + 1.0, "frame_time": k + 0.5, "event": event,
           "silent": draw(st.lists(good_box(), max_size=2))}
    if event and draw(st.booleans()):
        seg["annotators"] = draw(st.lists(st.lists(good_box(), max_size=2), max_size=3))
    else:
        seg["sounding"] = draw(st.lists(good_box(), max_size=2)) if event else []
    return seg


@st.composite
def good_document(draw):
    classes = draw(st.lists(st.text(min_size=1, max_size=4).filter(str.strip), min_size=1, max_size=3,
                            unique=True))
    names = draw(st.lists(st.text(min_size=1, max_size=5).filter(str.strip), max_size=3, unique=True))
    videos = [{"video": n, "category": draw(st.sampled_from(classes)),
               "segments": [draw(good_segment(k)) for k in range(draw(st.integers(0, 3)))]}
              for n in names]
    return {"format": "avsol-e", "version": 1, "classes": classes, "videos": videos}


@st.composite
def mutated_document(draw):
    doc = draw(good_document())
    for _ in range(draw(st.integers(0, 3))):
        node, path = doc, []
        while isinstance(node, (dict, list)) and node and draw(st.integers(0, 3)):
            key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
            path.append((node, key))
            node = node[key]
        if path:
            parent, key = path[-1]
            if isinstance(parent, dict) and draw(st.booleans()):
                del parent[key]
            else:
                parent[key] = draw(json_ish | coord)
    return doc


def check_invariants(a: AvsolE) -> None:
    for v, s in a.items():
        assert v.category in a.classes
        assert s.start < s.end and s.start <= s.frame_time <= s.end
        for b in s.sounding_boxes + s.silent:
            assert 0 <= b.x1 < b.x2 <= 1 and 0 <= b.y1 < b.y2 <= 1
        if not s.event:
            assert not s.sounding_boxes


@FUZZ
@given(mutated_document() | document | json_ish)
def test_avsol_e_structures(d):
    try:
        a = avsol_e_from_dict(d, "fuzz.json")
    except AnnotationError as exc:
        assert exc.problems and all(isinstance(p, str) for p in exc.problems)
        return
    check_invariants(a)
    with tempfile.TemporaryDirectory() as tmp:
        save_avsol_e(a, Path(tmp) / "a.json")
        assert load_avsol_e(Path(tmp) / "a.json") == a


def _splice(args) -> bytes:
    """A valid document's JSON with a few bytes inserted or overwritten somewhere."""
    doc, pos, junk, overwrite = args
    data = json.dumps(doc).encode()
    pos %= len(data) + 1
    return data[:pos] + junk + data[pos + (len(junk) if overwrite else 0):]


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode)
       | st.tuples(good_document(), st.integers(0, 10**6), st.binary(max_size=3), st.booleans()).map(_splice))
def test_avsol_e_bytes(data):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "a.json"
        p.write_bytes(data)
        try:
            check_invariants(load_avsol_e(p))
        except AnnotationError:
            pass


ave_field = st.sampled_from(["Dog", "Race car, auto racing", "vid00000001", "good", "0", "3", "10",
                             "11", "-1", "4.5", "x", "", " ", "StartTime", "Category", "nan", "VideoID"])
good_ave_line = st.builds(
    lambda c, v, s, e: f"{c}&{v}&good&{min(s, e)}&{max(s, e)}",
    st.sampled_from(["Dog", "Race car, auto racing", "Church bell"]),
    st.sampled_from(["vid00000001", "vid00000002", "a-b_c"]), st.integers(0, 10), st.integers(0, 10))
ave_line = (good_ave_line | st.just("Category&VideoID&Quality&StartTime&EndTime") | st.just("")
            | st.lists(ave_field, min_size=0, max_size=7).map("&".join) | st.text(max_size=30))
ave_text = st.tuples(st.lists(ave_line, max_size=8), st.sampled_from(["\n", "\r\n", "\r"]),
                     st.booleans()).map(lambda t: ("\ufeff" if t[2] else "") + t[1].join(t[0]))


@FUZZ
@given(st.lists(good_ave_line, min_size=1, max_size=6).map("\n".join).map(str.encode)
       | ave_text.map(lambda s: s.encode("utf-8", "surrogatepass")) | st.binary(max_size=120),
       st.none() | ave_text | st.binary(max_size=40).map(lambda b: b.decode("latin-1")))
def test_ave_lines(annotations, split):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "Annotations.txt").write_bytes(annotations)
        if split is not None:
            (root / "trainSet.txt").write_bytes(split.encode("utf-8", "surrogatepass"))
        (root / "vid00000001.mp4").write_bytes(b"")
        try:
            ds = load_ave(root)
        except AnnotationError:
            return
        assert len(ds.rows) == sum(len(r) for r in ds.videos.values())
        assert list(ds.classes) == sorted(set(ds.classes))
        for vid in ds.videos:
            assert len(ds.event_segments(vid)) == 10
            ds.video_path(vid)
        assert set(ds.missing_videos) <= set(ds.videos) | {v for ids in ds.splits.values() for v in ids}


vgg_box = good_box().map(lambda b: b if isinstance(b, list) else b["box"]) | st.lists(coord, min_size=3, max_size=5)
vgg_entry = st.fixed_dictionaries(
    {"file": st.sampled_from(["a_0", "b_1", "c_2"]), "bbox": st.lists(vgg_box, max_size=3)},
    optional={"class": st.just("dog") | scalars}) | st.fixed_dictionaries(
    {}, optional={"file": st.sampled_from(["a_0", "b_1"]) | scalars, "class": scalars,
                  "bbox": st.lists(vgg_box | scalars, max_size=3) | scalars})


@FUZZ
@given(st.lists(vgg_entry | json_ish, max_size=5) | json_ish
       | st.binary(max_size=100))
def test_vggss_importer(data):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "vggss.json"
        p.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
        try:
            a, report = import_vggss(p, videos_dir=tmp)
        except AnnotationError:
            return
        check_invariants(a)
        assert report.read == report.written + report.dropped == len(data)
        assert report.written == len(a) and report.repaired <= report.written
        save_avsol_e(a, Path(tmp) / "out.json")


xml_piece = st.sampled_from(["<annotation>", "</annotation>", "<object>", "</object>", "<bbox>",
                             "</bbox>", "<a/>", "<xmin>", "</xmin>", "12", "300", "-5", "x", "<name>",
                             "</name>", "<![CDATA[1]]>", "&amp;", "&bogus;", " "])
xml_text = st.lists(xml_piece, max_size=30).map("".join)


@FUZZ
@given(st.lists(xml_text.map(str.encode) | st.binary(max_size=60), min_size=1, max_size=3),
       st.lists(st.lists(st.integers(0, 256), min_size=4, max_size=4).map(lambda v: sorted(v[:2]) + sorted(v[2:]))
                .map(lambda v: [v[0], v[2], v[1], v[3]])
                | st.lists(st.integers(-300, 600) | st.sampled_from(["x", "", "1.5"]), min_size=4, max_size=5),
                max_size=3))
def test_flickr_importer(blobs, boxes):
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for i, blob in enumerate(blobs):
            (d / f"{i}.xml").write_bytes(blob)
        body = "".join("<bbox><n/>" + "".join(f"<v>{v}</v>" for v in b) + "</bbox>" for b in boxes)
        (d / "z.xml").write_text(f"<annotation><object>{body}</object></annotation>")
        try:
            a, report = import_flickr(d)
        except AnnotationError:
            return
        check_invariants(a)
        assert report.read == len(blobs) + 1 == report.written + report.dropped
        for _, s in a.items():
            assert s.annotators and all(len(g) == 1 for g in s.annotators)
