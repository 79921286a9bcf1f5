"""What every command promises about its outputs, checked before any work (SPEC 9).

One mechanism for every writer (``avsol synth/import/train/infer/metrics/eval/compare``,
``avsol-viewer --screenshot``, and the viewer's export video, live recording, report/CSV
export, contact sheet and screenshot), called by each writer right after parsing and
before it decodes, caches or trains anything (checking only the paths a command line
names would let a rescore write over the annotations it read, or an infer over another
video):

* :func:`check_outputs` refuses an output that is an input (the same file after resolving
  links, hard links included) of everything the command declared it reads (a report's
  ``meta`` targets and a data folder's files included: :mod:`model_core.input_protection`),
  that is a media, annotation or split file or a checkpoint anywhere, or another kind's
  output (each output has a kind and may replace only an earlier output of that kind,
  known by its content), a folder, a device or a FIFO, or that lies under a regular file
  ("Not a directory"), and makes sure the output's folder exists and is writable. A
  *symlinked* output is written through to its target (the link stays a link; the target
  is replaced atomically), so the returned path is the one to write.
  :func:`check_writable_output` is the same check for the viewer's writers.
* :func:`claim_outputs` is everything a command does before its work: the checks, the
  lock of :mod:`model_core.outputs.lock`, and :func:`remove_stale_temps`, which drops the
  ``.NAME.*.tmp`` files that killed runs of :mod:`model_core.atomic` left behind.

Qt-free, torch-free: imported by the CLI before anything heavy.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Iterable, Mapping

from model_core.errors import InputError
from model_core.input_protection import ANNOTATIONS, MEDIA, REPLACES, SPLIT, identify
from model_core.outputs.lock import OutputLock, is_main_rank


# -- paths ------------------------------------------------------------------------------------

def _key(path: str | os.PathLike) -> str:
    return os.path.realpath(os.fspath(path))


def _inode(path: str | os.PathLike) -> tuple[int, int] | None:
    """(device, inode) of what ``path`` resolves to; None if it does not resolve."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` are one file: the same path after resolving links, or (both
    existing) the same inode, which catches hard links too."""
    if _key(a) == _key(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _nearest_existing(path: Path) -> Path:
    p = path
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def check_folder(folder: str | os.PathLike, what: str = "output folder") -> Path:
    """Make sure ``folder`` is (or can be created as) a writable folder; create it.

    A path under a regular file is "Not a directory"; a read-only or full file system,
    or no permission, is named with the system's reason.
    """
    folder = Path(folder)
    base = _nearest_existing(folder)
    if not base.is_dir():
        raise InputError(base, f"Not a directory (the {what} {folder} would lie under a file)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".avsol-write-probe.{os.getpid()}.tmp"
        with open(probe, "wb"):
            pass
        probe.unlink(missing_ok=True)
    except OSError as exc:
        raise InputError(folder, f"cannot write to the {what} ({exc.strerror or exc})") from None
    return folder


#: What each kind of output is called in a refusal.
_KIND_NAMES = {"report": "a report", "comparison": "a comparison", "csv": "an item table",
               "items log": "an items log", "maps": "a maps file", "checkpoint": "a checkpoint",
               "image": "an image", "video": "a video", "annotations": "an annotation file",
               "file": "a file"}


def _replace_problem(found: str, kind: str, label: str) -> str:
    if found in (MEDIA, ANNOTATIONS, SPLIT):
        why = "a media, annotation or split file is never written over"
    else:
        why = f"{label} writes {_KIND_NAMES.get(kind, kind)} and replaces only an earlier one"
    return f"{label} is {found}: refused ({why}); choose another {label}"


def check_output(path: str | os.PathLike, label: str, inputs: Mapping[str, Iterable] | None = None,
                 folder_ok: bool = False, kind: str = "file") -> Path:
    """Refuse an output that would destroy an input or cannot be written; return the path
    to write (a symlink's target: outputs are written through symlinks).

    Parameters
    ----------
    path : the output.
    label : how the user named it (``--out``, ``--csv``, ``OUT``).
    inputs : ``{label: paths}`` of everything the command reads (declared with
        :func:`data_inputs`, :func:`beside` and :func:`report_inputs` for what a folder,
        an annotation file or a report leads to).
    folder_ok : the output is a folder (``avsol synth OUT``).
    kind : what the output is (a key of ``input_protection.REPLACES``): an existing file
        there is replaced only when :func:`identify` knows it as an earlier output of that
        kind, or knows it as nothing (a media, annotation or split file, a checkpoint, a
        report or maps file of another kind are refused, wherever they are).
    """
    raw = Path(path)
    target = Path(os.path.realpath(raw)) if raw.is_symlink() else raw
    # one stat per input (a data folder declares thousands of videos): an existing output is
    # an input when it is the same inode (links of both kinds); a missing one when the
    # resolved paths match
    t_id, t_key = _inode(target), _key(target)
    for in_label, paths in (inputs or {}).items():
        for p in paths:
            if p is None:
                continue
            p_id = _inode(p)
            if p_id == t_id if p_id is not None else (t_id is None and _key(p) == t_key):
                # "through": the input may be one the argument leads to (a file beside
                # the video, what a report's meta names), not the argument itself
                raise InputError(raw, f"{label} is also an input ({p}, read through {in_label}); "
                                      f"writing it would destroy that input: choose another {label}")
            if folder_ok and os.path.isdir(p) and _key(p).startswith(_key(target).rstrip(os.sep) + os.sep):
                raise InputError(raw, f"{label} holds an input ({in_label} {p}): choose another {label}")
    if os.path.lexists(target):
        try:
            mode = os.stat(target).st_mode
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise InputError(raw, f"{label} is a symlink loop: choose another {label}") from None
            mode = 0
        if stat.S_ISDIR(mode):
            if not folder_ok:
                raise InputError(raw, f"{label} is a folder; give a file name")
        elif folder_ok:
            raise InputError(raw, f"{label} is a file, not a folder")
        elif mode and not stat.S_ISREG(mode):
            kind_ = ("a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                     else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
            raise InputError(raw, f"{label} is {kind_}, not a regular file: refused (outputs are "
                                  f"written atomically, which would replace it)")
        elif mode:
            found = identify(target)
            if found is not None and found not in REPLACES.get(kind, ()):
                raise InputError(raw, _replace_problem(found, kind, label))
    check_folder(target if folder_ok else target.parent)
    return target


def check_writable_output(path: str | os.PathLike, kind: str, reads: Iterable = (),
                          label: str = "output") -> Path:
    """:func:`check_output` for one writer outside the CLI (the viewer's exports, a live
    recording, a contact sheet): ``reads`` is everything that writer's source reads (use
    :func:`beside` / :func:`report_inputs` to declare what a video or report leads to)."""
    return check_output(path, label, {"an input": list(reads)}, kind=kind)


def check_outputs(outputs: Mapping[str, str | os.PathLike | tuple | None],
                  inputs: Mapping[str, Iterable] | None = None) -> dict[str, Path]:
    """:func:`check_output` for each output, and no two outputs the same file.

    ``outputs`` maps a label to a path or to ``(path, kind)`` (kind: see
    :func:`check_output`; a bare path is of kind ``file``)."""
    done: dict[str, Path] = {}
    for label, value in outputs.items():
        path, kind = value if isinstance(value, tuple) else (value, "file")
        if path is None:
            continue
        for other, p in done.items():
            if same_file(path, p):
                raise InputError(path, f"{label} and {other} are the same file: give two names")
        done[label] = check_output(path, label, inputs, kind=kind)
    return done


def remove_stale_temps(outputs: Iterable[str | os.PathLike], folders: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """Remove what killed runs left: the ``.NAME.*.tmp`` files of :mod:`model_core.atomic`
    beside each output, and every ``.*.tmp`` in ``folders``. Call with the lock held."""
    found: list[Path] = []
    for out in outputs:
        out = Path(out)
        if out.parent.is_dir():
            found += out.parent.glob(f".{out.name}.*.tmp")
    for folder in folders:
        folder = Path(folder)
        if folder.is_dir():
            found += folder.glob(".*.tmp")
    removed = []
    for p in found:
        try:
            if p.is_file():
                p.unlink()
                removed.append(p)
        except OSError:
            pass
    return removed


def claim_outputs(outputs: Mapping[str, str | os.PathLike | tuple | None],
                  inputs: Mapping[str, Iterable] | None = None, lock: str | None = None,
                  extra_temps: Iterable[str | os.PathLike] = (),
                  temp_folders: Iterable[str | os.PathLike] = ()) -> tuple[dict[str, Path], OutputLock | None]:
    """Everything a command does before its work: :func:`check_outputs`, the lock on
    ``outputs[lock]`` (main rank only), then :func:`remove_stale_temps`.

    Returns the paths to write and the lock (None on other ranks); it is released by
    :func:`~model_core.outputs.lock.release_all` or its own ``release``.
    """
    paths = check_outputs(outputs, inputs)
    held = None
    if lock is not None and lock in paths and is_main_rank():
        held = OutputLock(paths[lock], lock).acquire()
        remove_stale_temps([*paths.values(), *extra_temps], temp_folders)
    return paths, held
