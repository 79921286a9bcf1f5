"""The output lock (model_core.outputs.lock) on its own: what its file holds, and stale files.

The refusal of a second writer, across processes and after kill -9, is pinned in
test_outputs.py and test_input_protection_promises.py; these are the details those rely on.
"""
from __future__ import annotations

import os

import pytest

from model_core.errors import InputError
from model_core.outputs.lock import OutputLock, lock_path, release_all


def test_the_pid_follows_the_first_byte(tmp_path):
    """Windows locks byte 0 of the file (no other process may read it while held): the pid
    must lie after it, or a refusal there could not name the holder."""
    out = tmp_path / "r.json"
    with OutputLock(out):
        raw = lock_path(out).read_bytes()
        assert raw[:1] == b"#" and raw[1:].decode().strip() == str(os.getpid())
    assert not lock_path(out).exists()


def test_a_stale_lock_file_is_taken_over(tmp_path):
    """A file left by a killed run is not a lock: the next writer takes it and writes its pid."""
    out = tmp_path / "r.json"
    lock_path(out).write_text("#999999999\n")
    with OutputLock(out):
        assert lock_path(out).read_text().strip() == f"#{os.getpid()}"
    assert not lock_path(out).exists()


def test_a_signal_right_after_the_pid_is_written_leaves_no_file(tmp_path, monkeypatch):
    """A file that names its holder is already registered for release_all (what the
    commands' signal handlers call): interrupted right after the pid is written, the exit
    handler removes it. A test waiting for the pid before it signals relies on this."""
    from model_core.outputs import lock as lock_module

    out = tmp_path / "r.json"
    write = lock_module._write_holder

    def write_then_interrupted(fd):
        write(fd)
        assert lock_path(out).read_text().strip() == f"#{os.getpid()}"
        release_all()   # what the SIGTERM handler does, before acquire returns
        raise KeyboardInterrupt

    monkeypatch.setattr(lock_module, "_write_holder", write_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        OutputLock(out).acquire()
    assert not lock_path(out).exists() and not lock_module._HELD


def test_a_failed_pid_write_releases_the_lock(tmp_path, monkeypatch):
    from model_core.outputs import lock as lock_module

    out = tmp_path / "r.json"

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lock_module, "_write_holder", disk_full)
    with pytest.raises(OSError):
        OutputLock(out).acquire()
    assert not lock_path(out).exists() and not lock_module._HELD
    monkeypatch.undo()
    with OutputLock(out):   # and the name is free for the next writer
        assert lock_path(out).exists()


def test_refusal_names_the_holder_and_the_option(tmp_path):
    out = tmp_path / "r.json"
    with OutputLock(out, "--csv"):
        with pytest.raises(InputError) as err:
            OutputLock(out, "--out").acquire()
    message = str(err.value)
    assert f"pid {os.getpid()}" in message and "--out" in message and "\n" not in message


def test_release_all_releases_every_held_lock(tmp_path):
    a, b = OutputLock(tmp_path / "a.json").acquire(), OutputLock(tmp_path / "b.json").acquire()
    release_all()
    assert not a.path.exists() and not b.path.exists()
    OutputLock(tmp_path / "a.json").acquire().release()      # free again
    a.release()                                              # a second release is a no-op
