"""One writer per output: an advisory lock on ``.NAME.lock`` beside the output.

A second writer (another process, or another :class:`OutputLock` in this one) is refused
at once with one line naming the first one's pid, never made to wait: two runs writing
one report would each replace the other's file. The lock is the operating system's
(``flock`` on POSIX, ``LockFileEx`` on Windows, both through ``filelock``'s descriptor
lock), so it dies with its process: a run killed with ``kill -9`` leaves at most an
unlocked ``.NAME.lock`` file, which the next writer simply takes.

The lock file holds the holder's pid after its first byte: Windows locks byte zero of
the file, which no other process may read while it is held, and the refusal must still
name the holder. The pid is written after the lock is registered for :func:`release_all`:
a file that names its holder is removed by the holder's exit handlers, even when a signal
lands right after it was written; one interrupted before that is at most an unlocked
file, as above. The file is removed on release; a writer that locked a file its holder
had just removed (the inode on disk changed under it) tries again.

Qt-free and torch-free, and ``filelock`` is imported only when a lock is taken: importing
this module works everywhere and costs nothing at start-up.
"""
from __future__ import annotations

import os
from pathlib import Path

from model_core.errors import InputError

#: Byte 0 is the one Windows locks; the pid follows it.
_PID_OFFSET = 1


def lock_path(output: str | os.PathLike) -> Path:
    """The lock file of ``output``: ``.NAME.lock`` in the output's folder."""
    output = Path(os.path.abspath(output))
    return output.with_name(f".{output.name}.lock")


def is_main_rank() -> bool:
    """False in torchrun's ranks other than 0 (rank 0 holds the locks for the job)."""
    return os.environ.get("RANK", "0") == "0"


def _read_holder(fd: int) -> str:
    """The pid a holder wrote into its lock file, or "?" (it may not have written it yet)."""
    try:
        os.lseek(fd, _PID_OFFSET, os.SEEK_SET)
        text = os.read(fd, 64).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return text or "?"


def _write_holder(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, f"#{os.getpid()}\n".encode())


class OutputLock:
    """An advisory lock on ``.NAME.lock`` beside ``output``, held for a whole run.

    ``acquire`` refuses at once, naming the holder's pid, when another holder has it; the
    lock file is removed on ``release``. Usable as a context manager.
    """

    def __init__(self, output: str | os.PathLike, label: str = "--out"):
        self.output, self.label = Path(output), label
        self.path = lock_path(output)
        self._fd: int | None = None

    def acquire(self) -> OutputLock:
        from filelock import lock_descriptor   # here: only a writer pays for importing it

        for _ in range(20):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
            except OSError as exc:
                raise InputError(self.path.parent, f"cannot write to the output folder "
                                                   f"({exc.strerror or exc})") from None
            try:
                locked = lock_descriptor(fd, blocking=False)
            except BaseException:
                os.close(fd)
                raise
            if not locked:
                holder = _read_holder(fd)
                os.close(fd)
                raise InputError(self.output, f"is being written by another process (pid {holder}); "
                                              f"wait for it to finish or choose another {self.label}")
            try:   # the file we locked may have been removed by a releasing holder: retry
                if os.fstat(fd).st_ino != os.stat(self.path).st_ino:
                    os.close(fd)
                    continue
            except FileNotFoundError:
                os.close(fd)
                continue
            # held: registered before the pid is written, so that a signal's handler
            # (release_all) removes the file of any lock whose file names its holder
            self._fd = fd
            _HELD.append(self)
            try:
                _write_holder(fd)
            except BaseException:
                self.release()
                raise
            return self
        raise InputError(self.output, "could not take the output lock (it keeps changing)")

    def release(self) -> None:
        """Remove the lock file and unlock. POSIX removes it while it is still locked, so no
        writer can lock the name between the unlock and the removal; Windows cannot remove
        an open file, so there it goes after the close (and stays if another writer has
        opened it meanwhile, unlocked and harmless)."""
        if self._fd is None:
            return
        removed = _remove(self.path)
        os.close(self._fd)          # closing the descriptor releases the lock
        self._fd = None
        if not removed and os.name == "nt":
            _remove(self.path)
        if self in _HELD:
            _HELD.remove(self)

    def __enter__(self) -> OutputLock:
        return self.acquire() if self._fd is None else self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _remove(path: Path) -> bool:
    try:
        path.unlink()
    except OSError:
        return False
    return True


_HELD: list[OutputLock] = []


def release_all() -> None:
    """Release every lock this process holds (the CLI's and the viewer's ``main`` call it
    on the way out, so commands need no try/finally of their own)."""
    for lock in list(_HELD):
        lock.release()
