"""Memory bounds of a run: the allocator's arena cap (set before any thread starts), the
decode queue's depth in bytes, the decoder's thread count."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

from media_helpers import make_clip
from model_core.inference import pipeline

ROOT = Path(__file__).resolve().parents[1]
GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# 8 threads alive at once, each allocating with malloc: glibc gives each a new arena until
# its limit (the cap, or 8 per core)
_ARENAS_CHILD = """
import json, sys, threading
from model_core import allocator
if sys.argv[1] == "cap":
    allocator.bound_heap(arenas=2)
barrier = threading.Barrier(9)
def work():
    keep = [bytearray(100_000) for _ in range(20)]   # below the mmap threshold: from an arena
    barrier.wait()
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
barrier.wait()
n = allocator.arena_count()
barrier.wait()
for t in threads:
    t.join()
print(json.dumps({"arenas": n, "state": allocator.state}))
"""


def _child(code: str, *args: str) -> dict:
    r = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not GLIBC, reason="the arena cap is glibc's")
def test_the_arena_cap_holds_for_threads_started_after_it():
    capped = _child(_ARENAS_CHILD, "cap")
    assert capped["state"] == {"applied": True, "threads": 1}
    assert 1 <= capped["arenas"] <= 2
    free = _child(_ARENAS_CHILD, "none")   # the same threads without it: one arena each
    assert free["arenas"] >= 9 and free["state"] is None


@pytest.mark.skipif(not GLIBC, reason="the arena cap is glibc's")
def test_avsol_sets_the_cap_before_any_thread_starts():
    code = ("import json\nfrom model_core.cli import main\nfrom model_core import allocator\n"
            "main(['--version'])\nprint(json.dumps({'state': allocator.state}))")
    assert _child(code)["state"] == {"applied": True, "threads": 1}


def test_both_entry_points_call_it_first(monkeypatch):
    """``avsol`` and ``avsol-viewer`` call ``bound_heap`` before parsing their arguments."""
    from model_core import allocator

    calls = []

    def record(*a, **k):
        calls.append(threading.active_count())
        raise RuntimeError("called")

    monkeypatch.setattr(allocator, "bound_heap", record)
    from avsol_viewer import app
    from model_core import cli

    for main in (cli.main, app.main):
        with pytest.raises(RuntimeError, match="called"):
            main(["--no-such-option"])
    assert len(calls) == 2


def test_compare_keeps_glibcs_own_settings_and_every_other_command_is_bounded():
    """The bootstrap's large one-thread temporaries were mapped and unmapped at each draw
    under the fixed threshold (avsol compare spent more time in page faults than working)."""
    from model_core import allocator

    assert not allocator.wanted(["compare", "a.json", "b.json", "--out", "c.json"])
    assert not allocator.wanted(["--version", "compare", "a.json"])
    for command in (["infer", "clip.mp4"], ["eval", "--data", "d"], ["train"], ["--version"], []):
        assert allocator.wanted(command), command


def test_bound_heap_is_harmless_where_there_is_no_glibc(monkeypatch):
    from model_core import allocator

    monkeypatch.setattr(allocator, "_libc", lambda: None)
    monkeypatch.setattr(allocator, "state", None)
    assert allocator.bound_heap() is False
    assert allocator.state["applied"] is False
    assert allocator.arena_count() is None


@pytest.mark.parametrize("batch, shape, depth", [
    (16, (112, 112, 3), 3),       # our heads: 0.6 MB a batch, QUEUE_BATCHES holds
    (8, (720, 1280, 3), 3),       # 22.1 MB a batch: 3 fit in 64 MiB
    (12, (720, 1280, 3), 2),      # 33.2 MB: 2
    (16, (720, 1280, 3), 1),      # 44.2 MB: 1
    (16, (1080, 1920, 3), 1),     # 99.5 MB: over the budget, still one
])
def test_queue_depth_is_bounded_in_bytes(batch, shape, depth):
    assert pipeline.QUEUE_BYTES == 64 * 2**20 and pipeline.QUEUE_BATCHES == 3
    assert pipeline.queue_depth(batch, shape) == depth


def _fill(decoding, want: int) -> int:
    """Wait (no timing asserted) until the decoder has filled its queue; its size."""
    decoding.opened()
    deadline = time.monotonic() + 30
    while decoding.queue.qsize() < want and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)   # had the bound failed, the decoder would put more by now
    return decoding.queue.qsize()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("membound") / "clip.mp4", n_frames=40, fps=20.0, size=(96, 64))


def test_the_decoder_never_holds_more_than_the_byte_budget(clip, monkeypatch):
    """Frames at native size (a model without ``image_size``), batches of 4 (73.7 KB): a
    budget of two batches keeps the decoder two batches ahead of a model that has not
    started, of the ten the clip makes; nothing is lost once it does."""
    monkeypatch.setattr(pipeline, "QUEUE_BYTES", 2 * 4 * 64 * 96 * 3)
    model = types.SimpleNamespace(name="m", batch_size=4, audio_window_s=1.0, family="dnm")
    d = pipeline.decode_ahead([model], clip)
    try:
        assert _fill(d, 2) == 2 and d.queue.maxsize == 2
        got = []
        while True:
            item = d.queue.get()
            if item is pipeline._DONE:
                break
            assert not isinstance(item, BaseException), item
            assert len(item.frames) == 4 and item.frames[0].shape == (64, 96, 3)
            got.extend(item.indices.tolist())
        assert got == list(range(40))
    finally:
        d.close()


def test_dense_reads_decode_with_a_bounded_thread_count(clip, monkeypatch):
    import cv2

    from model_core.media import frames

    monkeypatch.setattr(frames.os, "cpu_count", lambda: 64)
    assert frames.decode_threads() == frames.DECODE_THREADS == 4
    monkeypatch.setattr(frames.os, "cpu_count", lambda: 2)
    assert frames.decode_threads() == 2
    monkeypatch.setattr(frames, "DECODE_THREADS", 3)
    monkeypatch.setattr(frames.os, "cpu_count", lambda: 64)
    with frames.VideoReader(clip) as r:
        assert r.backend == "opencv" and r._src.cap.get(cv2.CAP_PROP_N_THREADS) == 3
    with frames.VideoReader(clip, backend="pyav") as r:
        assert r._src.stream.codec_context.thread_count == 3
        pyav = r.read_at_index(5)
    with frames.VideoReader(clip) as r:
        assert np.array_equal(pyav, r.read_at_index(5))   # the same pixels, whatever the threads
