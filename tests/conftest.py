"""Shared test configuration: headless Qt, and repo paths."""
from __future__ import annotations

import os
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
