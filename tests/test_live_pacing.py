"""How the live loop shares two cores with its sources: the capture thread resizes each
frame to the models' input and converts only the frames the loop will take, the visual
thread takes the newest frame already resized, and the audio embedding is refreshed within
its share of the CPU (counted in every thread, measured again when a compiled runtime takes
over). All on fake clocks: nothing here asserts a wall-clock time. The clip is the suite's
``index_clip`` (2 s at 25 fps, frame index in the pixels, 440 Hz tone)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from media_helpers import read_frame_index
from fakes import FakeClock, FakeLocalizer
from waiting import live_threads, wait_for
from model_core.inference.live_loop import LiveLoop
from model_core.inference.live_sources import FileCameraFrames, FileMicrophone, LiveSpec, SilentLive


def _cpu() -> dict:
    """The fake CPU clocks a loop reads: the audio thread's own and all threads'."""
    return {"own": 0.0, "all": 0.0}


def _costly(cpu: dict, own_s: float, all_s: float | None = None, clock=None) -> FakeLocalizer:
    """A fake whose audio embedding costs ``own_s`` of the audio thread's CPU and ``all_s``
    (default the same) of all threads', and whose pass takes 40 ms on ``clock`` (None: no
    time, the camera limits)."""

    class Costly(FakeLocalizer):
        def embed_audio(self, windows):
            cpu["own"] += own_s
            cpu["all"] += own_s if all_s is None else all_s
            return super().embed_audio(windows)

        def predict(self, frames, emb, audio_index=None):
            if clock is not None:
                clock.advance(0.04)
            return super().predict(frames, emb, audio_index)

    return Costly("m")


def _file_loop(clip, model, cpu: dict, clock=None, mic_clock=None) -> LiveLoop:
    """A started loop on ``clip``'s file camera and microphone, 100 audio ticks a second,
    reading ``cpu``'s clocks (and ``clock`` / ``mic_clock`` when given)."""
    kw = {} if clock is None else {"clock": clock}
    mic = {} if mic_clock is None else {"clock": mic_clock}
    return LiveLoop({"m": model}, open_frames=lambda: FileCameraFrames(clip).start(),
                    open_audio=lambda: FileMicrophone(clip, **mic).start(), cpu_clock=lambda: cpu["own"],
                    process_cpu_clock=lambda: cpu["all"], audio_hz=100, **kw).start()


def test_the_capture_thread_resizes_each_frame_to_the_models_input(index_clip):
    """With ``model_size`` set, every captured frame also carries the image resized to it
    (the models' own resize, done in the capture thread); without, none. The frame held
    when the size is set (captured before it was known) is resized then."""
    from model_core.media.frames import resize_frame

    clock = FakeClock()
    cam = FileCameraFrames(index_clip, clock=clock).start()
    try:
        f = cam.latest(timeout=5)
        assert f.model_input is None
        cam.model_size = (32, 32)
        held = cam.latest(timeout=5)
        assert held.index == 0 and read_frame_index(held.model_input) == 0
        np.testing.assert_array_equal(held.model_input, resize_frame(f.image, (32, 32)))
        clock.set(1 / cam.fps)
        f = cam.latest(after=f.index, timeout=5)
        assert f.model_input.shape == (32, 32, 3) and f.model_input.dtype == np.uint8
        np.testing.assert_array_equal(f.model_input, resize_frame(f.image, (32, 32)))
        assert read_frame_index(f.model_input) == 1
    finally:
        cam.close()
    assert not live_threads()


