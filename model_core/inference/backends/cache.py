"""The compiled-model cache: one folder, entries named by what they were built from.

An entry's name is a digest of everything its bytes depend on: the weights' content (not
the file's path or date, so a copied or renamed checkpoint hits and a retrained one does
not), the model step, the input shape, the backend, the precision and the runtime's
version. Entries are written atomically (:mod:`model_core.atomic`): a kill while
compiling leaves no torn file, only a missing one, rebuilt next time.

``auto``'s measurements are kept beside them (``decisions.json``), keyed by the machine,
the model's architecture (names and shapes of its weights, not their values: speed does
not depend on them) and the input, so each machine measures each architecture once.

The folder is ``$AVSOL_CACHE`` when set, else the platform's cache folder
(``$XDG_CACHE_HOME/avsol`` or ``~/.cache/avsol`` on Linux, ``~/Library/Caches/avsol`` on
macOS, ``%LOCALAPPDATA%\\avsol\\Cache`` on Windows), under ``compiled/``.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import threading
from pathlib import Path

from model_core.atomic import write_json

#: Bump when the way entries are built changes, so old entries are never read.
CACHE_FORMAT = 1
_decisions_lock = threading.Lock()


def cache_root() -> Path:
    """The user's AVSOL cache folder (see the module docstring)."""
    env = os.environ.get("AVSOL_CACHE")
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "avsol"
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(base) / "avsol" / "Cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "avsol"


def compiled_dir() -> Path:
    return cache_root() / "compiled"


def digest(*parts) -> str:
    """A short stable digest of ``parts`` (strings, numbers, tuples)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((CACHE_FORMAT, *parts)).encode("utf-8"))
    return h.hexdigest()


def weights_digest(module) -> str:
    """Digest of a module's weights: every tensor's name, dtype, shape and bytes."""
    import torch

    h = hashlib.blake2b(digest_size=16)
    for name, t in sorted(module.state_dict().items()):
        t = t.detach().to("cpu").contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        if t.dtype == torch.bfloat16:
            t = t.view(torch.int16)
        h.update(t.numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def architecture_digest(module) -> str:
    """Digest of a module's architecture as its weights describe it (names and shapes)."""
    return digest(*sorted((k, tuple(v.shape), str(v.dtype)) for k, v in module.state_dict().items()))


def machine() -> str:
    """This machine as far as speed is concerned: the CPU, its core count, the OS."""
    name = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name}|{os.cpu_count()}|{platform.system()}|{platform.machine()}"


#: The most the compiled entries may take on disk; the least recently used go first
#: (a full-size ResNet-18 step is ~45 MB as ONNX and as much again as OpenVINO's blob).
LIMIT_BYTES = 2 * 1024 ** 3


def touch(path: Path) -> None:
    """Mark an entry as just used (its modification time orders :func:`prune`)."""
    try:
        os.utime(path)
    except OSError:
        pass


def prune(limit_bytes: int = LIMIT_BYTES, keep: tuple = ()) -> list[Path]:
    """Delete the least recently used entries until the folder holds at most
    ``limit_bytes`` (``keep``: paths never deleted, the entries being built); returns
    what was deleted. A file another process deletes first is skipped."""
    entries = []
    for p in compiled_dir().glob("*"):
        if p.suffix in (".onnx", ".blob") and p.is_file():
            try:
                st = p.stat()
            except OSError:
                continue
            entries.append((st.st_mtime, st.st_size, p))
    total = sum(size for _, size, _ in entries)
    gone = []
    for _, size, p in sorted(entries, key=lambda e: e[0]):
        if total <= limit_bytes:
            break
        if p in keep:
            continue
        try:
            p.unlink()
        except OSError:
            continue
        total -= size
        gone.append(p)
    return gone


def _decisions_path() -> Path:
    return compiled_dir() / "decisions.json"


def read_decision(key: str) -> dict | None:
    """``auto``'s recorded choice for ``key``, or None (never measured, or unreadable)."""
    try:
        data = json.loads(_decisions_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    entry = data.get(key) if isinstance(data, dict) else None
    return entry if isinstance(entry, dict) and isinstance(entry.get("backend"), str) else None


def record_decision(key: str, entry: dict) -> None:
    """Add ``auto``'s choice for ``key`` to ``decisions.json`` (atomic; the other keys kept)."""
    with _decisions_lock:
        path = _decisions_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                data = {}
        except (OSError, ValueError):
            data = {}
        data[key] = entry
        write_json(path, data)
