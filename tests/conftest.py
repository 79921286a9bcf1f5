"""Shared test configuration: headless Qt, repo paths, and the fixtures every module shares.

Fixtures live here (not imported into modules by name) so that a session-scoped fixture
is built once per run, and the no-thread-left guard covers every test: a viewer thread
left running fails the test that left it, whichever module it is in.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# compiled models (model_core.inference.backends) built by a test run go to a folder of the
# run's own, never the user's cache; the children the tests start inherit it
_RUN_CACHE = None if "AVSOL_CACHE" in os.environ else tempfile.mkdtemp(prefix="avsol-test-cache-")
if _RUN_CACHE is not None:
    os.environ["AVSOL_CACHE"] = _RUN_CACHE

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
    # A compiled backend's background build (model_core.inference.backends.routed) outlives
    # a test that only needed torch's first answer: stopped here after its current phase,
    # or it compiles, or auto measures, on the cores of the tests that follow (doubling
    # their CPU time in a full run).
    routed = sys.modules.get("model_core.inference.backends.routed")
    if routed is not None:
        routed._close_all()
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


@pytest.fixture(scope="session")
def synth_set(tmp_path_factory):
    """Factory: ``synth_set(seed=1, videos=8, classes=3, duration=3, size=64, fps=10,
    copy_to=None)`` -> a folder made by ``avsol synth`` (the shipped command) with those
    options (``fps=None``: synth's default). Each distinct set is built once per run.

    The folder is shared by every test that asks for the same set: READ IT ONLY. A test
    that writes into the set, or beside it (a cache, logs), gives ``copy_to`` and gets its
    own copy there.
    """
    import shutil

    made: dict[tuple, Path] = {}

    def make(seed: int = 1, videos: int = 8, classes: int = 3, duration: float = 3, size: int = 64,
             fps: float | None = 10, copy_to: Path | None = None) -> Path:
        key = (seed, videos, classes, duration, size, fps)
        if key not in made:
            from model_core.cli import main

            out = tmp_path_factory.mktemp("synth") / "set"
            args = ["synth", str(out), "--seed", str(seed), "--videos", str(videos), "--classes", str(classes),
                    "--duration", f"{duration:g}", "--size", str(size)]
            if fps is not None:
                args += ["--fps", f"{fps:g}"]
            assert main(args) == 0, f"avsol {' '.join(args)} failed"
            made[key] = out
        if copy_to is None:
            return made[key]
        return Path(shutil.copytree(made[key], copy_to))

    return make


@pytest.fixture(scope="session")
def make_tiny_checkpoint(tmp_path_factory):
    """Factory: ``make_tiny_checkpoint(classes=("a", "b"), head="dnm", seed=0, name=None, **config)``
    -> the path of a checkpoint of the tests' tiny model (``tests/tiny_models.py``;
    ``config``: ModelConfig fields over it), named ``NAME.pt`` (the model's name; default
    the head), built once per distinct call. Shared: READ IT ONLY (copy it to change it)."""
    from tiny_models import save_tiny

    made: dict[tuple, Path] = {}

    def make(classes=("a", "b"), head: str = "dnm", seed: int = 0, name: str | None = None, **config) -> Path:
        key = (tuple(classes), head, seed, name, tuple(sorted(config.items())))
        if key not in made:
            folder = tmp_path_factory.mktemp("checkpoint")
            made[key] = save_tiny(folder / f"{name or head}.pt", tuple(classes), head, seed, **config)
        return made[key]

    return make


@pytest.fixture
def input_world(tmp_path) -> dict[str, Path]:
    """The files of every kind a command reads (``tests/input_protection_support.py``), in
    this test's own folder: the input-protection tests try to overwrite each of them."""
    from input_protection_support import make_world

    return make_world(tmp_path)


class EarlyChild:
    """A child process started when the run starts (:func:`pytest_collection_finish`), so
    a long single-threaded check (a cold mypy: ~30 s of CPU on a clean clone, as in CI) runs
    on a core the tests leave idle instead of after them; its test waits for it with
    :meth:`result`. Output goes to files, so a long report never blocks the child."""

    def __init__(self, args: list[str], **popen):
        self.args = args
        self._out, self._err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(args, stdout=self._out, stderr=self._err, text=True, **popen)

    def result(self, timeout: float) -> subprocess.CompletedProcess:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        out = []
        for f in (self._out, self._err):
            f.seek(0)
            out.append(f.read())
            f.close()
        return subprocess.CompletedProcess(self.args, self.proc.returncode, *out)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


_early: dict[str, EarlyChild] = {}


def _early_spec(item) -> tuple[list[str], dict] | None:
    """``EARLY[test name]`` of the test's module: (the command, its Popen keywords). A module
    declares beside its tests the children whose commands need no fixture of the test."""
    return getattr(getattr(item, "module", None), "EARLY", {}).get(item.name)


def pytest_collection_finish(session):
    if session.config.option.collectonly:
        return
    for item in session.items:
        spec = _early_spec(item)
        if spec is not None:
            _early[item.nodeid] = EarlyChild(spec[0], **spec[1])


@pytest.fixture
def early_child(request) -> EarlyChild:
    """This test's child of its module's ``EARLY``: the one started with the run, else (a
    test run apart from its session's start, as by a rerun) started now."""
    child = _early.pop(request.node.nodeid, None)
    if child is None:
        args, popen = _early_spec(request.node)
        child = EarlyChild(args, **popen)
    yield child
    child.kill()


def pytest_unconfigure(config):
    for child in _early.values():   # started, but the run stopped before their tests (-x)
        child.kill()
    if _RUN_CACHE is not None:
        shutil.rmtree(_RUN_CACHE, ignore_errors=True)
