"""Workers that cannot do their job say so in the window at once (issue 12 item 4).

The failing step is the real log-mel (:mod:`model_core.features`), made to raise what a
broken install raises (:func:`model_core.install_check.broken`, torch's compiled library
missing a symbol): both the map worker (through a model whose audio embedding computes
the log-mel, as the real ``Localizer`` does) and the real sound track loader go through it.
"""
from __future__ import annotations

import logging
import re
import threading

import pytest

from model_core import features, install_check
from model_core.errors import CheckpointError
from viewer_support import FakeFactory, FakeLocalizer


BROKEN = OSError("libtorch_cpu.so: undefined symbol: _ZN3c1015SmallVectorBase")


class NeedsLogMel(FakeLocalizer):
    """A model whose audio branch computes the log-mel (the real one does)."""

    def embed_audio(self, windows):
        features.log_mel(windows)
        return super().embed_audio(windows)


@pytest.fixture
def broken_log_mel(monkeypatch):
    def broken_transform(device):
        raise install_check.broken("torch", BROKEN)

    monkeypatch.setattr(features, "_transform", broken_transform)


def test_broken_install_reaches_every_head_and_the_status_bar(make_viewer, index_clip, broken_log_mel, caplog):
    caplog.set_level(logging.WARNING)
    v = make_viewer(FakeFactory(avc=NeedsLogMel("avc", head="avc"), dnm=NeedsLogMel("dnm")))
    assert v.win.open_path(index_clip)
    v.win.load_checkpoint("/m/avc.pt")
    v.win.load_checkpoint("/m/dnm.pt")
    v.qtbot.waitUntil(lambda: v.c.maps.failure is not None, timeout=30000)
    v.qtbot.waitUntil(lambda: all("no map" in view.title.text for view in v.win.heads.views[1:]), timeout=15000)
    titles = [view.title.text for view in v.win.heads.views]
    assert len(titles) == 3  # the frame and two heads
    for t in titles[1:]:
        assert "broken install: torch" in t and "computing" not in t
    status = v.win.statusBar().currentMessage()
    assert "libtorch_cpu.so" in status and "requirements.lock" in status, status
    assert v.win.maps_label.text() == "maps failed"
    # the real sound track loader failed on the same import: the spectrogram says why
    v.qtbot.waitUntil(lambda: v.c.track_failure is not None, timeout=30000)
    assert "broken install" in v.c.track_failure
    assert "no spectrogram: broken install" in v.win.spectrogram.note.toPlainText()
    assert not [r for r in caplog.records if r.exc_info], "a traceback reached the terminal"
    v.c.player.seek_index(3)  # the player still works
    v.wait_frame(3)


def test_maps_coming_back_clear_the_failure(make_viewer, index_clip):
    broken = threading.Event()
    broken.set()

    class FailsUntilFixed(FakeLocalizer):
        def embed_audio(self, windows):
            if broken.is_set():
                raise RuntimeError("decoder hiccup")
            return super().embed_audio(windows)

    v = make_viewer(FakeFactory(dnm=FailsUntilFixed("dnm")))
    assert v.win.open_path(index_clip)
    v.win.load_checkpoint("/m/dnm.pt")
    v.qtbot.waitUntil(lambda: "decoder hiccup" in v.win.heads.views[-1].title.text, timeout=30000)
    broken.clear()
    v.c.player.seek_index(5)  # a new request: this time the model works
    v.wait_maps(5)
    v.qtbot.waitUntil(lambda: "no map" not in v.win.heads.views[-1].title.text, timeout=15000)
    # the view may draw the cached map before the worker's maps_ready reaches this thread
    # (the cache is filled first): the failure clears when that signal arrives
    v.qtbot.waitUntil(lambda: v.c.maps.failure is None, timeout=15000)
    # the same signal's slot set the status label (a direct call, before the wait's next poll)
    assert re.fullmatch(r"maps \d+/\d+ frames", v.win.maps_label.text()), v.win.maps_label.text()


def test_a_model_that_cannot_load_says_why_in_the_view(make_viewer, index_clip):
    err = CheckpointError("/models/dnm.pt", "not an AVSOL Studio checkpoint")
    v = make_viewer(FakeFactory(dnm=err))
    assert v.win.open_path(index_clip)
    v.win.load_checkpoint("/models/dnm.pt")
    v.qtbot.waitUntil(lambda: "could not load dnm.pt" in v.win.heads.views[0].title.text, timeout=15000)
    assert "not an AVSOL Studio checkpoint" in v.win.heads.views[0].title.text


def test_headless_screenshot_fails_at_once_when_the_worker_fails(make_viewer, index_clip, tmp_path, capsys):
    """In-process ``--screenshot`` with a worker that cannot compute maps: exit 2 with the
    cause, no picture, long before the timeout."""
    import time

    from avsol_viewer.headless import render_screenshot
    from PySide6.QtWidgets import QApplication

    class Broken(FakeLocalizer):
        def embed_audio(self, windows):
            raise install_check.broken("torch", BROKEN)

    v = make_viewer(FakeFactory(dnm=Broken("dnm")))
    out = tmp_path / "shot.png"
    t0 = time.monotonic()
    code = render_screenshot(QApplication.instance(), v.win, str(index_clip), ["/m/dnm.pt"], 0.0, str(out), 120.0)
    assert code == 2
    assert time.monotonic() - t0 < 60
    assert not out.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken install: torch" in err[0], err
