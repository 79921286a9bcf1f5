"""The maps file (SPEC 9): localization maps of any model, as a plain ``.npz``.

Keys: ``maps`` float32 N x h x w, ``videos`` N strings (file names as in the annotations),
``times`` N float64 seconds (frame times), optional ``head`` (a 0-d string array), and any
number of extra arrays (``p_avc`` N float32 from ``avsol infer``, ...).

The map's scale: models of the field return maps on different scales, and a
maps file keeps each model's NATIVE map with optional ``map_kind`` (a 0-d string, one of
``model_core.map_scale.MAP_KINDS``; absent means ``sigmoid``, what every file
before had), ``tau`` (0-d float, a ``cosine_tau`` map's temperature), ``family`` (0-d
string) and ``crop`` (4 floats ``x0, y0, x1, y1``: the part of the frame the maps cover,
in fractions; absent means the whole frame). Scoring (``model_core.metrics``) puts the
maps on their absolute [0, 1] scale by ``map_kind`` and the crop back on the frame. Strings are stored
as fixed-width unicode arrays, never objects, so the file loads with
``np.load(allow_pickle=False)``: a file holding pickled objects is refused, since loading it
could run code. Every problem with a file read is an :class:`InputError` naming the file,
because maps files come from other tools too (``avsol metrics`` evaluates "any model").

Bounded reading: an ``.npz`` is a zip whose members say their own shapes, and a few MB
of zeros compress into a member that claims gigabytes (a crafted 3.2 MB file beside a
video cost the viewer 4.7 GB). :func:`read_headers` reads every member's ``.npy`` header
(shape and dtype, a few hundred bytes) without decompressing the data, and
:func:`load_maps` refuses, before allocating anything, a file whose shapes disagree, whose
maps are absurdly large, or whose content claims far more bytes than the file could
honestly hold; given a :class:`MapsBounds` (the video the maps belong to), also more maps
than the video has frames or maps of another size than the model's.
"""
from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from model_core.atomic import write_with
from model_core.errors import InputError

