"""The CLI's one progress mechanism (``model_core.jobs.sinks.ProgressBar``): a tqdm bar on a terminal,
rate-limited plain lines otherwise, nothing when quiet."""
from __future__ import annotations

import io

import pytest

from model_core.jobs.sinks import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_terminal(monkeypatch):
    out = io.StringIO()
    bar = ProgressBar(10, "eval", "videos", stream=out, every=3600)
    assert not bar.is_bar
    for k in range(1, 11):
        bar.update_to(k, detail=f"{k * 3} items")
    bar.close()
    lines = out.getvalue().splitlines()
    # the first update and the end; the hour between lines holds back the rest
    assert len(lines) == 2 and lines[0].startswith("eval: 1/10 videos, 3 items")
    assert lines[1].startswith("eval: 10/10 videos, 30 items") and "\r" not in out.getvalue()


def test_quiet_writes_nothing():
    out = Terminal()
    with ProgressBar(3, "infer", "frames", stream=out, quiet=True) as bar:
        bar.update_to(3)
        bar.write("a note")
    assert out.getvalue() == ""


def test_a_terminal_gets_a_tqdm_bar():
    pytest.importorskip("tqdm")
    out = Terminal()
    with ProgressBar(4, "synth", "videos", stream=out) as bar:
        assert bar.is_bar
        bar.update_to(2)
        bar.write("a line of its own")
        bar.update_to(4, 4)
    text = out.getvalue()
    assert "synth" in text and "4/4" in text and "a line of its own\n" in text and "\r" in text


def test_total_learnt_late():
    out = io.StringIO()
    bar = ProgressBar(0, "infer", "frames", stream=out, every=0)
    bar.update_to(5, 50)
    bar.update_to(50, 50)
    assert bar.total == 50 and out.getvalue().splitlines()[-1].startswith("infer: 50/50 frames")
