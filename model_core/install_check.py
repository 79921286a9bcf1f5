"""Name a broken or mismatched install in one line instead of a 40-line traceback.

The compiled parts of the torch stack only load with the releases they were built for:
torchaudio 2.11.1's ``libtorchaudio.so`` raises ``OSError: undefined symbol`` from
``import torchaudio`` under torch 2.11.0, and a torchvision built for another torch fails
when its operators register. The app imports neither any more (its log-mel, resampler and
ResNet block are its own: ``model_core.features``, ``.resample``, ``.model.trunks``); they
are the test suite's references. :func:`require` turns such an import failure into a
:class:`~model_core.errors.BrokenInstallError` naming the installed versions (read from the
packages' metadata, which needs no import) and the fix: the test suite stops on it before
collecting anything (``tests/conftest.py``, :func:`check_stack` with the references), and
the CLI and the viewer's workers print or show one as their one error line.
"""
from __future__ import annotations

import importlib
from importlib import metadata

from model_core.errors import BrokenInstallError

#: What the app imports of the torch stack (the distributions a broken-install message names).
STACK = ("torch",)
#: Test-only references of the stack, checked with it before the test suite runs.
REFERENCES = ("torchaudio", "torchvision")
#: What fixes it, from a clone (quickstart installs requirements.lock) or elsewhere.
FIX = ("reinstall the tested versions: ./quickstart.sh test in a clone of AVSOL Studio, "
       "or pip install -r requirements.lock")

_failed: dict[str, BrokenInstallError] = {}


def installed_version(dist: str) -> str:
    """The installed version of distribution ``dist`` (``"not installed"`` when absent)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def stack_versions() -> str:
    """``"torch 2.14.1"`` as installed."""
    return ", ".join(f"{d} {installed_version(d)}" for d in STACK)


def _reason(exc: BaseException) -> str:
    """The cause in a few words: the first line, long library paths cut to their file."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    words = [w.rsplit("/", 1)[-1] if w.count("/") > 1 else w for w in text.split(" ")]
    text = " ".join(words)
    return (text[:200] + "…") if len(text) > 200 else text


def broken(module: str, exc: BaseException) -> BrokenInstallError:
    """The one-line error for ``module`` failing to import with ``exc``."""
    top = module.split(".")[0]
    if top == "torch":
        what = f"torch {installed_version('torch')} cannot be imported"
    else:
        what = (f"{top} {installed_version(top)} cannot be loaded with torch "
                f"{installed_version('torch')}")
    return BrokenInstallError(None, f"broken install: {what} ({type(exc).__name__}: {_reason(exc)}); {FIX}")


def require(module: str):
    """``importlib.import_module(module)``, or :class:`BrokenInstallError` naming the versions.

    A failure is remembered: importing a half-loaded extension again can crash where the
    first attempt only raised.
    """
    if module in _failed:
        raise _failed[module]
    try:
        return importlib.import_module(module)
    except (ImportError, OSError, RuntimeError, AttributeError) as exc:
        err = broken(module, exc)
        _failed[module] = err
        raise err from exc


def check_stack(names=STACK) -> None:
    """Import ``names`` (default: what the app needs, torch); the first that fails raises its
    one line. The test suite passes ``STACK + REFERENCES``."""
    for name in names:
        require(name)
