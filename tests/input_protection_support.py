"""The files the input-protection tests try every writer against (issue 26 items 1 and 7):
shared by ``tests/test_input_protection_kinds.py``, ``..._writers.py`` and ``..._promises.py``,
so the three build one world one way. ``tests/conftest.py``'s ``input_world`` fixture builds
it in each test's own folder (the tests try to overwrite it, so it is never shared).

The refusals come before anything is decoded, so the inputs are small files with the
right first bytes (content sniffing is part of what is tested).
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

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


def make_world(t: Path) -> dict[str, Path]:
    """A data folder (AVE + AVSOL-E), an annotation file with videos beside it, a video
    elsewhere, checkpoints (ours and a foreign state dict), a maps file, a VGG-SS source,
    and two reports whose meta point at the data, annotations, checkpoint and a sidecar of
    no known kind (only the declaration protects that one), in the folder ``t``."""
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
    """Every file of ``world`` (links apart) and its bytes: equal before and after a refusal."""
    return {p: p.read_bytes() for p in world["data"].parent.rglob("*") if p.is_file() and not p.is_symlink()}


def make_link(w, key: str, name: str, soft: bool = False) -> Path:
    """A symbolic (``soft``) or hard link named ``name`` beside the data folder to ``w[key]``."""
    p = w["data"].parent / name
    if soft:
        p.symlink_to(w[key])
    else:
        os.link(w[key], p)
    return p
