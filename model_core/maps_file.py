"""The maps file (SPEC 9): localization maps of any model, as a plain ``.npz``.

Keys: ``maps`` float32 N x h x w, ``videos`` N strings (file names as in the annotations),
``times`` N float64 seconds (frame times), optional ``head`` (a 0-d string array), and any
number of extra arrays (``p_avc`` N float32 from ``avsol infer``, ...). Strings are stored
as fixed-width unicode arrays, never objects, so the file loads with
``np.load(allow_pickle=False)``: a file holding pickled objects is refused, since loading it
could run code. Every problem with a file read is an :class:`InputError` naming the file,
because maps files come from other tools too (``avsol metrics`` evaluates "any model").
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

RESERVED = ("maps", "videos", "times", "head")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class MapsFile:
    """The content of a maps file. ``videos`` is a numpy array of str (one per map)."""

    maps: np.ndarray
    videos: np.ndarray
    times: np.ndarray
    head: str | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)

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


def save_maps(path: str | os.PathLike, maps: np.ndarray, videos: Sequence[str], times: np.ndarray,
              head: str | None = None, extra: dict[str, np.ndarray] | None = None) -> None:
    """Write a maps file atomically.

    Parameters
    ----------
    maps : N x h x w, stored as float32.
    videos : N file names (one per map; repeated for the frames of one video).
    times : N frame times in seconds, stored as float64.
    head : the head that made the maps (``avc``, ``cls``, ``dnm``) or None.
    extra : further arrays stored under their own names (e.g. ``p_avc``), not pickled.

    Raises
    ------
    ValueError
        On arrays of the wrong shape or type, or an extra name that clashes or is not an
        identifier (a programming error, not bad user input).
    """
    maps = np.asarray(maps)
    if maps.dtype.kind == "f":
        maps = np.ascontiguousarray(maps, dtype=np.float32)
    videos = np.asarray([str(v) for v in videos], dtype=str) if len(videos) else np.zeros(0, dtype="<U1")
    times = np.asarray(times)
    problems = _check(maps, videos, times)
    if problems:
        raise ValueError("; ".join(problems))
    arrays: dict[str, np.ndarray] = {"maps": maps, "videos": videos, "times": times.astype(np.float64)}
    if head is not None:
        arrays["head"] = np.asarray(str(head))
    for name, value in (extra or {}).items():
        if name in RESERVED or not _NAME.match(name):
            raise ValueError(f"extra array name {name!r} is reserved or not an identifier")
        value = np.asarray(value)
        if value.dtype.kind == "O":
            raise ValueError(f"extra array {name!r} holds Python objects (would need pickling)")
        arrays[name] = value

    def write(tmp) -> None:
        with open(tmp, "wb") as fh:  # a file object: savez would otherwise append '.npz'
            np.savez(fh, **arrays)

    write_with(path, write, suffix=".npz")


def load_maps(path: str | os.PathLike) -> MapsFile:
    """Read and check a maps file; every problem is an :class:`InputError` naming it."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(path, "file not found")
    if os.path.isdir(path):
        raise InputError(path, "is a folder, not a maps file")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror or exc})") from None
    if not (magic.startswith(b"PK\x03\x04") or magic.startswith(b"\x93NUMPY")):
        raise InputError(path, "not a maps file: not an .npz (zip) archive")
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
    if "p_avc" in data:
        problems = _check_p_avc(data["p_avc"], len(maps))
        if problems:
            raise InputError(path, "; ".join(problems))
    return MapsFile(maps.astype(np.float32, copy=False), videos, times.astype(np.float64, copy=False),
                    head, data)
