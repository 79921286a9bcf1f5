"""The installed stack is the locked one, and a broken one is named in one line.

``requirements.lock`` (made by ``scripts/lock.sh`` with pip-tools) is what
``./quickstart.sh`` installs and CI tests; an environment that drifted from it fails here
with the packages named, instead of failing somewhere else with a library's traceback.
A torchaudio that cannot load (the symptom of torch and torchaudio from different
releases, or of PyPI's torchaudio beside the CPU build of torch) is simulated by a package
of that name on ``PYTHONPATH`` whose import raises the ``OSError`` the real mismatch raises,
and the same for torchvision. The app no longer imports either (they are the tests'
references): ``avsol infer`` and the viewer run without them, and the test suite, which
needs them, stops in one line.
"""
from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements.lock"
#: The packages whose drift breaks the product or its tests first (compiled against each
#: other or Qt); torchaudio and torchvision are the tests' references.
CORE = ("torch", "torchaudio", "torchvision", "pyside6-essentials", "shiboken6")
UNDEFINED_SYMBOL = ("{root}/site-packages/torchaudio/lib/libtorchaudio.so: undefined symbol: "
                    "torch_exception_get_what_without_backtrace")


def locked() -> dict[str, str]:
    """{canonical name: version} from requirements.lock's ``name==version`` lines."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line and not line.startswith("-"):
            name, version = line.split("==", 1)
            pins[canonicalize_name(name)] = version.split(";")[0].strip()
    return pins


def test_lock_pins_the_core_stack():
    pins = locked()
    for name in CORE:
        assert name in pins, f"requirements.lock does not pin {name}"
    # torchaudio 2.11.1 does not load with torch 2.11.0: the lock must never pair them
    assert Version(pins["torch"]) >= Version("2.14"), pins["torch"]
    assert Version(pins["torchaudio"]).release[:2] == (2, 11)


def test_installed_versions_are_the_locked_ones():
    """Every locked package is installed at its locked version (local tags like +cu130
    aside, as pip's ``==`` matches them); the core stack is named first."""
    pins = locked()
    drift = []
    for name in sorted(pins, key=lambda n: (n not in CORE, n)):
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            drift.append(f"{name}: not installed, lock {pins[name]}")
            continue
        if Version(have).public != Version(pins[name]).public:
            drift.append(f"{name}: installed {have}, lock {pins[name]}")
    assert not drift, ("environment differs from requirements.lock (run ./quickstart.sh test to "
                       "reinstall it): " + "; ".join(drift))


def test_pyproject_ranges_admit_the_lock():
    """pyproject keeps ranges for other environments; the locked versions must satisfy them.
    The run-time dependencies name torch and none of its test-only references."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = locked()
    runtime = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    assert "torch" in runtime and not runtime & {"torchaudio", "torchvision", "scikit-learn"}, runtime
    reqs = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]
    for req in reqs:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is a dependency but not in requirements.lock (run scripts/lock.sh)"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"lock has {name}=={pins[name]}, pyproject asks {req} (run scripts/lock.sh)"


# -- a broken torchaudio ----------------------------------------------------------------
def test_require_names_versions_and_fix(monkeypatch):
    from model_core import install_check
    from model_core.errors import BrokenInstallError

    monkeypatch.setattr(install_check, "_failed", {})
    monkeypatch.setitem(sys.modules, "torchaudio", None)  # import torchaudio -> ImportError
    with pytest.raises(BrokenInstallError) as info:
        install_check.require("torchaudio")
    msg = str(info.value)
    assert "\n" not in msg
    assert f"torchaudio {metadata.version('torchaudio')}" in msg
    assert f"torch {metadata.version('torch')}" in msg
    assert "requirements.lock" in msg and "quickstart.sh" in msg
    with pytest.raises(BrokenInstallError):  # remembered, not retried
        install_check.require("torchaudio")


def test_reason_cuts_library_paths():
    from model_core.install_check import broken

    err = broken("torchaudio", OSError(UNDEFINED_SYMBOL.format(root="/very/long/venv/lib/python3.11")))
    assert "libtorchaudio.so: undefined symbol: torch_exception_get_what_without_backtrace" in str(err)
    assert "/very/long" not in str(err)


@pytest.fixture(scope="module")
def broken_env(tmp_path_factory):
    """Environment whose ``import torchaudio`` raises the mismatch's OSError, and whose
    ``import torchvision`` raises the one PyPI's torchvision raises beside a CPU torch."""
    shadow = tmp_path_factory.mktemp("broken-torchaudio")
    (shadow / "torchaudio").mkdir()
    (shadow / "torchaudio" / "__init__.py").write_text(
        f"raise OSError({UNDEFINED_SYMBOL.format(root=str(shadow))!r})\n")
    (shadow / "torchvision").mkdir()
    (shadow / "torchvision" / "__init__.py").write_text(
        "raise RuntimeError('operator torchvision::nms does not exist')\n")
    path = os.pathsep.join([str(shadow), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return dict(os.environ, PYTHONPATH=path, QT_QPA_PLATFORM="offscreen")


def test_no_module_of_the_app_imports_torchaudio_or_torchvision(broken_env):
    """Every module of model_core and avsol_viewer imports with both unloadable, and none
    of them pulls either in (the CPU desktop bundle carries neither)."""
    code = ("import pkgutil, importlib, sys, model_core, avsol_viewer\n"
            "for pkg in (model_core, avsol_viewer):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "        if not m.name.endswith('__main__'):  # runs its program\n"
            "            importlib.import_module(m.name)\n"
            "import numpy as np\n"
            "from model_core.features import log_mel, spectrogram_for_display\n"
            "log_mel(np.zeros(16000, np.float32)); spectrogram_for_display(np.zeros(48000, np.float32), 48000)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torchaudio', 'torchvision', 'sklearn'))\n"
            "print('imported:', bad)\n")
    res = subprocess.run([sys.executable, "-c", code], env=broken_env, cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "imported: []", res.stdout


@pytest.mark.slow
def test_avsol_infer_needs_neither_torchaudio_nor_torchvision(broken_env, tmp_path):
    demo = REPO / "resources" / "demo" / "demo.mp4"
    res = subprocess.run([sys.executable, "-m", "model_core", "infer", str(demo), "--checkpoint",
                          str(REPO / "resources" / "models" / "dnm.pt"), "--out", str(tmp_path / "m.npz"),
                          "--fps", "2", "--device", "cpu", "--quiet"],
                         env=broken_env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    import numpy as np

    ref = np.load(REPO / "tests" / "data" / "demo_maps_torchvision_torchaudio.npz")
    # the tolerance of tests/test_demo_models.py (the file comes from another CPU's kernels)
    np.testing.assert_allclose(np.load(tmp_path / "m.npz")["maps"], ref["dnm_maps"], rtol=0, atol=1e-4)


@pytest.mark.slow
def test_tests_stop_on_a_broken_torchaudio(broken_env, tmp_path):
    """The tests compare the app's log-mel and ResNet block with torchaudio's and
    torchvision's: without them the suite stops at once, in one line."""
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(REPO / "tests" / "test_package.py")], env=broken_env, cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stdout + res.stderr
    out = res.stdout + res.stderr
    assert "Traceback" not in out and "broken install" in out, out
    assert "torchaudio" in out and "libtorchaudio.so" in out, out
    assert "passed" not in out  # stopped before running anything


@pytest.mark.slow
def test_viewer_screenshot_needs_neither_torchaudio_nor_torchvision(broken_env, tmp_path):
    """The demo's own command, with both unloadable: the picture, with its maps and its
    spectrogram, exit 0."""
    out = tmp_path / "shot.png"
    env = dict(broken_env, AVSOL_VIEWER_SETTINGS=str(tmp_path / "settings.ini"))
    res = subprocess.run([sys.executable, "-m", "avsol_viewer.app", str(REPO / "resources" / "demo" / "demo.mp4"),
                          "--screenshot", str(out), "--timeout", "240"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert out.stat().st_size > 10_000
