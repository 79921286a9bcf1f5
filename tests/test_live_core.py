"""Live mode's Qt-free part: live sources (file-backed camera and microphone, the ring
buffer, device errors) and the live loop on the map engine (maps arrive, HUD figures are
sane, stop leaves no thread, a missing or vanishing device is reported and retried)."""
from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest

from media_helpers import make_clip, read_frame_index
from fakes import FakeClock, FakeLocalizer
from waiting import wait_for
from model_core.errors import DeviceError
from model_core.inference.live_loop import LiveLoop, LiveStats
from model_core.inference.live_sources import (FileCameraFrames, FileMicrophone, LiveSpec, RingBuffer,
                                               SilentLive)


@pytest.fixture(scope="module")
def live_clip(tmp_path_factory) -> Path:
    """2 s at 25 fps, frame index in the pixels, 440 Hz tone."""
    return make_clip(tmp_path_factory.mktemp("live") / "cam.mp4", n_frames=50, fps=25.0, size=(128, 96))


def live_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("avsol-live")]


def test_ring_buffer_keeps_the_last_samples_by_stream_position():
    r = RingBuffer(10)
    r.write(np.arange(7, dtype=np.float32))
    r.write(np.arange(7, 13, dtype=np.float32))       # wraps: holds samples 3..12
    assert r.total == 13
    np.testing.assert_array_equal(r.read(3, 10), np.arange(3, 13))
    np.testing.assert_array_equal(r.read(0, 5), [0, 0, 0, 3, 4])   # 0..2 no longer held
    np.testing.assert_array_equal(r.read(11, 4), [11, 12, 0, 0])   # not yet heard
    r.write(np.arange(100, 125, dtype=np.float32))    # longer than the ring: the tail stays
    assert r.total == 38
    np.testing.assert_array_equal(r.read(28, 10), np.arange(115, 125))


def test_file_camera_plays_in_real_time_and_keeps_the_newest(live_clip):
    """On a clock the test moves: frame k is delivered when the clock reaches k / fps, a
    jump skips the frames already past (counted as dropped), only the newest is held, and
    the file loops."""
    clock = FakeClock()
    cam = FileCameraFrames(live_clip, clock=clock).start()
    try:
        fps = cam.fps
        f = cam.latest(timeout=5)
        assert (f.index, read_frame_index(f.image), f.time) == (0, 0, 0.0)
        first = f
        for k in range(1, 13):                     # in real time: one frame per 1 / fps
            clock.set(k / fps)
            f = cam.latest(after=f.index, timeout=5)
            assert (f.index, read_frame_index(f.image), f.time, f.captured) == (k, k, k / fps, k / fps)
        assert cam.dropped == 0
        clock.set(24.5 / fps)                      # 11.5 frame periods late: frames 13..23 lost
        f = cam.latest(after=f.index, timeout=5)
        assert (f.index, read_frame_index(f.image), cam.dropped) == (13, 24, 11)
        with pytest.raises(IndexError):            # only the newest is held
            cam.read([first.index], 64)
        assert cam.read([f.index], 64)[0].shape == (64, 64, 3)
        clock.set(50 / fps)                        # frames 25..49 lost; the file loops to 0
        f = cam.latest(after=f.index, timeout=5)
        assert (f.index, read_frame_index(f.image), cam.dropped) == (14, 0, 36)
    finally:
        cam.close()
    assert not live_threads()


