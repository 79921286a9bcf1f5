"""Maps computed in a child process (``model_core.inference.map_process``, the viewer's map
worker with ``use_process``): the child's maps equal the thread's for the same checkpoint
and frames, its failures come back as one line naming the file, and a child that dies
leaves the worker computing in its own thread with a warning, the maps still arriving.

Each test starts a real child (``spawn``, importing torch for the tests' tiny checkpoint):
a few seconds on a busy machine, hence ``slow``. No timing is asserted.
"""
from __future__ import annotations

import functools
import logging
import os
import signal

import numpy as np
import pytest

from model_core.inference.audio_sources import AudioSpec
from model_core.inference.engine import MapEngine, default_localizer, model_key
from model_core.inference.frame_sources import FrameSpec
from model_core.inference.map_cache import MapCache, MapKey
from model_core.inference.map_process import ComputeError, MapProcess, MapProcessError, picklable
from waiting import wait_for

pytestmark = pytest.mark.slow

#: the viewer's factory, as avsol-viewer passes it (a partial of a module-level function)
FACTORY = functools.partial(default_localizer, backend="torch")


def _ready(proc: MapProcess, keys) -> bool:
    return wait_for(lambda: proc.ready_for(keys), timeout=120, interval=0.05)


def test_the_childs_maps_equal_the_threads_and_its_failures_are_one_line(make_tiny_checkpoint, index_clip,
                                                                        tmp_path):
    ckpt = make_tiny_checkpoint(image_size=64, map_size=4)
    key = model_key(ckpt)
    assert picklable(FACTORY) and not picklable(lambda p: p)
    proc = MapProcess(FACTORY)
    try:
        proc.load(str(ckpt))
        proc.load(str(tmp_path / "absent.pt"))       # fails in the child: one line, the file named
        assert _ready(proc, [key])
        assert list(proc.load_failures) == [str(tmp_path / "absent.pt")]
        assert str(tmp_path / "absent.pt") in proc.load_failures[str(tmp_path / "absent.pt")]
        assert "\n" not in proc.load_failures[str(tmp_path / "absent.pt")]

        spec, audio = FrameSpec(str(index_clip)), AudioSpec()
        assert proc.frame_count("v", spec, audio) == 50
        frames = [0, 7, 8, 9, 30]
        got, read_s = proc.compute("v", spec, audio, frames, 1.0, {i: [key] for i in frames})
        assert read_s >= 0.0
        assert [k.index for k, _ in got] == frames and {k.model for k, _ in got} == {key}

        here = MapEngine(MapCache(), FACTORY)       # the same checkpoint, in this process
        here.load(str(ckpt))
        here.compute("v", spec, audio, frames, 1.0)
        for k, entry in got:
            mine = here.cache.get(k)
            np.testing.assert_array_equal(entry.map, mine.map)
            np.testing.assert_array_equal(entry.class_probs, mine.class_probs)
            assert (entry.p_avc, entry.time, entry.audio_centre) == (mine.p_avc, mine.time, mine.audio_centre)
        here.close()

        missing = tmp_path / "gone.mp4"             # a source failing in the child: its line
        with pytest.raises(ComputeError) as err:
            proc.compute("v", FrameSpec(str(missing)), audio, [0], 1.0, {0: [key]})
        assert str(missing) in str(err.value) and "\n" not in str(err.value)
        got, _ = proc.compute("v", spec, audio, [1], 1.0, {1: [key]})   # and it goes on
        assert [k.index for k, _ in got] == [1]

        proc.remove(key)
        assert _ready(proc, []) and not proc.ready_for([key])
    finally:
        proc.close()
    assert not proc.alive


def test_a_dead_child_raises_one_line(index_clip):
    proc = MapProcess(FACTORY)
    try:
        os.kill(proc.pid, signal.SIGKILL)
        with pytest.raises(MapProcessError) as err:
            proc.frame_count("v", FrameSpec(str(index_clip)), AudioSpec())
        assert "map process" in str(err.value) and "\n" not in str(err.value)
        with pytest.raises(MapProcessError):         # and stays dead
            proc.compute("v", FrameSpec(str(index_clip)), AudioSpec(), [0], 1.0, {0: ["m"]})
    finally:
        proc.close()