RESERVED = ("maps", "videos", "times", "head", "map_kind", "tau", "family", "crop")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Largest side of one map (the models' maps are 7-56 pixels; a heat map at video
#: resolution from another tool fits too).
MAX_MAP_SIDE = 4096
#: Longest file name in ``videos`` (characters; PATH_MAX).
MAX_NAME_CHARS = 4096
#: Most bytes a maps file may unpack to, whatever it holds (an hour of every frame at
#: 30 fps with 56 x 56 maps is 1.4 GB).
MAX_BYTES = 8 << 30
#: Content may unpack to at most this many times the file's size once it is over
#: :data:`BOMB_FLOOR` bytes: float maps compress little (measured on model maps with
#: ``savez_compressed``: ~1.1x); a member claiming 1000x its compressed size is crafted.
MAX_RATIO = 64
BOMB_FLOOR = 256 << 20


@dataclass(frozen=True)
class MapsBounds:
    """What a maps file must fit when it belongs to one known video (the viewer's
    recorded maps): at most ``max_maps`` maps (one per frame), each ``map_shape`` if given,
    every ``videos`` entry equal to ``video`` if given, every time in ``[0, duration]``
    (plus one frame) if given."""

    max_maps: int | None = None
    map_shape: tuple[int, int] | None = None
    video: str | None = None
    duration: float | None = None


@dataclass(frozen=True)
class MemberHeader:
    """One array of an ``.npz`` as its header describes it (nothing decompressed)."""

    shape: tuple[int, ...]
    dtype: np.dtype
    compressed_bytes: int

    @property
    def nbytes(self) -> int:
        n = 1
        for d in self.shape:
            n *= int(d)
        return n * int(self.dtype.itemsize)


@dataclass
class MapsFile:
    """The content of a maps file. ``videos`` is a numpy array of str (one per map)."""

    maps: np.ndarray
    videos: np.ndarray
    times: np.ndarray
    head: str | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    map_kind: str = "sigmoid"
    tau: float | None = None
    family: str | None = None
    crop: tuple[float, float, float, float] | None = None

    def __len__(self) -> int:
        return int(self.maps.shape[0])


def _check(maps: np.ndarray, videos: np.ndarray, times: np.ndarray) -> list[str]:
    """Shape/dtype problems of the three required arrays, as messages (empty: all good)."""
    problems = []
    if maps.ndim != 3:
        problems.append(f"'maps' must be N x h x w, got shape {maps.shape}")
    elif min(maps.shape[1:]) < 1:
        problems.append(f"'maps' must be N x h x w with h, w >= 1, got shape {maps.shape}")
    elif not np.issubdtype(maps.dtype, np.floating):
        problems.append(f"'maps' must be floating point, got {maps.dtype}")
    elif maps.size and not np.isfinite(maps).all():
        problems.append("'maps' holds NaN or infinite values")
    n = maps.shape[0] if maps.ndim else -1
    if videos.ndim != 1 or videos.shape[0] != n:
        problems.append(f"'videos' must hold one name per map ({n}), got shape {videos.shape}")
    elif videos.dtype.kind != "U":
        problems.append(f"'videos' must be strings, got {videos.dtype}")
    if times.ndim != 1 or times.shape[0] != n:
        problems.append(f"'times' must hold one time per map ({n}), got shape {times.shape}")
    elif times.dtype.kind not in "fiu":
        problems.append(f"'times' must be numbers, got {times.dtype}")
    elif times.size and not np.isfinite(times.astype(np.float64)).all():
        problems.append("'times' holds NaN or infinite values")
    elif times.size and (times < 0).any():
        problems.append(f"'times' must be >= 0 s, got {float(times.min()):g}")
    return problems


def _check_p_avc(p_avc: np.ndarray, n: int) -> list[str]:
    """Problems of the optional ``p_avc`` array: N probabilities in [0, 1]."""
    if p_avc.dtype.kind not in "fiub":
        return [f"'p_avc' must be numbers, got {p_avc.dtype}"]
    if p_avc.shape != (n,):
        return [f"'p_avc' must hold one value per map ({n}), got shape {p_avc.shape}"]
    values = p_avc.astype(np.float64)
    if not np.isfinite(values).all():
        return ["'p_avc' holds NaN or infinite values"]
    if values.size and (values.min() < 0 or values.max() > 1):
        return [f"'p_avc' must be probabilities in [0, 1], got values in "
                f"[{values.min():g}, {values.max():g}]"]
    return []


def _check_content(path: str, videos: np.ndarray, times: np.ndarray, bounds: MapsBounds) -> None:
    """The names and times of maps that must belong to ``bounds``'s video."""
    if bounds.video is not None and videos.size:
        others = sorted(set(videos.tolist()) - {bounds.video})
        if others:
            raise InputError(path, f"maps of {others[0]!r}, not of {bounds.video!r}: not this video's maps")
    if bounds.duration is not None and times.size:
        if float(times.max()) > bounds.duration + 0.5:
            raise InputError(path, f"a map at {float(times.max()):g} s, past the end of the video "
                                   f"({bounds.duration:g} s): not this video's maps")


def save_maps(path: str | os.PathLike, maps: np.ndarray, videos: Sequence[str], times: np.ndarray,
              head: str | None = None, extra: dict[str, np.ndarray] | None = None,
              map_kind: str | None = None, tau: float | None = None, family: str | None = None,
              crop: Sequence[float] | None = None) -> None:
    """Write a maps file atomically.

    Parameters
    ----------
    maps : N x h x w, stored as float32.
    videos : N file names (one per map; repeated for the frames of one video).
    times : N frame times in seconds, stored as float64.
    head : the head that made the maps (``avc``, ``cls``, ``dnm``) or None.
    extra : further arrays stored under their own names (e.g. ``p_avc``), not pickled.
    map_kind, tau, family, crop : the maps' native scale, its temperature, the model's
        family and the frame region the maps cover (module docstring); None: not stored.

    Raises
    ------
    ValueError
        On arrays of the wrong shape or type, or an extra name that clashes or is not an
        identifier (a programming error, not bad user input).
    """
    maps = np.asarray(maps)
    if maps.dtype.kind == "f":
        maps = np.ascontiguousarray(maps, dtype=np.float32)
    names = np.asarray([str(v) for v in videos], dtype=str) if len(videos) else np.zeros(0, dtype="<U1")
    times = np.asarray(times)
    problems = _check(maps, names, times)
    if problems:
        raise ValueError("; ".join(problems))
    arrays: dict[str, np.ndarray] = {"maps": maps, "videos": names, "times": times.astype(np.float64)}
    if head is not None:
        arrays["head"] = np.asarray(str(head))
    if map_kind is not None:
        from model_core.map_scale import MAP_KINDS

        if map_kind not in MAP_KINDS:
            raise ValueError(f"unknown map_kind {map_kind!r}")
        arrays["map_kind"] = np.asarray(str(map_kind))
    if tau is not None:
        arrays["tau"] = np.asarray(float(tau), np.float64)
    if family is not None:
        arrays["family"] = np.asarray(str(family))
    if crop is not None:
        arrays["crop"] = np.asarray([float(v) for v in crop], np.float64).reshape(4)
    for name, value in (extra or {}).items():
        if name in RESERVED or not _NAME.match(name):
            raise ValueError(f"extra array name {name!r} is reserved or not an identifier")
        value = np.asarray(value)
        if value.dtype.kind == "O":
            raise ValueError(f"extra array {name!r} holds Python objects (would need pickling)")
        arrays[name] = value

    def write(tmp) -> None:
        with open(tmp, "wb") as fh:  # a file object: savez would otherwise append '.npz'
            np.savez(fh, **arrays)  # type: ignore[arg-type]  # the stub matches **arrays to allow_pickle

    write_with(path, write, suffix=".npz")


def read_headers(path: str | os.PathLike) -> dict[str, MemberHeader]:
    """``{array name: MemberHeader}`` of an ``.npz``, from the members' ``.npy`` headers only.

    Raises :class:`InputError` naming the file when it is not a zip of ``.npy`` arrays or
    a header can't be read. An object (pickled) array is reported by :func:`load_maps`.
    """
    path = os.fspath(path)
    out: dict[str, MemberHeader] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                    else:  # (3, 0): a utf-8 header, same fields
                        # numpy's only reader of a 3.0 header is private
                        shape, _, dtype = np.lib.format._read_array_header(fh, version)  # type: ignore[attr-defined]
                out[name] = MemberHeader(tuple(int(d) for d in shape), np.dtype(dtype), int(info.compress_size))
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, TypeError, SyntaxError) as exc:
        raise InputError(path, f"not a readable .npz maps file ({type(exc).__name__}: "
                               f"{str(exc)[:200]})") from None
    return out


