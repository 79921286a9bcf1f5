"""What a file is, and what a command reads: the two halves of "inputs are never destroyed".

:mod:`model_core.outputs.checks` refuses an output that would replace an input. Comparing an
output with the paths named on the command line is not enough: a report points
at its annotations, data folder and checkpoints; an annotation file sits beside its videos
and split files; and a media or annotation file anywhere is somebody's data. So this
module gives, without Qt or torch:

* :func:`identify`: what an existing file is (a media file, an annotation or split file, a
  checkpoint, a maps file, a report, ...), by name, then by its first and last bytes
  (content sniffing, so a hard link or a renamed copy is still known), then by suffix;
  ``None`` for a file of no kind we protect (a note, an empty file).
* the declarations: :func:`data_inputs` (a data folder's annotation, split and media
  files), :func:`beside` (the data files next to an annotation file, video or maps file)
  and :func:`report_inputs` / :func:`meta_inputs` (everything a report's ``meta`` points
  at), so each command
  lists every file it reads, not only those it was given.
* :func:`input_problem`: why a path cannot be read as an input file, named as what it is
  (a FIFO or a device is not "an empty file", a symlink loop is not "file not found").
* the marks our own image and video outputs carry (:data:`OWN_MARK`, :func:`mark_image`),
  so that a screenshot, contact sheet, exported overlay or recording may replace its own
  earlier file but never somebody's photo or video.
"""
from __future__ import annotations

import errno
import json
import os
import re
import stat
import struct
import zlib
from pathlib import Path
from typing import Iterable

from model_core import data_layout as layout
from model_core import media_extensions as extensions

# -- kinds of files ---------------------------------------------------------------------------
MEDIA = "a media file"
ANNOTATIONS = "an annotation file"
SPLIT = "a split file"
CHECKPOINT = "a checkpoint"
OWN_CHECKPOINT = "an AVSOL Studio checkpoint"
MAPS = "a maps file"
REPORT = "an avsol report"
COMPARISON = "an avsol comparison"
ITEMS_LOG = "an eval items log"
ITEM_TABLE = "an item table (CSV)"
OWN_IMAGE = "an image written by AVSOL Studio"
OWN_VIDEO = "a video written by AVSOL Studio"

#: What each kind of output may replace: only an earlier output of its own kind. Any other
#: file :func:`identify` knows is refused, whichever command writes.
REPLACES: dict[str, frozenset[str]] = {
    "report": frozenset({REPORT}),
    "comparison": frozenset({COMPARISON}),
    "csv": frozenset({ITEM_TABLE}),
    "items log": frozenset({ITEMS_LOG}),
    "maps": frozenset({MAPS}),
    "checkpoint": frozenset({OWN_CHECKPOINT}),
    "image": frozenset({OWN_IMAGE}),
    "video": frozenset({OWN_VIDEO}),
    "annotations": frozenset(),   # avsol import: never over an annotation file
    "file": frozenset(),          # an output of no particular kind
}

#: The names of a data set's annotation files (AVE / AVSOL-E / avsol synth's plan).
ANNOTATION_NAMES = (layout.AVE_ANNOTATIONS, layout.PLAN_FILE)
SPLIT_NAMES = tuple(layout.SPLIT_FILES.values())
#: Every data file of a set folder, in the order :func:`data_inputs` lists them.
DATA_FILES = (layout.AVSOL_E_FILE, *ANNOTATION_NAMES[:1], *SPLIT_NAMES, ANNOTATION_NAMES[1])
_AVSOL_E_NAME = re.compile(r"avsol-e.*\.json\Z", re.IGNORECASE)

#: Extensions of media files (videos, sound, pictures): the project's one list.
MEDIA_SUFFIXES = extensions.MEDIA
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")

#: The mark our images (a PNG ``tEXt`` chunk) and videos (the container's ``comment``) carry.
OWN_MARK = "AVSOL Studio"
_PNG = b"\x89PNG\r\n\x1a\n"
_JSON_FORMAT = re.compile(rb'"format"\s*:\s*"([A-Za-z0-9_.-]{1,40})"')
_HEAD = 64 * 1024
_TAIL = 256 * 1024


def _read_ends(path: str | os.PathLike) -> tuple[bytes, bytes]:
    """The first 64 KiB and the last 256 KiB (b"" when the file is shorter than both)."""
    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
        size = os.fstat(fh.fileno()).st_size
        if size <= _HEAD:
            return head, b""
        fh.seek(max(_HEAD, size - _TAIL))
        return head, fh.read(_TAIL)


