"""Live › Record keeps every sample the microphone captured (issue 25 finding 3).

The recorder used to read the sound from the live ring buffer at the video's wall-clock
pace: whenever the capture thread was a few milliseconds late (any load), it read samples
not yet captured as zeros and never read them again (23 % digital silence in 109 gaps on
an 8 s recording). Here a file-backed microphone plays a known, non-periodic signal while
a thread burns the CPU (and the GIL); the recorded track is aligned to the source by
cross-correlation and compared block by block.
"""
from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from fakes import FakeClock
from media_helpers import make_clip
from model_core.inference.audio_window import SAMPLE_RATE
from model_core.inference.live_record import LiveRecorder, sidecar_path
from model_core.inference.live_sources import FileMicrophone, SilentLive

BLOCK = 160  # 10 ms at 16 kHz


def _signal(seconds: float, seed: int = 3) -> np.ndarray:
    """Four non-harmonic tones with random phases under a slow, never-zero envelope: no
    10 ms stretch repeats or falls silent, so both alignment and a gap are unambiguous."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    x = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in (310.0, 523.0, 877.0, 1290.0))
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 0.37 * t)
    return (0.12 * env * x).astype(np.float32)


def _silent_runs(x: np.ndarray, min_len: int = BLOCK) -> int:
    """Runs of at least ``min_len`` samples of digital silence (|x| < 1e-4)."""
    quiet = np.abs(x) < 1e-4
    runs, n = 0, 0
    for q in quiet:
        n = n + 1 if q else 0
        if n == min_len:
            runs += 1
    return runs


def _burn(stop: threading.Event) -> None:
    """Pure-Python work: holds the GIL, as the viewer's own threads do under load."""
    while not stop.is_set():
        sum(i * i for i in range(20000))


def _frames(rec: LiveRecorder, stop: threading.Event, fps: float = 25.0) -> None:
    """The live loop's side: a result per camera frame (no heads: the sound is the point)."""
    i = 0
    while not stop.is_set():
        img = np.full((48, 64, 3), i % 255, np.uint8)
        rec.add(SimpleNamespace(frame=SimpleNamespace(image=img, index=i), entries={}))
        i += 1
        stop.wait(1.0 / fps)


def _record(tmp_path, mic, seconds: float, burners: int = 2):
    stop_load, stop_frames = threading.Event(), threading.Event()
    load = [threading.Thread(target=_burn, args=(stop_load,), daemon=True) for _ in range(burners)]
    for t in load:
        t.start()
    rec = LiveRecorder(tmp_path / "rec.mp4", {}, 25.0, audio=mic)
    feeder = threading.Thread(target=_frames, args=(rec, stop_frames), daemon=True)
    try:
        feeder.start()
        time.sleep(seconds)
        stop_frames.set()
        feeder.join(5)
        files = rec.close()
    finally:
        stop_load.set()
        stop_frames.set()
        for t in load:
            t.join(5)
    return rec, files


@pytest.mark.slow
def test_recording_under_load_keeps_every_sample_of_a_file_microphone(tmp_path):
    from model_core.media.audio import read_audio

    clip = make_clip(tmp_path / "m.mp4", n_frames=5, fps=25.0, size=(64, 48))
    src = _signal(20.0)
    mic = FileMicrophone(clip)
    mic.track = src            # the known signal, long enough never to loop here
    mic.start()
    try:
        rec, files = _record(tmp_path, mic, 3.0)
    finally:
        mic.close()
    assert rec.error is None and files[0] == tmp_path / "rec.mp4"
    got = read_audio(files[0])
    assert len(got) > 2.5 * SAMPLE_RATE
    # align: the recording starts somewhere in the first seconds of the source
    head = got[2000:2000 + 4000]
    search = src[:4 * SAMPLE_RATE]
    corr = np.correlate(search, head, mode="valid")
    off = int(np.argmax(corr)) - 2000
    assert off >= -200
    n = min(len(got), len(src) - max(off, 0)) - 2 * BLOCK
    lo = max(0, -off) + BLOCK          # skip the encoder's first priming block
    missing = 0
    blocks = 0
    for b in range(lo, n - BLOCK, BLOCK):
        a, s = got[b:b + BLOCK], src[b + off:b + off + BLOCK]
        c = float(np.dot(a, s) / (np.linalg.norm(a) * np.linalg.norm(s) + 1e-12))
        blocks += 1
        missing += c < 0.8
    assert blocks > 200
    assert missing / blocks < 0.01, f"{missing} of {blocks} 10 ms blocks differ from the source"
    assert _silent_runs(got[lo:n]) == 0
    side = json.loads(sidecar_path(files[0]).read_text())
    assert side["audio"]["missing_samples"] == 0 and side["audio"]["gaps"] == []
    assert files[-1] == sidecar_path(files[0])


def test_a_tap_gets_every_block_by_position_and_drops_only_beyond_its_bound():
    from model_core.inference.live_record import AudioTap
    from model_core.inference.live_sources import RingBuffer

    ring = RingBuffer(10)
    ring.write(np.arange(3, dtype=np.float32))          # before the tap: not its business
    tap = AudioTap(rate=10, max_seconds=1.0)            # holds at most 10 samples
    ring.add_tap(tap)
    buf = np.arange(100, 104, dtype=np.float32)
    ring.write(buf)
    buf[:] = -1                                          # a callback reuses its buffer
    got = tap.take()
    assert [p for p, _ in got] == [0]
    np.testing.assert_array_equal(got[0][1], [100, 101, 102, 103])
    ring.write(np.arange(200, 225, dtype=np.float32))   # longer than the ring: the tap gets it all
    got = tap.take()
    assert [p for p, _ in got] == [4]                    # one block over the bound stays whole
    np.testing.assert_array_equal(got[0][1], np.arange(200, 225))
    assert tap.take() == []
    for k in range(4):                                   # 4 blocks of 4 > 10: the oldest go
        ring.write(np.full(4, k, np.float32))
    got = tap.take()
    assert [p for p, _ in got] == [37, 41]               # 29, 33 dropped: the recorder sees the jump
    ring.remove_tap(tap)
    ring.write(np.ones(2, np.float32))
    assert tap.take() == [] and ring.total == 3 + 4 + 25 + 16 + 2


