"""The installed stack is the locked one, and a broken one is named in one line.

``requirements.lock`` (made by ``scripts/lock.sh`` with pip-tools) is what
``./quickstart.sh`` installs and CI tests; an environment that drifted from it fails here
with the packages named, instead of failing somewhere else with a library's traceback.
A torchaudio that cannot load (the symptom of torch and torchaudio from different
releases) is simulated by a package of that name on ``PYTHONPATH`` whose import raises
the ``OSError`` the real mismatch raises.
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
#: The packages whose drift breaks the product first (compiled against each other or Qt).
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
    """pyproject keeps ranges for other environments; the locked versions must satisfy them."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = locked()
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
    """Environment whose ``import torchaudio`` raises the mismatch's OSError."""
    shadow = tmp_path_factory.mktemp("broken-torchaudio")
    (shadow / "torchaudio").mkdir()
    (shadow / "torchaudio" / "__init__.py").write_text(
        f"raise OSError({UNDEFINED_SYMBOL.format(root=str(shadow))!r})\n")
    path = os.pathsep.join([str(shadow), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return dict(os.environ, PYTHONPATH=path, QT_QPA_PLATFORM="offscreen")


def _one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    line = lines[0]
    assert "broken install" in line and "torchaudio" in line and "libtorchaudio.so" in line, line
    assert f"torch {metadata.version('torch')}" in line, line
    return line


@pytest.mark.slow
def test_avsol_names_a_broken_torchaudio(broken_env, tmp_path):
    demo = REPO / "resources" / "demo" / "demo.mp4"
    res = subprocess.run([sys.executable, "-m", "model_core", "infer", str(demo), "--checkpoint",
                          str(REPO / "resources" / "models" / "dnm.pt"), "--out", str(tmp_path / "m.npz")],
                         env=broken_env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stderr
    assert _one_error_line(res.stderr).startswith("avsol infer: error: ")
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.slow
def test_tests_stop_on_a_broken_torchaudio(broken_env, tmp_path):
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(REPO / "tests" / "test_package.py")], env=broken_env, cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stdout + res.stderr
    out = res.stdout + res.stderr
    assert "Traceback" not in out and "broken install" in out, out
    assert "passed" not in out  # stopped before running anything


@pytest.mark.slow
def test_viewer_screenshot_fails_at_once_on_a_broken_torchaudio(broken_env, tmp_path):
    """The demo's own command on a broken install: exit 2 with one line, no picture, and no
    waiting for maps that cannot come (the timeout is far longer than the run may take)."""
    out = tmp_path / "shot.png"
    env = dict(broken_env, AVSOL_VIEWER_SETTINGS=str(tmp_path / "settings.ini"))
    res = subprocess.run([sys.executable, "-m", "avsol_viewer.app", str(REPO / "resources" / "demo" / "demo.mp4"),
                          "--screenshot", str(out), "--timeout", "600"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stderr
    assert _one_error_line(res.stderr).startswith("avsol-viewer: error: ")
    assert not out.exists()