def test_file_microphone_fills_the_ring_by_its_clock_and_loops(tmp_path):
    """After t seconds of the clock the ring holds int(t * 16000) samples: the track (0.4 s)
    looped; a microphone that writes nothing for STALL_S is taken as gone."""
    from model_core.inference.live_sources import STALL_S

    clip = make_clip(tmp_path / "a.mp4", n_frames=10, fps=25.0, size=(64, 48))  # 0.4 s of tone: loops
    clock = FakeClock(100.0)
    mic = FileMicrophone(clip, clock=clock).start()
    try:
        clock.set(101.0)
        assert wait_for(lambda: mic.ring.total >= 16000)
        assert mic.ring.total == 16000 and mic.now == 1.0
        first, x = mic.last(1.0)
        track = mic.track
        assert first == 0 and len(track) < 16000
        np.testing.assert_array_equal(x, np.tile(track, 16000 // len(track) + 1)[:16000])
        rms = float(np.sqrt(np.mean(x[-8000:] ** 2)))
        assert 0.25 < rms < 0.45       # a 0.5-amplitude tone, also after the loop point
        mic.check()
    finally:
        mic.close()
    assert not live_threads()
    clock.set(101.0 + STALL_S + 0.5)
    with pytest.raises(DeviceError, match="no sound for"):
        mic.check()


@pytest.mark.parametrize("camera, microphone, words", [
    ("/nonexistent/cam.mp4", None, "no such file for --camera"),
    ("97", None, "camera 97"),
])
def test_missing_camera_is_one_line(camera, microphone, words):
    with pytest.raises(DeviceError) as err:
        LiveSpec(camera, microphone).open_frames()
    assert words in str(err.value) and "\n" not in str(err.value)
    assert not live_threads()


@pytest.mark.parametrize("index, words", [
    ("12345678901234567890", "camera 123456789012...: not a camera index (0 to 99)"),
    ("100", "camera 100: not a camera index (0 to 99)"),
])
def test_a_camera_index_out_of_range_is_one_line_before_opencv(index, words, capfd, monkeypatch):
    import cv2

    opened = []
    monkeypatch.setattr(cv2, "VideoCapture", lambda *a: opened.append(a))
    with pytest.raises(DeviceError) as err:
        LiveSpec(index, None).open_frames()
    assert str(err.value) == words + "; give the index of a capture device or a video file"
    assert opened == [] and capfd.readouterr().err == ""      # OpenCV never saw it, printed nothing


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="/dev/videoN is Linux's")
def test_a_camera_index_without_its_device_is_one_line_before_opencv(capfd, monkeypatch):
    import cv2

    opened = []
    monkeypatch.setattr(cv2, "VideoCapture", lambda *a: opened.append(a))
    free = next(i for i in range(99, 0, -1) if not Path(f"/dev/video{i}").exists())
    with pytest.raises(DeviceError, match=f"^camera {free}: not found \\(no /dev/video{free}\\)$"):
        LiveSpec(str(free), None).open_frames()
    assert opened == [] and capfd.readouterr().err == ""


def test_missing_microphone_is_one_line(tmp_path):
    with pytest.raises(DeviceError) as err:
        LiveSpec("0", str(tmp_path / "nothing.wav")).open_audio()
    assert "no such file for --microphone" in str(err.value)
    with pytest.raises(DeviceError) as err:   # no input device on this machine, or no such name
        LiveSpec("0", "no-such-microphone-xyz").open_audio()
    assert "\n" not in str(err.value)


def test_portaudio_missing_is_a_device_error(monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    from model_core.inference.live_sources import list_microphones

    with pytest.raises(DeviceError, match="PortAudio"):
        list_microphones()
    with pytest.raises(DeviceError, match="PortAudio"):
        LiveSpec("0", None).open_audio()


def test_stats_figures_by_hand():
    s = LiveStats(window_s=10)
    for k in range(11):
        s.record_maps(100.0 + k * 0.1)                      # 10 Hz
        s.record_overlay(100.0 + k * 0.1, 100.0 + k * 0.1 + 0.02 + 0.001 * k)
    assert s.refresh_hz(now=101.0) == pytest.approx(10.0)
    med, p95 = s.latency_ms(now=101.0)
    assert med == pytest.approx(25.0)
    assert p95 == pytest.approx(29.5)


def audio_sensitive_fake(name="dnm"):
    """Map hot top-left on sound, bottom-right on silence (the embedding's RMS)."""
    from viewer_support import quadrant_map

    return FakeLocalizer(name, image_size=64,
                         map_fn=lambda frame, emb: quadrant_map("tl" if emb[0] > 0.05 else "br", 8))


def test_live_loop_maps_arrive_follow_the_sound_and_stop_cleanly(live_clip):
    """On a clock the test moves one frame period at a time: every frame is mapped once,
    the HUD's refresh rate is the camera's 25 Hz and, no time passing while the model runs,
    the latency is 0; the maps follow the tone the file microphone plays."""
    fake = audio_sensitive_fake()
    got = []
    clock = FakeClock()
    loop = LiveLoop({"m": fake}, LiveSpec(str(live_clip), str(live_clip)), on_maps=got.append,
                    clock=clock).start()
    try:
        assert wait_for(lambda: got and got[-1].frame.index == 0)
        for k in range(1, 16):
            clock.set(k / 25)
            assert wait_for(lambda: got[-1].frame.index == k)
        refreshes = loop.stats.audio_refreshes
        assert wait_for(lambda: loop.stats.audio_refreshes >= refreshes + 2)   # one began after 0.6 s of tone
        clock.set(16 / 25)
        assert wait_for(lambda: got[-1].frame.index == 16)
        r = got[-1]
        assert [x.frame.index for x in got] == list(range(17))
        assert set(r.entries) == {"m"} and not r.silent
        assert r.entries["m"].map[0, 0] > 0.9           # heard the tone
        # the map belongs to the newest frame captured: its pixels say which
        assert fake.frames_seen[-1] == r.frame.index % 50 == 16
        for x in got[-10:]:
            loop.stats.record_overlay(x.frame.captured, x.done)
        assert loop.stats.refresh_hz(now=16 / 25) == pytest.approx(25.0)
        assert loop.stats.latency_ms(now=16 / 25) == (0.0, 0.0)
        c = loop.counts()
        assert c["captured"] == 17 and c["dropped"] == 0 and c["unmapped"] == 0 and c["overruns"] == 0
        assert loop.camera_name == f"file {live_clip.name}" and loop.microphone_name.startswith("file")
        assert not loop.problems
    finally:
        assert loop.stop()
    assert not live_threads()


def test_live_loop_without_microphone_maps_on_silence_and_says_so(live_clip, tmp_path):
    fake = audio_sensitive_fake()
    got, problems = [], []
    loop = LiveLoop({"m": fake}, LiveSpec(str(live_clip), str(tmp_path / "gone.wav")), on_maps=got.append,
                    on_problem=lambda k, m: problems.append((k, m))).start()
    try:
        assert wait_for(lambda: len(got) >= 3)
        assert got[-1].silent and got[-1].entries["m"].map[-1, -1] > 0.9
        assert problems and problems[0][0] == "microphone" and "no such file" in problems[0][1]
        # the device comes back: live mode resumes with sound
        make_clip(tmp_path / "gone.wav", n_frames=25, fps=25.0, size=(64, 48))
    except Exception:
        loop.stop()
        raise
    try:
        assert wait_for(lambda: ("microphone", None) in problems and not got[-1].silent, 20)
    finally:
        loop.stop()
    assert not live_threads()


def test_camera_gone_mid_stream_is_reported_and_resumes(live_clip):
    fake = FakeLocalizer("m", image_size=64)
    problems, got = [], []
    state = {"fail": False}

    class Flaky(FileCameraFrames):
        def _grab(self):
            if state["fail"]:
                raise DeviceError(None, "camera 0: stopped delivering frames (unplugged?)")
            return super()._grab()

    loop = LiveLoop({"m": fake}, open_frames=lambda: Flaky(live_clip).start(),
                    open_audio=lambda: SilentLive(), on_maps=got.append,
                    on_problem=lambda k, m: problems.append((k, m)), retry_s=0.2).start()
    try:
        assert wait_for(lambda: len(got) >= 3)
        state["fail"] = True
        assert wait_for(lambda: ("camera", "camera 0: stopped delivering frames (unplugged?)") in problems)
        n = len(got)
        state["fail"] = False
        assert wait_for(lambda: ("camera", None) in problems and len(got) > n + 2)
    finally:
        assert loop.stop()
    assert not live_threads()


def _pulse_input() -> bool:
    """A PulseAudio server with an input PortAudio can open (e.g. a null sink's monitor)."""
    import shutil
    import subprocess

    if shutil.which("pactl") is None:
        return False
    if subprocess.run(["pactl", "info"], capture_output=True, timeout=10).returncode != 0:
        return False
    try:
        from model_core.inference.live_sources import list_microphones

        return any(name == "pulse" for _, name in list_microphones())
    except DeviceError:
        return False


@pytest.mark.skipif(not _pulse_input(), reason="no PulseAudio input (start pulseaudio with a null sink, "
                                               "its monitor as the default source)")
def test_real_sounddevice_capture_through_a_pulseaudio_null_sink():
    """The real InputStream path: a tone played into the null sink is heard by the live
    loop through ``MicrophoneAudio`` (the monitor of the sink as the input)."""
    import sounddevice as sd

    fake = audio_sensitive_fake()
    got = []
    clip = make_clip(Path(tempfile.mkdtemp()) / "c.mp4", n_frames=25, fps=25.0, size=(64, 48),
                     with_audio=False)
    loop = LiveLoop({"m": fake}, LiveSpec(str(clip), "pulse"), on_maps=got.append).start()
    try:
        t = np.arange(48000 * 6) / 48000
        sd.play((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 48000, device="pulse")
        assert wait_for(lambda: got and not got[-1].silent and got[-1].entries["m"].map[0, 0] > 0.9, 15)
        assert loop.microphone_name == "microphone pulse" and "microphone" not in loop.problems
    finally:
        sd.stop()
        loop.stop()
    assert not live_threads()


def test_the_capture_thread_resizes_each_frame_to_the_models_input(live_clip):
    """With ``model_size`` set, every captured frame also carries the image resized to it
    (the models' own resize, done in the capture thread); without, none. The frame held
    when the size is set (captured before it was known) is resized then."""
    from model_core.media.frames import resize_frame

    clock = FakeClock()
    cam = FileCameraFrames(live_clip, clock=clock).start()
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


def test_the_visual_thread_takes_the_newest_frame_already_resized(live_clip):
    """The loop asks its camera for frames at the models' input size, and a pass runs on
    the array the capture thread made (no resize in the visual thread), of the newest
    frame: frames captured while a pass runs are replaced, never queued."""
    gate = threading.Event()
    fake = _Recording("m", image_size=64, gate=gate)
    got = []
    clock = FakeClock()
    loop = LiveLoop({"m": fake}, LiveSpec(str(live_clip), str(live_clip)), on_maps=got.append,
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


def test_the_audio_embedding_is_refreshed_within_its_cpu_share(live_clip):
    """While the trunk keeps the visual thread busy (each pass takes all the loop's time:
    the fake's pass moves the loop's clock 40 ms, nothing else does), a refresh costing
    1.2 ms of CPU (a CPU clock the test drives: the fake's embedding adds 1.2 ms to it) at
    100 ticks a second is made every 3rd tick of the audio thread (1.2 ms <= 0.05 x 3 x
    10 ms); the first tick embeds at once (nothing held yet)."""
    from model_core.inference import live_loop as ll

    assert (ll.AUDIO_CPU_SHARE, ll.AUDIO_BOUND_WHEN_BUSY) == (0.05, 0.8)
    cpu = {"t": 0.0}
    clock = FakeClock()

    class Costly(FakeLocalizer):
        def embed_audio(self, windows):
            cpu["t"] += 0.0012
            return super().embed_audio(windows)

        def predict(self, frames, emb, audio_index=None):
            clock.advance(0.04)
            return super().predict(frames, emb, audio_index)

    loop = LiveLoop({"m": Costly("m")}, open_frames=lambda: FileCameraFrames(live_clip).start(),
                    open_audio=lambda: FileMicrophone(live_clip).start(), cpu_clock=lambda: cpu["t"],
                    process_cpu_clock=lambda: cpu["t"], audio_hz=100, clock=clock).start()
    try:
        assert wait_for(lambda: loop.audio_ticks >= 20 and loop.stats.mapped >= 3)
    finally:
        assert loop.stop()
    assert loop.visual_busy == 1.0
    assert loop.audio_every == 3
    # tick 1 embeds (nothing held yet), then every 3rd tick
    assert loop.stats.audio_refreshes == 1 + (loop.audio_ticks - 1) // 3
    assert not live_threads()


def test_the_audio_embedding_is_refreshed_every_tick_while_the_camera_limits(live_clip):
    """The same costly refresh, but the trunk takes no time (the visual thread waits for
    the 25 fps camera most of the time): the cores have room, every tick refreshes."""
    from model_core.inference import live_loop as ll

    cpu = {"t": 0.0}

    class Costly(FakeLocalizer):
        def embed_audio(self, windows):
            cpu["t"] += 0.0012
            return super().embed_audio(windows)

    loop = LiveLoop({"m": Costly("m")}, open_frames=lambda: FileCameraFrames(live_clip).start(),
                    open_audio=lambda: FileMicrophone(live_clip).start(), cpu_clock=lambda: cpu["t"],
                    process_cpu_clock=lambda: cpu["t"], audio_hz=100).start()
    try:
        assert wait_for(lambda: loop.visual_busy < ll.AUDIO_BOUND_WHEN_BUSY and loop.audio_every == 1
                        and loop.stats.audio_refreshes >= 5)
    finally:
        assert loop.stop()
    assert not live_threads()


def test_the_audio_refresh_costs_its_cpu_in_every_thread(live_clip):
    """The share counts the refresh's CPU in all threads (torch's OpenMP worker, a compiled
    runtime's pool), not only the audio thread's: a refresh costing the audio thread 1.2 ms
    and the process 2.4 ms (measured on the first refresh, made before any pass) counts
    2.4 ms, so at 100 ticks a second it is made every 5th tick (2.4 ms <= 0.05 x 5 x 10 ms;
    every 3rd on its own thread's CPU alone). Passes keep the visual thread busy as above."""
    own, every = {"t": 0.0}, {"t": 0.0}
    clock = FakeClock()

    class Pooled(FakeLocalizer):
        def embed_audio(self, windows):
            own["t"] += 0.0012
            every["t"] += 0.0024       # its thread's 1.2 ms and as much in a pool thread
            return super().embed_audio(windows)

        def predict(self, frames, emb, audio_index=None):
            clock.advance(0.04)
            return super().predict(frames, emb, audio_index)

    loop = LiveLoop({"m": Pooled("m")}, open_frames=lambda: FileCameraFrames(live_clip).start(),
                    open_audio=lambda: FileMicrophone(live_clip).start(), cpu_clock=lambda: own["t"],
                    process_cpu_clock=lambda: every["t"], audio_hz=100, clock=clock).start()
    try:
        assert wait_for(lambda: loop.audio_ticks >= 20 and loop.stats.mapped >= 3)
    finally:
        assert loop.stop()
    assert loop.audio_cpu_ratio == pytest.approx(2.0)
    assert loop.audio_cost_s == pytest.approx(0.0024)
    assert loop.audio_every == 5
    assert loop.stage_cpu["audio"] == pytest.approx(0.0012 * loop.stats.audio_refreshes)
    assert not live_threads()


def test_the_audio_cost_is_measured_again_when_a_compiled_runtime_takes_over(live_clip):
    """When the models' backends change (the compiled trunk built in the background takes
    over from torch), the ratio of all threads' CPU to the audio thread's is measured again
    on a refresh during which the visual thread is held between passes (here a pass is
    stuck on a gate when the backend changes: the next refresh holds the visual thread and
    waits for that pass to end): the second backend's refresh costs the audio thread 1 ms
    and its pool 5 ms more (ratio 6)."""
    own, every = {"t": 0.0}, {"t": 0.0}
    clock = FakeClock()
    state = {"backend": "torch"}
    gate = threading.Event()
    gate.set()

    class Switching(FakeLocalizer):
        @property
        def backend_used(self):
            return state["backend"]

        def embed_audio(self, windows):
            own["t"] += 0.001
            every["t"] += 0.002 if state["backend"] == "torch" else 0.006
            return super().embed_audio(windows)

        def predict(self, frames, emb, audio_index=None):
            assert gate.wait(20)
            clock.advance(0.04)
            return super().predict(frames, emb, audio_index)

    loop = LiveLoop({"m": Switching("m")}, open_frames=lambda: FileCameraFrames(live_clip).start(),
                    open_audio=lambda: FileMicrophone(live_clip).start(), cpu_clock=lambda: own["t"],
                    process_cpu_clock=lambda: every["t"], audio_hz=100, clock=clock).start()
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


def test_the_file_camera_converts_only_the_frames_wanted(live_clip):
    """Told when the consumer will ask next (``wanted_at``), the file camera decodes every
    frame but converts (RGB, resize) only one that will not be replaced before then; a
    frame held unconverted is converted at once when the consumer asks earlier, with its
    capture time (the latency counts the wait)."""
    clock = FakeClock()
    cam = FileCameraFrames(live_clip, clock=clock).start()
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


def test_the_loop_tells_its_camera_when_it_wants_the_next_frame(live_clip):
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
        cams.append(FileCameraFrames(live_clip).start())
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


def test_a_refresh_served_from_the_cache_keeps_the_measured_cost(live_clip):
    """A refresh whose window is already embedded (no new sound since: here a microphone
    on a clock that never moves) costs nothing and says nothing of the next one's cost:
    the 1.2 ms measured on the first stays, and so does every 3rd tick (it fell to every
    tick)."""
    cpu = {"t": 0.0}
    clock = FakeClock()

    class Costly(FakeLocalizer):
        def embed_audio(self, windows):
            cpu["t"] += 0.0012
            return super().embed_audio(windows)

    loop = LiveLoop({"m": Costly("m")}, open_frames=lambda: FileCameraFrames(live_clip).start(),
                    open_audio=lambda: FileMicrophone(live_clip, clock=clock).start(), cpu_clock=lambda: cpu["t"],
                    process_cpu_clock=lambda: cpu["t"], audio_hz=100, clock=clock).start()
    try:
        assert wait_for(lambda: loop.audio_ticks >= 20 and loop.stats.audio_refreshes >= 4)
    finally:
        assert loop.stop()
    assert cpu["t"] == pytest.approx(0.0012)          # embedded once: the window never moved
    assert loop.audio_cost_s == pytest.approx(0.0012)
    assert loop.audio_every == 3
    assert not live_threads()