def test_sound_track_puts_counted_silence_where_sound_is_missing():
    from model_core.inference.live_record import SoundTrack

    out = []
    t = SoundTrack(out.append, rate=10)
    t.feed(0, np.ones(5, np.float32))
    t.feed(5, np.ones(5, np.float32))                    # contiguous: no gap
    t.feed(13, np.ones(2, np.float32))                   # 10..12 were dropped
    t.silence(5, "no microphone")
    t.silence(5, "no microphone")                        # adjacent, same why: one gap
    t.feed(24, np.ones(3, np.float32))                   # overlaps by 1: the track's timing wins
    x = np.concatenate(out)
    assert t.written == len(x) == 27 and t.missing == 13
    np.testing.assert_array_equal(x[10:13], 0)
    np.testing.assert_array_equal(x[15:25], 0)
    assert x[[0, 9, 13, 14, 25, 26]].tolist() == [1] * 6
    assert t.gaps == [{"at": 1.0, "seconds": 0.3, "why": "not drained in time: dropped"},
                      {"at": 1.5, "seconds": 1.0, "why": "no microphone"}]


def test_recording_without_a_microphone_says_the_sound_is_silence(tmp_path):
    """On a clock the test moves: 0.6 s after the first frame, frames 0..15 (due at k / 25 s)
    are written, and their 16 x 640 samples of sound are silence, counted as missing."""
    clock = FakeClock()
    rec = LiveRecorder(tmp_path / "rec.mp4", {}, 25.0, audio=SilentLive(clock=clock), clock=clock)
    rec.add(SimpleNamespace(frame=SimpleNamespace(image=np.zeros((48, 64, 3), np.uint8), index=0), entries={}))
    end = time.monotonic() + 30

    def wait_frames(n):                     # the recorder's thread catches up (no timing asserted)
        while rec.frames < n and time.monotonic() < end:
            time.sleep(0.01)

    wait_frames(1)                          # frame 0 starts the recording's clock
    clock.set(0.6)
    wait_frames(16)
    files = rec.close()
    side = json.loads(sidecar_path(files[0]).read_text())
    assert rec.frames == side["frames"] == 16
    assert side["audio"]["source"] == "no microphone"
    assert side["audio"]["missing_samples"] == 16 * SAMPLE_RATE // 25
    assert "no microphone" in rec.summary()


def test_a_change_of_microphone_is_counted_silence_that_keeps_the_sound_in_step(tmp_path):
    """Driven by hand (no thread timing): the recorder's sound follows the loop's current
    source; the time without one is silence, counted with why, so picture and sound stay
    aligned."""
    from model_core.inference.live_record import SoundTrack
    from model_core.inference.live_sources import RingBuffer

    class Source:
        silent, overruns = False, 0

        def __init__(self, name):
            self.name, self.rate, self.ring = name, 10, RingBuffer(100)

    a, b = Source("mic a"), Source("mic b")
    current = [a]
    rec = LiveRecorder(tmp_path / "rec.mp4", {}, 10.0, audio=lambda: current[0])
    try:
        out = []
        rec.track = SoundTrack(out.append, 10)        # what the thread does on the first frame
        rec._follow_source()
        a.ring.write(np.ones(10, np.float32))          # 1 s heard, 1 s of picture
        rec.frames = 10
        rec._sound()
        current[0] = SilentLive()                      # the microphone failed: the loop maps on silence
        a.ring.write(np.ones(3, np.float32))           # its last block arrived before the switch was seen
        rec.frames = 15
        rec._sound()
        rec.frames = 20
        rec._sound()
        current[0] = b                                 # a microphone again
        rec.frames = 22
        rec._sound()
        b.ring.write(np.full(8, 2.0, np.float32))
        rec.frames = 30
        rec._sound()
        x = np.concatenate(out)
        assert rec.track.written == len(x) == 30 and rec.sources == ["mic a", "no microphone", "mic b"]
        np.testing.assert_array_equal(x[:13], 1)                   # every sample mic a delivered
        np.testing.assert_array_equal(x[13:22], 0)
        np.testing.assert_array_equal(x[22:], 2)
        assert rec.track.gaps == [{"at": 1.3, "seconds": 0.2, "why": "microphone changed"},
                                  {"at": 1.5, "seconds": 0.5, "why": "no microphone"},
                                  {"at": 2.0, "seconds": 0.2, "why": "microphone changed"}]
        assert "sound missing 0.90 s of 3.0 s in 3 gap(s)" in rec.summary()
        assert a.ring._taps == [] and len(b.ring._taps) == 1      # only the current source is tapped
    finally:
        rec._detach()
        rec.close()


def test_a_recording_without_sound_says_so_in_its_sidecar(tmp_path):
    rec = LiveRecorder(tmp_path / "rec.mp4", {}, 25.0, audio=None)
    stop = threading.Event()
    feeder = threading.Thread(target=_frames, args=(rec, stop), daemon=True)
    feeder.start()
    time.sleep(0.3)
    stop.set()
    feeder.join(5)
    files = rec.close()
    side = json.loads(sidecar_path(files[0]).read_text())
    assert side["audio"] is None and side["frames"] == rec.frames > 0 and rec.summary() == "no sound track"
