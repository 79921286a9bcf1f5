"""Input protection, the README's promises: one test per bullet of "What every command
promises", named after it, and a test that the list and the tests stay one to one.

The files (``input_world``): ``input_protection_support.py``; every writer against every
input: ``test_input_protection_writers.py``.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from input_protection_support import make_link, snapshot
from model_core.cli import main
from model_core.errors import InputError
from model_core.input_protection import report_inputs
from model_core.outputs.checks import check_outputs

REPO = Path(__file__).resolve().parents[1]


# -- the README's promises, one test each ---------------------------------------------------

def _promises() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text[text.index("**What every command promises**"):]
    section = section[:section.index("\n\n")]
    return re.findall(r"^- \*([^*]+?)\.\*", section, flags=re.M)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


def test_every_promise_has_its_test():
    """The README's list and the tests below stay one to one."""
    titles = _promises()
    assert len(titles) >= 5, titles
    names = {n for n in globals() if n.startswith("test_promise_")}
    assert names == {f"test_promise_{_slug(t)}" for t in titles}, (names, titles)


def test_promise_inputs_are_never_destroyed(input_world, capsys):
    """Each output against every file the command reads (a report's meta and a data
    folder's files included) and against media, annotation, split and checkpoint files
    anywhere, before any work; links resolved."""
    hard = make_link(input_world, "AVSOL-E annotations", "h.json")
    before = snapshot(input_world)
    for argv in (["metrics", "--report", input_world["R.json"], "--out", input_world["report sidecar"]],   # declared
                 ["import", "vggss", input_world["vggss"], "--out", input_world["video anywhere"]],          # media anywhere
                 ["eval", input_world["data"], "--checkpoint", input_world["checkpoint"], "--out", hard]):  # a hard link
        assert main([str(a) for a in argv]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert snapshot(input_world) == before


def test_promise_an_output_replaces_only_its_own_kind(input_world, tmp_path, capsys):
    """A report over an earlier report (known by its format marker) is fine; a report
    over a maps file, a checkpoint or a picture is refused."""
    old, maps, ckpt = tmp_path / "old.json", tmp_path / "other.npz", tmp_path / "other.pt"
    old.write_bytes(input_world["R.json"].read_bytes())
    maps.write_bytes(input_world["maps"].read_bytes())
    ckpt.write_bytes(input_world["checkpoint"].read_bytes())      # not the report's: refused by its kind
    argv = ["metrics", "--report", str(input_world["R.json"]), "--threshold", "fixed:0.5", "--out"]
    for p in (maps, ckpt, input_world["video anywhere"]):
        assert main(argv + [str(p)]) == 2
        assert "refused" in capsys.readouterr().err
    check_outputs({"--out": (old, "report")}, {"--report": report_inputs(input_world["R.json"])})
    # avsol import never over an annotation file, even one it wrote; a file of no known kind is fine
    fresh = tmp_path / "imported.json"
    assert main(["import", "vggss", str(input_world["vggss"]), "--out", str(fresh)]) == 0
    written = fresh.read_bytes()
    assert main(["import", "vggss", str(input_world["vggss"]), "--out", str(fresh)]) == 2
    assert "an annotation file" in capsys.readouterr().err and fresh.read_bytes() == written
    notes = tmp_path / "notes.txt"
    notes.write_text("scratch")
    assert main(["import", "vggss", str(input_world["vggss"]), "--out", str(notes)]) == 0


def test_promise_bad_options_cost_nothing(input_world, tmp_path, capsys):
    """A bad option is one line, exit 2, before any decoding or cache; an input that is a
    FIFO is named as one (the readers' cases:
    test_input_protection_kinds.py's test_odd_inputs_are_named_as_what_they_are)."""
    assert main(["train", str(input_world["data"]), "--head", "avc", "--epochs", "1", "--lr", "nan",
                 "--out", str(input_world["data"].parent / "new.pt")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (input_world["data"] / ".avsol-cache").exists() and not (input_world["data"].parent / "new.pt").exists()
    fifo = tmp_path / "maps.npz"
    os.mkfifo(fifo)
    assert main(["metrics", "--maps", str(fifo), "--annotations", str(input_world["annotations elsewhere"]),
                 "--out", str(tmp_path / "r.json")]) == 2
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1 and "FIFO" in line and "empty" not in line


def test_promise_outputs_appear_whole_or_not_at_all(tmp_path, monkeypatch):
    """A failure while writing leaves the previous output as it was, and no temporary."""
    from model_core import atomic

    out = tmp_path / "r.json"
    out.write_text("previous")

    def boom(path, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError):
        atomic.write_json(out, {"new": 1})
    assert out.read_text() == "previous" and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_promise_one_writer_per_output(tmp_path):
    """A second writer on a locked output is refused at once, naming the first's pid."""
    import subprocess
    import sys

    out = tmp_path / "r.json"
    code = ("import sys, time; from model_core.outputs.lock import OutputLock; "
            f"OutputLock({str(out)!r}).acquire(); print('held', flush=True); sys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "held"
        from model_core.outputs.lock import OutputLock

        with pytest.raises(InputError, match=f"pid {holder.pid}"):
            OutputLock(out).acquire()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_promise_interruption(input_world, tmp_path, monkeypatch, capsys, sig):
    """SIGINT and SIGTERM alike: exit 130, one line saying what to rerun, no partial file
    and no lock left; a reader that closes stdout early never stops the work. (Eval's
    report of what was done and train's OUT.last.pt: test_outputs.py's
    test_sigint_and_sigterm_alike_in_eval and test_train_loop.py's resume tests.)"""
    import signal
    import time

    import model_core.formats as formats
    from model_core.outputs.lock import lock_path
    from model_core.outputs.stdout import SafeStdout

    def killed(*a, **k):
        os.kill(os.getpid(), getattr(signal, sig))
        for _ in range(1000):                  # the handler raises here, at the next bytecode
            time.sleep(0.01)

    monkeypatch.setattr(formats, "import_vggss", killed)
    out = tmp_path / "o.json"
    assert main(["import", "vggss", str(input_world["vggss"]), "--out", str(out)]) == 130
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1 and "interrupted" in line and "rerun" in line
    assert not out.exists() and not lock_path(out).exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".o.json")] == []

    r, w = os.pipe()
    os.close(r)
    stream = SafeStdout(os.fdopen(w, "w"))
    stream.write("x" * 100000)
    stream.flush()
    assert stream.closed_early and stream.error is None and stream.write("more") == 4