def _gb(n: int) -> str:
    return f"{n / 1e9:.3g} GB" if n >= 1e8 else f"{n / 1e6:.3g} MB"


def _check_headers(path: str, heads: dict[str, MemberHeader], bounds: MapsBounds | None,
                   file_size: int) -> None:
    """Refuse, from the headers alone, a file that would unpack to something absurd."""
    m = heads.get("maps")
    if m is not None and len(m.shape) == 3:
        n, h, w = m.shape
        if max(h, w) > MAX_MAP_SIDE:
            raise InputError(path, f"'maps' of {h} x {w} pixels each (shape {m.shape}): more than "
                                   f"{MAX_MAP_SIDE} pixels a side is not a localization map")
        for key, what in (("videos", "name"), ("times", "time"), ("p_avc", "value")):
            other = heads.get(key)
            if other is not None and other.shape != (n,) and other.dtype.kind != "O":
                raise InputError(path, f"'{key}' must hold one {what} per map ({n}), got shape {other.shape}")
        if bounds is not None:
            if bounds.max_maps is not None and n > bounds.max_maps:
                raise InputError(path, f"{n} maps for a video of {bounds.max_maps} frames: "
                                       "not the maps of this video")
            if bounds.map_shape is not None and (h, w) != tuple(bounds.map_shape):
                raise InputError(path, f"maps of {h} x {w} pixels, but the model makes "
                                       f"{bounds.map_shape[0]} x {bounds.map_shape[1]}: not this model's maps")
    v = heads.get("videos")
    if v is not None and v.dtype.kind == "U" and v.dtype.itemsize // 4 > MAX_NAME_CHARS:
        raise InputError(path, f"'videos' names of {v.dtype.itemsize // 4} characters: not file names")
    total = sum(h.nbytes for h in heads.values())
    if total > MAX_BYTES:
        raise InputError(path, f"would unpack to {_gb(total)} (more than {_gb(MAX_BYTES)}): refused")
    if total > BOMB_FLOOR and total > MAX_RATIO * max(file_size, 1):
        raise InputError(path, f"a {_gb(file_size)} file claiming {_gb(total)} of maps "
                               f"({total // max(file_size, 1)}x its size; crafted?): refused")