def _sniff_zip(path: str | os.PathLike) -> str | None:
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            pkl = [n for n in names if n.endswith("data.pkl")]
            if pkl:
                info = z.getinfo(pkl[0])
                data = z.read(pkl[0]) if info.file_size <= 16 << 20 else b""
                return OWN_CHECKPOINT if b"avsol-checkpoint" in data else CHECKPOINT
            if names and all(n.endswith(".npy") for n in names):
                return MAPS
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError, KeyError):
        return None
    return None


def _sniff(head: bytes, tail: bytes) -> str | None:
    """What the bytes say (None: nothing known)."""
    if head.startswith(_PNG):
        return OWN_IMAGE if b"tEXtSoftware\x00" + OWN_MARK.encode() in head[:4096] else MEDIA
    if head[4:8] == b"ftyp" or head.startswith(b"\x1aE\xdf\xa3"):      # MP4/MOV, Matroska/WebM
        mark = OWN_MARK.encode()
        return OWN_VIDEO if mark in tail or mark in head else MEDIA
    if head.startswith(b"\xff\xd8\xff\xfe"):                            # JPEG, a comment first
        return OWN_IMAGE if head[6:6 + len(OWN_MARK)] == OWN_MARK.encode() else MEDIA
    if (head.startswith((b"RIFF", b"ID3", b"fLaC", b"OggS", b"GIF87a", b"GIF89a", b"\xff\xd8\xff",
                         b"FLV\x01", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3", b"BM"))
            or (len(head) > 188 and head[0] == 0x47 and head[188] == 0x47)):   # MPEG-TS
        return MEDIA
    if head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xf1", b"\xff\xf9"):  # MP3 / ADTS AAC
        return MEDIA
    if head.startswith(b"\x93NUMPY"):
        return MAPS
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):   # a legacy torch pickle
        return OWN_CHECKPOINT if b"avsol-checkpoint" in head else CHECKPOINT
    text = head.lstrip()
    if text.startswith(b"[") and re.search(rb'"bbox"\s*:', head[:4096]):       # VGG-SS annotations
        return ANNOTATIONS
    if text.startswith((b"<?xml", b"<annotation")) and b"<annotation" in head[:4096]:   # Flickr / VOC XML
        return ANNOTATIONS
    if text.startswith(b"{"):
        # our writers put "format" first; a hand-written file may have it last
        m = _JSON_FORMAT.search(head[:4096]) or _JSON_FORMAT.search(tail[-4096:])
        fmt = m.group(1).decode() if m else None
        if fmt == "avsol-e":
            return ANNOTATIONS
        if fmt == "avsol-report":
            return REPORT
        if fmt == "avsol-compare":
            return COMPARISON
        if fmt == "avsol-checkpoint":
            return OWN_CHECKPOINT
        if re.search(rb'"kind"\s*:\s*"(header|video)"', text.split(b"\n", 1)[0]):
            return ITEMS_LOG
        return None
    first = head.split(b"\n", 1)[0]
    if first.startswith(b"video,") and b",head," in first + b",":
        return ITEM_TABLE
    return None


def identify(path: str | os.PathLike) -> str | None:
    """What the existing regular file ``path`` is (one of this module's kinds), or None.

    By name first (``Annotations.txt``, ``avsol-e*.json``, split files: always annotation
    files), then by content (a hard link or renamed copy keeps its bytes), then by suffix
    (an empty or truncated ``.mp4`` is still a media file's place).
    """
    p = Path(path)
    name = p.name
    if name in ANNOTATION_NAMES or _AVSOL_E_NAME.match(name):
        return ANNOTATIONS
    if name in SPLIT_NAMES:
        return SPLIT
    try:
        head, tail = _read_ends(p)
    except OSError:
        head = tail = b""
    kind = _sniff(head, tail)
    if head.startswith(b"PK\x03\x04"):
        kind = _sniff_zip(p)
    if kind is None and (name.endswith(".items.jsonl") or re.search(r"\.items\.rank\d+\.jsonl\Z", name)):
        kind = ITEMS_LOG
    if kind is not None:
        return kind
    suffix = p.suffix.lower()
    if suffix in MEDIA_SUFFIXES:
        return MEDIA
    if suffix in CHECKPOINT_SUFFIXES:
        return CHECKPOINT
    if suffix == ".npz" and head:
        return MAPS
    return None


def mark_image(data: bytes) -> bytes:
    """``data`` (a PNG or JPEG) carrying our mark: a PNG ``tEXt`` chunk ``Software: AVSOL
    Studio`` after the header, or a JPEG comment segment after the start marker, which
    :func:`identify` reads as our own image (so the next screenshot may replace it). Other
    bytes are returned as they are."""
    mark = OWN_MARK.encode()
    if data.startswith(_PNG) and data[12:16] == b"IHDR":
        end = 8 + 8 + struct.unpack(">I", data[8:12])[0] + 4          # after IHDR and its CRC
        body = b"tEXt" + b"Software\x00" + mark
        chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        return data[:end] + chunk + data[end:]
    if data.startswith(b"\xff\xd8"):
        return data[:2] + b"\xff\xfe" + struct.pack(">H", len(mark) + 2) + mark + data[2:]
    return data


#: The container metadata our videos carry (``Mp4Writer(metadata=...)``).
OWN_VIDEO_METADATA = {"comment": f"{OWN_MARK} video"}


# -- what a command reads ---------------------------------------------------------------------

def data_inputs(folder: str | os.PathLike | None) -> list[Path]:
    """The data files of a data set folder: its annotation and split files and every media
    file in it and in every sub-folder that may hold its videos
    (:data:`~model_core.data_layout.VIDEO_SUBDIRS`: what an output there would clobber). A file (an annotation file given for the folder) gives itself and the data
    files beside it."""
    if folder is None:
        return []
    root = Path(folder)
    if not root.is_dir():
        return beside(root) if os.path.lexists(root) else []
    out = [root / n for n in DATA_FILES if os.path.lexists(root / n)]
    for d in (root, *(root / sub for sub in layout.VIDEO_SUBDIRS)):
        try:
            out += [p for p in d.iterdir()
                    if p.suffix.lower() in MEDIA_SUFFIXES or _AVSOL_E_NAME.match(p.name)]
        except OSError:
            continue
    return list(dict.fromkeys(out))


def beside(path: str | os.PathLike | None) -> list[Path]:
    """``path`` and the data files of its folder (an annotation file's videos and split
    files, a video's annotations): what a command reading ``path`` also reads or may."""
    if path is None:
        return []
    p = Path(path)
    return [p, *data_inputs(p.parent)] if p.parent.is_dir() else [p]


def report_inputs(path: str | os.PathLike | None) -> list[Path]:
    """``path`` and every file its ``meta`` points at (:func:`meta_inputs`). A report that
    cannot be read gives only itself (reading it fails later, with its own message)."""
    if path is None:
        return []
    out = [Path(path)]
    try:
        if not os.path.isfile(path) or os.path.getsize(path) > 512 << 20:
            return out
        with open(path, "rb") as fh:                 # a video is not parsed as JSON
            if not fh.read(64).lstrip().startswith(b"{"):
                return out
        with open(path, encoding="utf-8") as fh:
            meta = json.load(fh).get("meta")
    except (OSError, ValueError, AttributeError, RecursionError):
        return out
    return list(dict.fromkeys([*out, *meta_inputs(meta)]))


def meta_inputs(meta) -> list[Path]:
    """Every file a report's ``meta`` points at: the annotations (and the files beside
    them), the data folder's files, the maps file, the checkpoints, the reports it came
    from (a report held in memory, as the viewer's, declares its sources with this)."""
    if not isinstance(meta, dict):
        return []

    def paths(value) -> Iterable[str]:
        if isinstance(value, str) and value:
            yield value
        elif isinstance(value, list):
            for v in value:
                if isinstance(v, dict):
                    v = v.get("path")
                if isinstance(v, str) and v:
                    yield v

    out: list[Path] = []
    for key in ("annotations", "maps", "videos", "report", "reports", "rescored_from_report"):
        for p in paths(meta.get(key)):
            out += data_inputs(p) if os.path.isdir(p) else beside(p)
    for p in paths(meta.get("data")):
        out += [Path(p), *data_inputs(p)]
    for p in paths(meta.get("checkpoints")):
        out.append(Path(p))
    return list(dict.fromkeys(out))


# -- why an input cannot be read ------------------------------------------------------------

def why_missing(path: str | os.PathLike[str], default: str = "not found") -> str:
    """Why a path that does not resolve is missing: a symlink loop or a broken symlink is
    named as such (not "file not found": the name is there), anything else is ``default``."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop (the links never reach a file)"
        if os.path.islink(path):
            try:
                return f"broken symlink (its target {os.readlink(path)} does not exist)"
            except OSError:
                pass
    return default


def input_problem(path: str | os.PathLike, what: str = "file") -> str | None:
    """Why ``path`` cannot be read as an input ``what`` (None: a non-empty regular file).

    Named as what it is: "symlink loop" (not "file not found"), "a FIFO (named pipe)" or
    "a device" (whose size reads 0, not "empty file (0 bytes)"), "a folder".
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOENT, errno.ENOTDIR):
            return why_missing(path, "file not found")
        return f"cannot read ({exc.strerror or exc})"
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        return f"is a folder, not a {what}"
    if stat.S_ISFIFO(mode):
        return f"is a FIFO (named pipe), not a {what}: give a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return f"is a device, not a {what}: give a regular file"
    if stat.S_ISSOCK(mode):
        return f"is a socket, not a {what}: give a regular file"
    if st.st_size == 0:
        return "empty file (0 bytes)"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None
