"""Load any supported checkpoint by pointing at the file: ours or a published family's.

- Reading is ``torch.load(weights_only=True)``: plain data and tensors only. Real files of
  the field often carry numpy scalars (``best_cIoU``, ``best_Auc``), so exactly the numpy
  types a pickled numpy scalar needs are allowed (``numpy.core.multiarray.scalar`` under
  both its numpy 1 and numpy 2 names, ``numpy.dtype`` and the numeric dtype classes);
  anything else that would run code is refused in one line.
- The state dict is found under ``model`` (EZ-VSL, FNAC, SLAVC), ``model_state_dict``
  (LVS, SSL-align), ``state_dict`` (SSL-TIE) or at the top (RCGrad), with or without
  DataParallel's ``module.`` prefix.
- The family is detected from the key names (:func:`detect`); families with identical
  keys are told apart by the container (top key, prefix). ``family=NAME``
  (``--model-family``) forces one. A file that matches no family is one line naming the
  closest family and the keys that differ.
- Families come from this package and from plugins: any installed distribution may
  register a :class:`~model_core.models.base.Family` under the entry-point group
  ``avsol.models`` (``docs/models.md``).

Every failure is a :class:`~model_core.errors.CheckpointError` (one line, exit 2 in the CLI).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from model_core.errors import CheckpointError

ENTRY_POINT_GROUP = "avsol.models"
STATE_KEYS = ("model", "model_state_dict", "state_dict")


# -- the registry --------------------------------------------------------------------------
def builtin_families() -> list:
    from model_core.models.ezvsl import EZVSLFamily, FNACFamily
    from model_core.models.lvs import LVSFamily, SSLAlignFamily
    from model_core.models.rcgrad import RCGradFamily
    from model_core.models.slavc import SLAVCFamily
    from model_core.models.ssltie import SSLTIEFamily

    return [EZVSLFamily(), FNACFamily(), SLAVCFamily(), LVSFamily(), SSLAlignFamily(), SSLTIEFamily(),
            RCGradFamily()]


@dataclass
class Registry:
    families: dict = field(default_factory=dict)     # key -> Family, built-ins first
    origin: dict = field(default_factory=dict)       # key -> "built-in" or "plugin <dist>: <value>"
    problems: list = field(default_factory=list)     # one line per plugin that could not be used


def _plugin_entry_points():
    from importlib.metadata import entry_points

    return list(entry_points(group=ENTRY_POINT_GROUP))


def _as_family(obj):
    from model_core.models.base import Family

    if isinstance(obj, type) and issubclass(obj, Family):
        obj = obj()
    elif callable(obj) and not isinstance(obj, Family):
        obj = obj()
    if not isinstance(obj, Family):
        raise TypeError(f"it gives {type(obj).__name__}, not a model_core.models.base.Family")
    if not obj.key or not isinstance(obj.key, str):
        raise TypeError("its family has no key")
    from model_core.models.protocol import MAP_KINDS

    if obj.map_kind not in MAP_KINDS:
        raise TypeError(f"map_kind {obj.map_kind!r} is not one of {', '.join(MAP_KINDS)}")
    if not (isinstance(obj.window_s, (int, float)) and obj.window_s > 0):
        raise TypeError(f"window_s must be > 0 seconds, got {obj.window_s!r}")
    if obj.geometry not in ("squash", "centre"):
        raise TypeError(f"geometry {obj.geometry!r} is not 'squash' or 'centre'")
    return obj


def registry() -> Registry:
    """The families: built-ins, then each plugin's (read afresh on every call, so a
    package installed while the viewer runs is seen; a broken plugin is listed in
    ``problems`` and skipped, never fatal)."""
    reg = Registry()
    for fam in builtin_families():
        reg.families[fam.key] = fam
        reg.origin[fam.key] = "built-in"
    try:
        eps = _plugin_entry_points()
    except Exception as exc:  # noqa: BLE001 - broken metadata must not stop the app
        reg.problems.append(f"entry points of {ENTRY_POINT_GROUP!r} unreadable ({type(exc).__name__}: {exc})")
        eps = []
    for ep in eps:
        where = f"{ep.name} = {ep.value}"
        try:
            fam = _as_family(ep.load())
        except Exception as exc:  # noqa: BLE001 - a plugin's failure is named, not raised
            reg.problems.append(f"plugin {where}: cannot be used ({type(exc).__name__}: {str(exc)[:200]})")
            continue
        if fam.key in reg.families:
            reg.problems.append(f"plugin {where}: family {fam.key!r} already exists ({reg.origin[fam.key]}); skipped")
            continue
        reg.families[fam.key] = fam
        dist = getattr(getattr(ep, "dist", None), "name", None)
        reg.origin[fam.key] = f"plugin {dist or ep.name} ({ep.value})"
    return reg


def family_names() -> list[str]:
    return list(registry().families)


# -- reading -------------------------------------------------------------------------------
def _numpy_safe_globals() -> list:
    """The globals a pickled numpy scalar needs, under the names real files carry."""
    import numpy as np

    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # numpy 1
        from numpy.core.multiarray import scalar  # type: ignore[no-redef]  # the same function, numpy 1's path
    allowed: list = [np.dtype, (scalar, "numpy.core.multiarray.scalar"),
                     (scalar, "numpy._core.multiarray.scalar")]
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        for name in ("BoolDType", "Int8DType", "UInt8DType", "Int16DType", "UInt16DType", "Int32DType",
                     "UInt32DType", "Int64DType", "UInt64DType", "LongDType", "ULongDType",
                     "LongLongDType", "ULongLongDType", "Float16DType", "Float32DType",
                     "Float64DType", "LongDoubleDType"):
            cls = getattr(dtypes, name, None)
            if cls is not None:
                allowed.append(cls)
    return allowed


def read_file(path: str | os.PathLike) -> Any:
    """The object in a torch file, read with ``weights_only=True`` and the numpy-scalar
    allowlist; every failure is one :class:`CheckpointError` line."""
    import torch

    from model_core.model.checkpoint import check_torch_file

    path = os.fspath(path)
    check_torch_file(path)
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a bad file, whatever torch says
        text = str(exc)
        if "Weights only load failed" in text or "weights_only" in text or "Unsupported global" in text:
            import re

            found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
            what = f" ({found.group(1)})" if found else ""
            why = f"holds objects other than tensors and plain data{what} (refused: loading it could run code)"
        elif "zip" in text.lower() or "EOF" in text or "truncated" in text.lower():
            why = "truncated or not a torch file"
        else:
            why = f"not a readable checkpoint ({type(exc).__name__})"
        raise CheckpointError(path, why) from None


@dataclass
class Contents:
    """A published checkpoint's state dict and where it sat in the file."""

    state: dict
    top_key: str | None          # 'model', 'model_state_dict', 'state_dict' or None (flat)
    had_module_prefix: bool
    other_keys: list             # the file's other top-level entries (epoch, best_cIoU, optimizer, ...)


