"""Shared test configuration: headless Qt, repo paths, and the fixtures every module shares.

Fixtures live here (not imported into modules by name) so that a session-scoped fixture
is built once per run, and the no-thread-left guard covers every test: a viewer thread
left running fails the test that left it, whichever module it is in.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


def pytest_configure(config):
    """Stop at once, in one line, on a broken torch stack (torch and torchaudio from
    different releases fail inside ``import torchaudio`` with a 40-line traceback): torch,
    and torchaudio and torchvision, the references the tests compare the app's code with."""
    from model_core.errors import BrokenInstallError
    from model_core.install_check import REFERENCES, STACK, check_stack

    try:
        check_stack(STACK + REFERENCES)
    except BrokenInstallError as exc:
        pytest.exit(str(exc), returncode=2)
    # A shell starts background jobs (`cmd &`, and so some CI runners) with SIGINT ignored,
    # and Python then leaves it ignored: the tests that interrupt a command with SIGINT
    # would wait for a KeyboardInterrupt that never comes. Ctrl-C means the same in every run.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def no_thread_left():
    """Fail a test that leaves a viewer thread (QThread) running.

    Every test: once a test has imported the viewer's thread registry, each later test is
    checked too (a test that never touched the viewer has nothing to check, and Qt is not
    imported for it).
    """
    yield
    workers = sys.modules.get("avsol_viewer.workers")
    if workers is None:
        return
    left = workers.running_threads()
    for t in left:  # don't let one leak break every later test
        if hasattr(t, "request_stop"):
            t.request_stop()
        t.wait(5000)
    assert not left, f"threads left running: {[t.objectName() for t in left]}"


@pytest.fixture(scope="session")
def index_clip(tmp_path_factory) -> Path:
    """50 frames at 25 fps, 128 x 96, frame index drawn in the pixels, 440 Hz tone."""
    from media_helpers import make_clip

    return make_clip(tmp_path_factory.mktemp("clips") / "index.mp4", n_frames=50, fps=25.0, size=(128, 96))


@pytest.fixture(scope="session")
def other_clip(tmp_path_factory) -> Path:
    from media_helpers import make_clip

    return make_clip(tmp_path_factory.mktemp("clips2") / "other.mp4", n_frames=30, fps=10.0, size=(96, 64),
                     tone_hz=880.0)


@pytest.fixture
def settings(tmp_path):
    from avsol_viewer.settings import ViewerSettings

    return ViewerSettings(tmp_path / "settings.ini")


@pytest.fixture
def make_viewer(qtbot, settings):
    """Factory: ``make_viewer(factory=None)`` -> ``viewer_support.Viewer``; closed at teardown."""
    from avsol_viewer.controller import ViewerController
    from avsol_viewer.playback.clock import ManualClock
    from avsol_viewer.main_window import MainWindow
    from viewer_support import FakeFactory, FakeLocalizer, Viewer

    made = []

    def make(factory=None) -> Viewer:
        clock = ManualClock()
        c = ViewerController(localizer_factory=factory or FakeFactory(),
                             clock_factory=lambda track: (clock, "manual clock"), autotick=False)
        win = MainWindow(settings, c)
        errors: list[tuple[str, str]] = []
        win.report_error = lambda title, text: errors.append((title, text))
        win.resize(1200, 800)
        win.show()
        qtbot.waitExposed(win)
        v = Viewer(win=win, c=c, clock=clock, qtbot=qtbot, errors=errors)
        made.append((v, factory))
        return v

    yield make
    for v, factory in made:
        for fake in getattr(factory, "fakes", {}).values():
            if isinstance(fake, FakeLocalizer) and fake.gate is not None:
                fake.gate.set()
        v.win.close()
