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