def _is_state(d) -> bool:
    import torch

    return isinstance(d, dict) and bool(d) and all(isinstance(k, str) for k in d) and \
        all(isinstance(v, torch.Tensor) for v in d.values())


def extract_state(obj, path=None) -> Contents:
    """Find the state dict in a loaded file (see the module docstring)."""
    if not isinstance(obj, dict):
        raise CheckpointError(path, f"not a checkpoint of a known model (the file holds a {type(obj).__name__})")
    top_key, state = None, None
    for k in STATE_KEYS:
        if k in obj and _is_state(obj[k]):
            top_key, state = k, obj[k]
            break
    if state is None:
        if _is_state(obj):
            state = obj
        else:
            found = ", ".join(repr(k) for k in list(obj)[:6])
            raise CheckpointError(path, "no state dict in the file (looked for 'model', 'model_state_dict', "
                                        f"'state_dict' or a flat mapping of tensors; it has {found})")
    had = bool(state) and all(k.startswith("module.") for k in state)
    if had:
        state = {k[len("module."):]: v for k, v in state.items()}
    others = [str(k) for k in obj if k != top_key] if top_key else []
    return Contents(dict(state), top_key, had, others)


# -- detection -----------------------------------------------------------------------------
@dataclass
class Match:
    family: Any
    missing: list
    unexpected: list

    @property
    def exact(self) -> bool:
        return not self.missing and not self.unexpected

    @property
    def distance(self) -> int:
        return len(self.missing) + len(self.unexpected)


def _differ(m: Match, most: int = 4) -> str:
    parts = []
    if m.missing:
        parts.append(f"{len(m.missing)} missing (e.g. {', '.join(m.missing[:most])})")
    if m.unexpected:
        parts.append(f"{len(m.unexpected)} unexpected (e.g. {', '.join(m.unexpected[:most])})")
    return "; ".join(parts)


