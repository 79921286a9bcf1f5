"""The C allocator's limits, set once by each entry point before it starts a thread.

Two defaults of glibc's malloc make the peak memory of one and the same command depend on
thread timing rather than on what the program holds:

- *Arenas.* Each thread that allocates gets an arena of its own, up to 8 per core, and
  one that finds its arena locked moves to another: which threads share one is decided by
  timing, and freed memory stays in the arena it came from (a frame decoded in the decode
  thread and dropped by the model's thread goes back to the decoder's arena), so free
  space is spread over more heaps the more arenas there are.
- *A sliding mmap threshold.* A block above the threshold (128 KB at start) is mmapped
  and given back on free; but each time such a block is freed, glibc raises the threshold
  to its size (up to 32 MB). After the first few batches freed, frames and batches come
  from the heaps instead, where they fragment them.

:func:`bound_heap` caps the arenas and fixes the threshold (which also stops it sliding).
glibc fixes its arena limit the first time a thread needs an arena beyond the first few,
so the cap only holds when it is set before threads start: ``avsol`` (``model_core.cli``)
and ``avsol-viewer`` (``avsol_viewer.app``) call it first thing. Elsewhere (macOS,
Windows, musl) it does nothing. What it changes is measured by
``python -m benchmarks.run memory_runs`` (figures in ``benchmarks/README.md``).
"""
from __future__ import annotations

import ctypes
import platform
import threading

#: malloc arenas at most (glibc's default: 8 per core)
ARENAS = 2
#: blocks from this size up are mmapped, and unmapped when freed (glibc starts at 128 KB and
#: slides up to 32 MB): a decoded frame or a batch goes back to the system when dropped
MMAP_THRESHOLD = 256 * 1024

# mallopt parameters (glibc's malloc.h)
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

#: commands left with glibc's own malloc settings: one thread drawing large numpy
#: temporaries (the bootstrap's 8 MB chunks), which a fixed threshold maps and unmaps at
#: each draw (``avsol compare`` spent more time in page faults than in its own work), and
#: whose peak does not depend on thread timing
UNBOUNDED_COMMANDS = frozenset({"compare"})


def wanted(argv: list[str]) -> bool:
    """Whether the ``avsol`` command line ``argv`` (without the program name) should
    :func:`bound_heap`: every command but :data:`UNBOUNDED_COMMANDS` (read from the first
    word that is not an option, before anything is parsed or imported)."""
    command = next((a for a in argv if not a.startswith("-")), None)
    return command not in UNBOUNDED_COMMANDS


#: what :func:`bound_heap` did: None until called, else {"applied": bool, "threads": int}
#: (``threads``: the Python threads running when it was called; 1 = before any was started)
state: dict | None = None


def _libc():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def bound_heap(arenas: int = ARENAS, mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """Cap glibc's malloc arenas at ``arenas`` and fix its mmap threshold at
    ``mmap_threshold`` bytes; True when both were set (False: not glibc). Call it before
    the process starts a thread (see the module docstring); calling it again is harmless."""
    global state
    libc = _libc()
    ok = False
    if libc is not None:
        ok = bool(libc.mallopt(_M_ARENA_MAX, int(arenas))) & bool(libc.mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)))
    if state is None:  # the first call is the one that matters
        state = {"applied": ok, "threads": threading.active_count()}
    return ok


def arena_count() -> int | None:
    """How many malloc arenas the process has now (``malloc_info``); None where it can't
    be read. For tests and benchmarks."""
    libc = _libc()
    if libc is None:
        return None
    libc.open_memstream.restype = ctypes.c_void_p
    buf, size = ctypes.c_char_p(), ctypes.c_size_t()
    stream = libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
    if not stream:
        return None
    try:
        libc.malloc_info(0, ctypes.c_void_p(stream))
    finally:
        libc.fclose(ctypes.c_void_p(stream))
    try:
        return ctypes.string_at(buf, size.value).decode().count("<heap nr=")
    finally:
        libc.free(buf)
