"""Live mode's Qt-free part: live sources (file-backed camera and microphone, the ring
buffer, device errors) and the live loop on the map engine (maps arrive, HUD figures are
sane, stop leaves no thread, a missing or vanishing device is reported and retried)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from media_helpers import make_clip, read_frame_index
from fakes import FakeClock, FakeLocalizer
from waiting import live_threads, wait_for
from model_core.errors import DeviceError
from model_core.inference.live_loop import LiveLoop, LiveStats
from model_core.inference.live_sources import (FileCameraFrames, FileMicrophone, LiveSpec, RingBuffer,
                                               SilentLive)


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


def test_file_camera_plays_in_real_time_and_keeps_the_newest(index_clip):
    """On a clock the test moves: frame k is delivered when the clock reaches k / fps, a
    jump skips the frames already past (counted as dropped), only the newest is held, and
    the file loops."""
    clock = FakeClock()
    cam = FileCameraFrames(index_clip, clock=clock).start()
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


def test_live_loop_maps_arrive_follow_the_sound_and_stop_cleanly(index_clip):
    """On a clock the test moves one frame period at a time: every frame is mapped once,
    the HUD's refresh rate is the camera's 25 Hz and, no time passing while the model runs,
    the latency is 0; the maps follow the tone the file microphone plays."""
    fake = audio_sensitive_fake()
    got = []
    clock = FakeClock()
    loop = LiveLoop({"m": fake}, LiveSpec(str(index_clip), str(index_clip)), on_maps=got.append,
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
        assert loop.camera_name == f"file {index_clip.name}" and loop.microphone_name.startswith("file")
        assert not loop.problems
    finally:
        assert loop.stop()
    assert not live_threads()


def test_live_loop_without_microphone_maps_on_silence_and_says_so(index_clip, tmp_path):
    fake = audio_sensitive_fake()
    got, problems = [], []
    loop = LiveLoop({"m": fake}, LiveSpec(str(index_clip), str(tmp_path / "gone.wav")), on_maps=got.append,
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


def test_camera_gone_mid_stream_is_reported_and_resumes(index_clip):
    fake = FakeLocalizer("m", image_size=64)
    problems, got = [], []
    state = {"fail": False}

    class Flaky(FileCameraFrames):
        def _grab(self):
            if state["fail"]:
                raise DeviceError(None, "camera 0: stopped delivering frames (unplugged?)")
            return super()._grab()

    loop = LiveLoop({"m": fake}, open_frames=lambda: Flaky(index_clip).start(),
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