def detect(contents: Contents, family: str | None = None, path=None, reg: Registry | None = None) -> Match:
    """The family of a state dict: the forced one (which must match), else the exact
    match (ties by container hints), else a :class:`CheckpointError` naming the closest."""
    reg = reg or registry()
    keys = list(contents.state)
    if family is not None:
        fam = reg.families.get(family)
        if fam is None:
            raise CheckpointError(path, f"unknown model family {family!r} (known: {', '.join(reg.families)})")
        m = Match(fam, *fam.key_diff(keys))
        if not m.exact:
            raise CheckpointError(path, f"does not match family {fam.key} ({fam.title}): {_differ(m)}")
        return m
    matches = [Match(f, *f.key_diff(keys)) for f in reg.families.values()]
    exact = [m for m in matches if m.exact]
    if exact:
        # stable: the registry's order breaks remaining ties (EZ-VSL before FNAC)
        return max(exact, key=lambda m: m.family.hint_score(contents.top_key, contents.had_module_prefix))
    closest = min(matches, key=lambda m: m.distance)
    raise CheckpointError(path, f"matches no known model family; closest is {closest.family.key} "
                                f"({closest.family.title}): {_differ(closest)}")


# -- the one entry point -------------------------------------------------------------------
def is_ours(obj) -> bool:
    from model_core.model.checkpoint import FORMAT

    return isinstance(obj, dict) and obj.get("format") == FORMAT


def load_model(path: str | os.PathLike, device="auto", family: str | None = None, batch_size: int = 16,
               threads: int | None = None, name: str | None = None, backend: str = "torch",
               precision: str = "fp32"):
    """The :class:`~model_core.models.protocol.MapModel` of a checkpoint file: our
    :class:`~model_core.inference.localizer.Localizer` for an AVSOL Studio checkpoint, a
    family's model for a published one (detected, or ``family``). ``backend`` and
    ``precision`` choose what runs its visual step (:mod:`model_core.inference.backends`)."""
    from pathlib import Path

    path = os.fspath(path)
    obj = read_file(path)
    if is_ours(obj):
        if family not in (None, "dnm"):
            raise CheckpointError(path, f"is an AVSOL Studio checkpoint (family dnm), not {family!r}")
        from model_core.inference.localizer import Localizer

        model = Localizer(path, device=device, batch_size=batch_size, threads=threads, backend=backend,
                          precision=precision)
        if name:
            model.name = name
        return model
    if family == "dnm":
        raise CheckpointError(path, "is not an AVSOL Studio checkpoint (no 'format': 'avsol-checkpoint')")
    contents = extract_state(obj, path)
    match = detect(contents, family, path)
    fam = match.family
    fam.check_shapes(contents.state, path)
    return fam.build(contents.state, device=device, name=name or Path(path).stem.split(".")[0],
                     batch_size=batch_size, threads=threads, path=path, backend=backend, precision=precision)


def _parameter_count(state: dict) -> int:
    """Learnable numbers: every floating tensor but batch norm's running statistics."""
    return sum(int(v.numel()) for k, v in state.items() if v.is_floating_point()
               and not k.endswith(("running_mean", "running_var", "spectrogram.window")))


def inspect(path: str | os.PathLike, family: str | None = None) -> dict:
    """What ``avsol models inspect`` prints: family, parameters, key differences, inputs,
    licence. Raises :class:`CheckpointError` for a file that cannot be used."""
    path = os.fspath(path)
    obj = read_file(path)
    if is_ours(obj):
        from model_core.model.checkpoint import load_checkpoint

        ck = load_checkpoint(path)
        n = _parameter_count(ck.state_dict)
        return {"file": path, "family": "dnm", "title": f"AVSOL Studio ({ck.head})", "parameters": n,
                "container": "avsol-checkpoint", "missing": [], "unexpected": [], "ignored": [],
                "inputs": (f"audio: 1 s at 16000 Hz mono, log-mel 64 x 101; image: squashed to "
                           f"{ck.config.image_size}, uint8; map: sigmoid at {ck.config.map_size}x{ck.config.map_size}"),
                "licence": "this project's", "repository": "", "weights": "trained by you",
                "same_layout_as": None, "classes": list(ck.classes)}
    contents = extract_state(obj, path)
    match = detect(contents, family, path)
    fam = match.family
    fam.check_shapes(contents.state, path)
    ignored = sorted(k for k in contents.state if k.startswith(fam.ignored_prefixes)) if fam.ignored_prefixes else []
    n = _parameter_count({k: v for k, v in contents.state.items() if k not in ignored})
    container = (f"{contents.top_key!r}" if contents.top_key else "flat state dict") + \
        (" with 'module.' prefix" if contents.had_module_prefix else "")
    return {"file": path, "family": fam.key, "title": fam.title, "parameters": n, "container": container,
            "missing": match.missing, "unexpected": match.unexpected, "ignored": ignored,
            "inputs": fam.describe_inputs(), "licence": fam.licence, "repository": fam.repository,
            "weights": fam.weights, "same_layout_as": fam.same_layout_as, "classes": [],
            "other_entries": contents.other_keys}
