"""Live mode in the window, offscreen, with file-backed camera and microphone (SPEC 7):
maps arrive over the live picture with the view controls, the HUD's figures are sane,
Stop returns to the open file and leaves no thread, device faults show a message and
live mode resumes on another device; ``--live --screenshot`` end to end."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from media_helpers import read_frame_index
from viewer_support import FakeFactory, FakeLocalizer
from waiting import live_threads


@pytest.fixture
def viewer(make_viewer, tmp_path):
    v = make_viewer(FakeFactory(avc=FakeLocalizer("avc", head="avc", quadrant="tl"),
                                dnm=FakeLocalizer("dnm", head="dnm", quadrant="br")))
    for name in ("avc", "dnm"):
        v.win.load_checkpoint(tmp_path / f"{name}.pt")
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == 2, timeout=15000)
    yield v
    v.win.live.stop()
    assert not live_threads()


def test_live_maps_arrive_hud_is_sane_and_stop_returns_to_the_file(viewer, index_clip, other_clip, monkeypatch):
    """Live mode's loop on a clock the test moves one camera frame (0.1 s) at a time: the
    HUD says 10 maps/s and, no time passing while the fake models run, 0 ms latency."""
    import functools

    from avsol_viewer.live import live_session
    from fakes import FakeClock
    from model_core.inference.live_loop import LiveLoop

    clock = FakeClock()
    monkeypatch.setattr(live_session, "LiveLoop", functools.partial(LiveLoop, clock=clock))
    v, live = viewer, viewer.win.live
    assert v.win.open_path(index_clip)
    v.wait_frame(0)
    live.start(str(other_clip), str(other_clip))
    assert live.active and not v.win.transport.isVisible() and live.bar.isVisible()
    v.qtbot.waitUntil(lambda: live.shown >= 1, timeout=20000)
    for k in range(1, 11):                       # a 10 fps camera: one frame per step
        clock.set(k / 10)
        v.qtbot.waitUntil(lambda: live.shown >= k + 1, timeout=20000)
    r = live.last
    assert set(r.entries) == {m.key for m in v.c.maps.models} and not r.silent
    # side by side: the live picture + both heads, each with its map
    views = v.win.heads.views
    assert len(views) == 3 and not views[0].overlay.isVisible()
    assert all(view.overlay.isVisible() for view in views[1:])
    assert read_frame_index(v.win.heads._image) in range(30)   # the camera's picture, not the file's
    # the view controls act on the live picture: one head
    v.win.set_options(replace(v.win.display.options, layout="single", head=v.c.maps.models[0].key))
    v.qtbot.waitUntil(lambda: len(v.win.heads.views) == 1, timeout=5000)
    live.update_hud()
    hud = live.bar.hud.text()
    hz = float(re.search(r"maps ([\d.]+)/s", hud).group(1))
    med = float(re.search(r"latency (\d+) ms", hud).group(1))
    assert hz == 10.0 and med == 0, hud         # 11 maps in 1.0 s of the clock, none waited for
    assert "audio overruns 0" in hud and f"file {other_clip.name}" in hud
    assert live.bar.columns > 50                # the scrolling spectrogram is drawn
    live.stop()
    assert not live_threads()
    assert v.win.presenter.live is None and v.win.transport.isVisible() and not live.bar.isVisible()
    assert v.c.shown_index == 0 and read_frame_index(v.win.heads._image) == 0   # the file, where it was
    v.win.set_options(replace(v.win.display.options, layout="side_by_side"))
    assert len(v.win.heads.views) == 3


def test_missing_camera_shows_a_message_and_another_device_resumes(viewer, index_clip, tmp_path):
    v, live = viewer, viewer.win.live
    live.start(str(tmp_path / "no-camera.mp4"), str(tmp_path / "no-mic.wav"))
    v.qtbot.waitUntil(lambda: "camera" in live.problems and "microphone" in live.problems, timeout=10000)
    assert "no such file for --camera" in live.bar.problem.text()
    assert "maps computed on silence" in live.problems["microphone"]
    assert live.shown == 0 and not v.errors        # a message in the window, no dialog, no traceback
    # the rest of the app keeps working
    assert v.win.open_path(index_clip)
    # another camera is chosen: live mode resumes (on silence: still no microphone)
    live.start(str(index_clip), str(tmp_path / "no-mic.wav"))
    v.qtbot.waitUntil(lambda: live.shown >= 3, timeout=20000)
    assert "camera" not in live.problems and live.last.silent
    live.stop()
    assert not live_threads()


def test_devices_are_remembered(viewer, other_clip, settings):
    live = viewer.win.live
    live.start(str(other_clip), str(other_clip))
    live.stop()
    from avsol_viewer.live.live_mode import LiveMode

    assert settings.value("live/camera", "0") == str(other_clip)
    assert settings.value("live/microphone", "") == str(other_clip)
    assert LiveMode(viewer.win.context).camera == str(other_clip)


def test_closing_the_window_while_live_stops_every_thread(make_viewer, other_clip):
    v = make_viewer(FakeFactory())
    v.win.live.start(str(other_clip), str(other_clip))
    v.qtbot.waitUntil(lambda: v.win.live.shown >= 1, timeout=20000)   # frames without models
    v.win.close()
    assert not live_threads()


def test_camera_and_microphone_need_live():
    from avsol_viewer.app import main

    assert main(["--camera", "0", "--screenshot", "x.png"]) == 2


def test_live_at_beyond_timeout_is_refused_in_one_line(tmp_path, capsys):
    from avsol_viewer.app import main

    out = tmp_path / "x.png"
    assert main(["--live", "--camera", "cam.mp4", "--screenshot", str(out), "--at", "30", "--timeout", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--at 30 (seconds of live mode before the screenshot) must be below --timeout 5" in err
    assert len(err.splitlines()) == 1 and not out.exists()


@pytest.mark.slow
def test_live_screenshot_with_the_demo_heads(tmp_path, other_clip, repo_root):
    from PySide6.QtGui import QImage

    out = tmp_path / "live.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", AVSOL_VIEWER_SETTINGS=str(tmp_path / "s.ini"))
    res = subprocess.run([sys.executable, "-m", "avsol_viewer.app", "--live", "--camera", str(other_clip),
                          "--microphone", str(other_clip), "--screenshot", str(out)],
                         capture_output=True, text=True, env=env, timeout=240, cwd=repo_root)
    assert res.returncode == 0, res.stderr
    assert "warning" not in res.stderr
    assert QImage(str(out)).width() == 1600


@pytest.mark.slow
def test_live_screenshot_without_camera_exits_2(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", AVSOL_VIEWER_SETTINGS=str(tmp_path / "s.ini"),
               AVSOL_RESOURCES=str(tmp_path))
    res = subprocess.run([sys.executable, "-m", "avsol_viewer.app", "--live", "--camera", str(tmp_path / "none.mp4"),
                          "--microphone", str(tmp_path / "none.wav"), "--screenshot", str(tmp_path / "o.png")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 2
    assert "no such file for --camera" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.slow
def test_record_then_open_shows_the_recorded_maps_without_recomputing(viewer, other_clip, tmp_path):
    from model_core.inference.live_record import maps_path, sidecar_path
    from model_core.maps_file import load_maps
    from model_core.media.probe import probe

    v, live = viewer, viewer.win.live
    live.start(str(other_clip), str(other_clip))
    v.qtbot.waitUntil(lambda: live.shown >= 2, timeout=20000)
    rec = tmp_path / "rec.mp4"
    assert live.record(rec)
    v.qtbot.waitUntil(lambda: live.recorder.frames >= 15, timeout=20000)   # 1.5 s of a 10 fps camera
    assert "recording: sound complete" in live.hud_text()      # the HUD tells what the file lacks
    files = live.stop_record()
    live.stop()
    assert not live_threads()
    names = {m.name for m in v.c.maps.models}
    assert files[0] == rec and {f.name for f in files[1:-1]} == {maps_path(rec, n).name for n in names}
    side = json.loads(sidecar_path(rec).read_text())          # the sound's account, file-backed mic
    assert files[-1] == sidecar_path(rec) and side["audio"]["source"].startswith("file ")
    assert side["audio"]["missing_samples"] < 0.01 * side["audio"]["samples"]
    info = probe(rec)
    assert info.has_video and info.has_audio and abs(info.fps - 10.0) < 0.01   # the camera's rate
    mf = load_maps(maps_path(rec, "avc"))
    assert len(mf) == info.frame_count >= 15 and mf.head == "avc"
    np_times = mf.times
    assert abs(np_times[1] - 0.1) < 1e-9
    assert (mf.maps[:, 0, 0] > 0.9).all()                     # the fake avc: hot top-left
    fakes = [v.c.maps.worker.loaded_localizers()[m.key] for m in v.c.maps.models]
    calls = [len(f.predicted) for f in fakes]
    assert v.win.open_path(rec)
    v.wait_frame(0)
    v.wait_maps(5)
    v.qtbot.wait(500)
    assert [len(f.predicted) for f in fakes] == calls          # nothing recomputed
    avc = next(m for m in v.c.maps.models if m.name == "avc")
    entry, _ = v.c.maps.entry(avc.key, 5)
    np.testing.assert_array_equal(entry.map, mf.maps[5])


def test_recording_refuses_an_output_that_is_an_input(viewer, other_clip):
    live = viewer.win.live
    live.start(str(other_clip), str(other_clip))
    assert not live.record(other_clip)                    # would destroy the camera's file
    assert viewer.errors and "also an input" in viewer.errors[-1][1]
    assert live.recorder is None
    live.stop()


def test_portaudio_missing_says_so_and_maps_on_silence(viewer, other_clip, monkeypatch):
    from model_core.errors import DeviceError
    from model_core.inference import live_sources

    def no_portaudio():
        raise DeviceError(None, "PortAudio library not found: no microphone input (OSError); install libportaudio2")

    monkeypatch.setattr(live_sources, "_sounddevice", no_portaudio)
    v, live = viewer, viewer.win.live
    live.start(str(other_clip), "")                      # the default input device
    v.qtbot.waitUntil(lambda: live.shown >= 2 and "microphone" in live.problems, timeout=20000)
    assert "PortAudio library not found" in live.bar.problem.text()
    assert live.last.silent and not v.errors
    v.win.presenter.refresh()
    assert "on silence" in v.win.heads.views[1].title.text
    live.stop()


def test_camera_gone_mid_stream_says_so_and_resumes(viewer, other_clip, monkeypatch):
    from model_core.errors import DeviceError
    from model_core.inference.live_frames import FileCameraFrames

    state = {"gone": False}
    grab = FileCameraFrames._grab

    def flaky(self):
        if state["gone"]:
            raise DeviceError(None, "camera 0: stopped delivering frames (unplugged?)")
        return grab(self)

    monkeypatch.setattr(FileCameraFrames, "_grab", flaky)
    v, live = viewer, viewer.win.live
    live.start(str(other_clip), str(other_clip))
    v.qtbot.waitUntil(lambda: live.shown >= 2, timeout=20000)
    state["gone"] = True
    v.qtbot.waitUntil(lambda: "unplugged" in live.bar.problem.text(), timeout=10000)
    assert live.active and not v.errors
    v.win.toggle_layout()                                 # the window keeps working meanwhile
    n = live.shown
    state["gone"] = False                                 # plugged back in: live resumes
    v.qtbot.waitUntil(lambda: live.shown > n + 2 and "camera" not in live.problems, timeout=20000)
    assert not live.bar.problem.isVisible() or "unplugged" not in live.bar.problem.text()
    live.stop()