def load_maps(path: str | os.PathLike, bounds: MapsBounds | None = None) -> MapsFile:
    """Read and check a maps file; every problem is an :class:`InputError` naming it.

    The members' headers are checked first (:func:`read_headers`), so a file that would
    unpack to gigabytes, or that can't be the maps of the video ``bounds`` describes, is
    refused before any array is allocated.
    """
    from model_core.input_protection import input_problem

    path = os.fspath(path)
    problem = input_problem(path, "maps file")      # a FIFO, device or symlink loop named as such
    if problem is not None and not problem.startswith("empty file"):
        raise InputError(path, problem)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror or exc})") from None
    if magic.startswith(b"\x93NUMPY"):
        raise InputError(path, "not a maps file (a single .npy array, not an .npz archive)")
    if not magic.startswith(b"PK\x03\x04"):
        raise InputError(path, "not a maps file: not an .npz (zip) archive")
    _check_headers(path, read_headers(path), bounds, os.path.getsize(path))
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise InputError(path, "not a maps file (a single .npy array, not an .npz archive)")
        with npz:
            data = {}
            for name in npz.files:
                try:
                    data[name] = npz[name]
                except ValueError as exc:
                    if "pickle" in str(exc).lower():
                        raise InputError(path, f"array {name!r} holds pickled objects (refused: "
                                               "loading it could run code)") from None
                    raise
    except InputError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise InputError(path, f"not a readable .npz maps file ({type(exc).__name__}: "
                               f"{str(exc)[:200]})") from None
    missing = [k for k in ("maps", "videos", "times") if k not in data]
    if missing:
        raise InputError(path, f"not a maps file: missing {', '.join(repr(k) for k in missing)}")
    maps, videos, times = data.pop("maps"), data.pop("videos"), data.pop("times")
    problems = _check(maps, videos, times)
    if problems:
        raise InputError(path, "; ".join(problems))
    head = None
    if "head" in data:
        h = data.pop("head")
        if h.dtype.kind != "U" or h.size != 1:
            raise InputError(path, f"'head' must be one string, got {h.dtype} of shape {h.shape}")
        head = str(h.reshape(()))
    map_kind, tau, family, crop = _read_scale(path, data)
    if "p_avc" in data:
        problems = _check_p_avc(data["p_avc"], len(maps))
        if problems:
            raise InputError(path, "; ".join(problems))
    if bounds is not None:
        _check_content(path, videos, times, bounds)
    return MapsFile(maps.astype(np.float32, copy=False), videos, times.astype(np.float64, copy=False),
                    head, data, map_kind, tau, family, crop)


def _read_scale(path: str, data: dict) -> tuple:
    """``(map_kind, tau, family, crop)`` popped from a file's arrays, checked (module docstring)."""
    from model_core.map_scale import MAP_KINDS

    def one_string(name):
        a = data.pop(name)
        if a.dtype.kind != "U" or a.size != 1:
            raise InputError(path, f"{name!r} must be one string, got {a.dtype} of shape {a.shape}")
        return str(a.reshape(()))

    map_kind = one_string("map_kind") if "map_kind" in data else "sigmoid"
    if map_kind not in MAP_KINDS:
        raise InputError(path, f"unknown map_kind {map_kind!r} (expected one of {', '.join(MAP_KINDS)})")
    tau = None
    if "tau" in data:
        t = data.pop("tau")
        if t.dtype.kind not in "fi" or t.size != 1 or not np.isfinite(t).all() or not float(t.reshape(())) > 0:
            raise InputError(path, f"'tau' must be one number > 0, got {t.dtype} of shape {t.shape}")
        tau = float(t.reshape(()))
    if map_kind == "cosine_tau" and tau is None:
        raise InputError(path, "map_kind 'cosine_tau' needs 'tau' (the model's temperature)")
    family = one_string("family") if "family" in data else None
    crop = None
    if "crop" in data:
        c = data.pop("crop")
        if c.dtype.kind not in "fi" or c.shape != (4,) or not np.isfinite(c).all() \
                or not (0 <= c[0] < c[2] <= 1 and 0 <= c[1] < c[3] <= 1):
            raise InputError(path, "'crop' must be 4 fractions x0 < x1, y0 < y1 in [0, 1]")
        crop = tuple(float(v) for v in c)
    return map_kind, tau, family, crop