class _Recording(FakeLocalizer):
    """Keeps the frames array each ``predict`` was handed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.arrays: list = []

    def predict(self, frames, emb, audio_index=None):
        self.arrays.append(frames)
        return super().predict(frames, emb, audio_index)


def test_the_visual_thread_takes_the_newest_frame_already_resized(index_clip):
    """The loop asks its camera for frames at the models' input size, and a pass runs on
    the array the capture thread made (no resize in the visual thread), of the newest
    frame: frames captured while a pass runs are replaced, never queued."""
    gate = threading.Event()
    fake = _Recording("m", image_size=64, gate=gate)
    got = []
    clock = FakeClock()
    loop = LiveLoop({"m": fake}, LiveSpec(str(index_clip), str(index_clip)), on_maps=got.append,
                    clock=clock).start()
    try:
        assert fake.entered.wait(10)              # the pass on frame 0 waits on the gate
        assert loop.frames.model_size == (64, 64)
        for k in range(1, 6):                     # frames 1..5 arrive meanwhile
            clock.set(k / 25)
            assert wait_for(lambda: loop.frames.captured == k + 1)
        gate.set()
        assert wait_for(lambda: len(got) >= 2)
        assert [r.frame.index for r in got[:2]] == [0, 5]   # the newest, 1..4 never mapped
        for r, arr in zip(got[:2], fake.arrays[:2]):
            assert np.shares_memory(arr, r.frame.model_input)
        assert fake.frames_seen[:2] == [0, 5]
    finally:
        gate.set()
        assert loop.stop()
    assert not live_threads()


def test_refresh_every_by_hand():
    """k ticks between refreshes of the audio embedding: its CPU cost within the share of
    one core over k ticks (0.05 x 0.1 s = 5 ms a tick)."""
    from model_core.inference.live_loop import refresh_every

    assert refresh_every(0.0, 0.1, 0.05) == 1
    assert refresh_every(0.004, 0.1, 0.05) == 1
    assert refresh_every(0.005, 0.1, 0.05) == 1           # exactly the share
    assert refresh_every(0.0051, 0.1, 0.05) == 2
    assert refresh_every(0.012, 0.1, 0.05) == 3
    assert refresh_every(0.012, 0.1, 0.5) == 1


def test_the_audio_embedding_is_refreshed_within_its_cpu_share(index_clip):
    """While the trunk keeps the visual thread busy (each pass takes all the loop's time:
    the fake's pass moves the loop's clock 40 ms, nothing else does), a refresh costing
    1.2 ms of CPU (a CPU clock the test drives: the fake's embedding adds 1.2 ms to it) at
    100 ticks a second is made every 3rd tick of the audio thread (1.2 ms <= 0.05 x 3 x
    10 ms); the first tick embeds at once (nothing held yet)."""
    from model_core.inference import live_loop as ll

    assert (ll.AUDIO_CPU_SHARE, ll.AUDIO_BOUND_WHEN_BUSY) == (0.05, 0.8)
    cpu, clock = _cpu(), FakeClock()
    loop = _file_loop(index_clip, _costly(cpu, 0.0012, clock=clock), cpu, clock=clock)
    try:
        assert wait_for(lambda: loop.audio_ticks >= 20 and loop.stats.mapped >= 3)
    finally:
        assert loop.stop()
    assert loop.visual_busy == 1.0
    assert loop.audio_every == 3
    # tick 1 embeds (nothing held yet), then every 3rd tick
    assert loop.stats.audio_refreshes == 1 + (loop.audio_ticks - 1) // 3
    assert not live_threads()


def test_the_audio_embedding_is_refreshed_every_tick_while_the_camera_limits(index_clip):
    """The same costly refresh, but the trunk takes no time (the visual thread waits for
    the 25 fps camera most of the time): the cores have room, every tick refreshes."""
    from model_core.inference import live_loop as ll

    cpu = _cpu()
    loop = _file_loop(index_clip, _costly(cpu, 0.0012), cpu)
    try:
        assert wait_for(lambda: loop.visual_busy < ll.AUDIO_BOUND_WHEN_BUSY and loop.audio_every == 1
                        and loop.stats.audio_refreshes >= 5)
    finally:
        assert loop.stop()
    assert not live_threads()


def test_the_audio_refresh_costs_its_cpu_in_every_thread(index_clip):
    """The share counts the refresh's CPU in all threads (torch's OpenMP worker, a compiled
    runtime's pool), not only the audio thread's: a refresh costing the audio thread 1.2 ms
    and the process 2.4 ms (measured on the first refresh, made before any pass) counts
    2.4 ms, so at 100 ticks a second it is made every 5th tick (2.4 ms <= 0.05 x 5 x 10 ms;
    every 3rd on its own thread's CPU alone). Passes keep the visual thread busy as above."""
    cpu, clock = _cpu(), FakeClock()
    # its thread's 1.2 ms and as much in a pool thread
    loop = _file_loop(index_clip, _costly(cpu, 0.0012, 0.0024, clock=clock), cpu, clock=clock)
    try:
        assert wait_for(lambda: loop.audio_ticks >= 20 and loop.stats.mapped >= 3)
    finally:
        assert loop.stop()
    assert loop.audio_cpu_ratio == pytest.approx(2.0)
    assert loop.audio_cost_s == pytest.approx(0.0024)
    assert loop.audio_every == 5
    assert loop.stage_cpu["audio"] == pytest.approx(0.0012 * loop.stats.audio_refreshes)
    assert not live_threads()


def test_the_audio_cost_is_measured_again_when_a_compiled_runtime_takes_over(index_clip):
    """When the models' backends change (the compiled trunk built in the background takes
    over from torch), the ratio of all threads' CPU to the audio thread's is measured again
    on a refresh during which the visual thread is held between passes (here a pass is
    stuck on a gate when the backend changes: the next refresh holds the visual thread and
    waits for that pass to end): the second backend's refresh costs the audio thread 1 ms
    and its pool 5 ms more (ratio 6)."""
    cpu, clock = _cpu(), FakeClock()
    state = {"backend": "torch"}
    gate = threading.Event()
    gate.set()

    class Switching(FakeLocalizer):
        @property
        def backend_used(self):
            return state["backend"]

        def embed_audio(self, windows):
            cpu["own"] += 0.001
            cpu["all"] += 0.002 if state["backend"] == "torch" else 0.006
            return super().embed_audio(windows)

        def predict(self, frames, emb, audio_index=None):
            assert gate.wait(20)
            clock.advance(0.04)
            return super().predict(frames, emb, audio_index)

    loop = _file_loop(index_clip, Switching("m"), cpu, clock=clock)
    try:
        assert wait_for(lambda: loop.audio_cpu_ratio == pytest.approx(2.0) and loop.stats.mapped >= 2)
        gate.clear()
        assert wait_for(lambda: loop._in_pass)               # a pass waits on the gate
        state["backend"] = "openvino"
        assert wait_for(lambda: not loop._emb_ready.is_set())  # the next pass is held
        assert loop.audio_cpu_ratio is None
        gate.set()
        assert wait_for(lambda: loop.audio_cpu_ratio == pytest.approx(6.0))
        assert wait_for(lambda: loop.audio_every == 12)      # 6 ms <= 0.05 x 12 x 10 ms
    finally:
        gate.set()
        assert loop.stop()
    assert not live_threads()


def test_the_file_camera_converts_only_the_frames_wanted(index_clip):
    """Told when the consumer will ask next (``wanted_at``), the file camera decodes every
    frame but converts (RGB, resize) only one that will not be replaced before then; a
    frame held unconverted is converted at once when the consumer asks earlier, with its
    capture time (the latency counts the wait)."""
    clock = FakeClock()
    cam = FileCameraFrames(index_clip, clock=clock).start()
    cam.model_size = (32, 32)
    try:
        fps = cam.fps
        f = cam.latest(timeout=5)
        assert (f.index, cam.converted, cam.skipped) == (0, 1, 0)   # nothing said: converted
        cam.wanted_at = 10.0                        # the consumer asks at 10 s: long after
        for k in range(1, 4):
            clock.set(k / fps)
            assert wait_for(lambda: cam.captured == k + 1)
        assert (cam.converted, cam.skipped) == (1, 2)   # 1, 2 replaced unconverted; 3 held
        f = cam.latest(after=0, timeout=5)              # asked earlier than said
        assert (f.index, read_frame_index(f.image), f.captured) == (3, 3, 3 / fps)
        assert read_frame_index(f.model_input) == 3 and (cam.converted, cam.skipped) == (2, 2)
        cam.wanted_at = 4.5 / fps                       # wanted before frame 5 is due
        clock.set(4 / fps)
        assert wait_for(lambda: cam.converted == 3)     # frame 4 converted at once, unasked
        f = cam.latest(after=3, timeout=5)
        assert (f.index, read_frame_index(f.image), cam.skipped) == (4, 4, 2)
        assert cam.cpu_s["decode"] > 0 and cam.cpu_s["convert"] > 0
    finally:
        cam.close()
    assert not live_threads()


def test_the_loop_tells_its_camera_when_it_wants_the_next_frame(index_clip):
    """Each pass tells the camera when the next frame will be wanted: the pass's start plus
    0.9 of the passes' moving average (40 ms a pass here, on the loop's clock); the visual
    thread's CPU is accounted by stage (the fake pass costs 10 ms of CPU, nothing else), and
    its wall time on the loop's clock."""
    from model_core.inference import live_loop as ll

    assert ll.WANTED_EARLY == 0.9
    clock = FakeClock()
    cpu = {"t": 0.0}
    began: list = []

    class Timed(FakeLocalizer):
        def predict(self, frames, emb, audio_index=None):
            began.append(clock())
            clock.advance(0.04)
            cpu["t"] += 0.01
            return super().predict(frames, emb, audio_index)

    cams: list = []

    def open_frames():
        cams.append(FileCameraFrames(index_clip).start())
        return cams[-1]

    loop = LiveLoop({"m": Timed("m")}, open_frames=open_frames, open_audio=lambda: SilentLive(),
                    cpu_clock=lambda: cpu["t"], process_cpu_clock=lambda: cpu["t"], clock=clock).start()
    try:
        assert wait_for(lambda: loop.stats.mapped >= 3)
    finally:
        assert loop.stop()
    assert loop.pass_s == pytest.approx(0.04)
    assert cams[0].wanted_at == pytest.approx(began[-1] + 0.9 * 0.04)
    assert loop.stage_cpu["pass"] == pytest.approx(0.01 * loop.passes)
    assert loop.stage_cpu["wait"] == pytest.approx(0.0) and loop.stage_cpu["publish"] == pytest.approx(0.0)
    # on the loop's clock: 40 ms in each pass, none waiting (only the passes move it)
    assert loop.stage_wall["pass"] == pytest.approx(0.04 * loop.passes)
    assert loop.stage_wall["wait"] == pytest.approx(0.0)
    assert not live_threads()


def test_a_refresh_served_from_the_cache_keeps_the_measured_cost(index_clip):
    """A refresh whose window is already embedded (no new sound since: here a microphone
    on a clock that never moves) costs nothing and says nothing of the next one's cost:
    the 1.2 ms measured on the first stays, and so does every 3rd tick (it fell to every
    tick)."""
    cpu, clock = _cpu(), FakeClock()
    loop = _file_loop(index_clip, _costly(cpu, 0.0012), cpu, clock=clock, mic_clock=clock)
    try:
        assert wait_for(lambda: loop.audio_ticks >= 20 and loop.stats.audio_refreshes >= 4)
    finally:
        assert loop.stop()
    assert cpu["own"] == pytest.approx(0.0012)        # embedded once: the window never moved
    assert loop.audio_cost_s == pytest.approx(0.0012)
    assert loop.audio_every == 3
    assert not live_threads()