def _service(qtbot, ckpt, clip):
    from avsol_viewer.maps.map_service import MapService

    service = MapService(FACTORY, map_process=True)
    service.load_checkpoint(ckpt)
    qtbot.waitUntil(lambda: len(service.models) == 1, timeout=60000)
    service.set_video(str(clip), FrameSpec(str(clip)), fps=25.0)
    return service


def test_the_viewer_computes_in_the_child_and_falls_back_to_its_thread_when_it_dies(
        qtbot, make_tiny_checkpoint, index_clip, caplog):
    ckpt = make_tiny_checkpoint(image_size=64, map_size=4)
    service = _service(qtbot, ckpt, index_clip)
    worker = service.worker
    try:
        assert worker.process is not None and worker.process_failure is None
        key = service.models[0].key

        def child_ready():   # a request wakes the worker, which reads the child's replies
            service.want(0)
            return worker.process_ready
        qtbot.waitUntil(child_ready, timeout=120000)
        qtbot.waitUntil(lambda: worker._served == service._last.generation, timeout=60000)
        service.cache.clear()                        # computed by the thread while the child started
        before = worker.process_steps
        with qtbot.waitSignal(service.idle, timeout=60000):
            service.want(20)                         # 20 and the 4 s after it: the child's
        assert worker.process_steps > before
        assert all(service.has(key, i) for i in range(20, 50))

        here = MapEngine(MapCache(), FACTORY)        # what the thread would have computed
        here.load(str(ckpt))
        here.compute(str(index_clip), FrameSpec(str(index_clip)), AudioSpec(), [20, 33], 1.0)
        for i in (20, 33):   # other batches than the child's: equal up to the kernels' rounding
            mine = here.cache.get(MapKey(str(index_clip), key, AudioSpec().key, i))
            np.testing.assert_allclose(service.entry(key, i)[0].map, mine.map, rtol=0, atol=1e-5)
        here.close()

        os.kill(worker.process.pid, signal.SIGKILL)  # the child dies: the thread takes over
        with caplog.at_level(logging.WARNING, logger="avsol_viewer.maps.map_worker"):
            with qtbot.waitSignal(service.idle, timeout=60000):
                service.want(3)
        assert worker.process is None and "map process" in worker.process_failure
        assert all(service.has(key, i) for i in range(3, 20))
        assert worker.thread_steps > 0 and service.failure is None
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warned) == 1 and "viewer's thread" in warned[0] and "\n" not in warned[0]
    finally:
        service.stop()


def test_a_factory_that_cannot_be_sent_keeps_the_maps_in_the_thread(qtbot, index_clip):
    from fakes import FakeFactory, FakeLocalizer

    from avsol_viewer.maps.map_service import MapService

    service = MapService(FakeFactory(m=FakeLocalizer("m")), map_process=True)
    try:
        service.load_checkpoint("/models/m.pt")
        qtbot.waitUntil(lambda: len(service.models) == 1, timeout=20000)
        service.set_video(str(index_clip), FrameSpec(str(index_clip)), fps=25.0)
        with qtbot.waitSignal(service.idle, timeout=30000):
            service.want(0)
        assert service.worker.process is None
        assert service.worker.process_failure == "the model factory cannot be sent to a process"
        assert service.ready_at(0) and service.worker.thread_steps > 0
    finally:
        service.stop()


def _gpu_fake(path):
    """A model the loader put on a GPU (a fake: its device says so)."""
    from fakes import FakeLocalizer

    loc = FakeLocalizer("g")
    loc.device = "cuda:0"
    return loc


def test_models_on_a_gpu_keep_the_maps_in_the_thread(qtbot, index_clip):
    """No child beside a GPU: it would hold a second CUDA context and copy of each model."""
    from avsol_viewer.maps.map_service import MapService

    service = MapService(_gpu_fake, map_process=True)
    try:
        service.load_checkpoint("/models/g.pt")
        qtbot.waitUntil(lambda: len(service.models) == 1, timeout=60000)
        assert service.worker.process is None and service.worker.process_failure == "models on cuda:0"
        service.set_video(str(index_clip), FrameSpec(str(index_clip)), fps=25.0)
        with qtbot.waitSignal(service.idle, timeout=30000):
            service.want(0)
        assert service.ready_at(0) and service.worker.thread_steps > 0
    finally:
        service.stop()
