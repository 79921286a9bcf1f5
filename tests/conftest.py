"""Shared test configuration: headless Qt, and repo paths."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


def pytest_configure(config):
    """Stop at once, in one line, on a broken torch stack (torch and torchaudio from
    different releases fail inside ``import torchaudio`` with a 40-line traceback)."""
    from model_core.errors import BrokenInstallError
    from model_core.install_check import check_stack

    try:
        check_stack()
    except BrokenInstallError as exc:
        pytest.exit(str(exc), returncode=2)
    # A shell starts background jobs (`cmd &`, and so some CI runners) with SIGINT ignored,
    # and Python then leaves it ignored: the tests that interrupt a command with SIGINT
    # would wait for a KeyboardInterrupt that never comes. Ctrl-C means the same in every run.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
