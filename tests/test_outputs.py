"""What every command promises about outputs and options (issue 19, SPEC 9): no output
destroys an input, one writer per output, everything checked before any work, one line
and exit 2 for every bad option, pipes and signals that never cost what was done.

Almost everything runs the CLI's ``main(argv)`` in-process: the refusals come before any
decoding, so the inputs can be placeholder files; a file's bytes unchanged after the
refusal is the proof that nothing was written.
"""
from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from model_core.cli import main
from model_core.errors import InputError
from model_core.options.types import finite, integer
from model_core.outputs.checks import check_outputs, claim_outputs, remove_stale_temps
from model_core.outputs.lock import OutputLock, lock_path
from model_core.outputs.stdout import SafeStdout

REPO = Path(__file__).resolve().parents[1]
VGGSS = [{"file": "abc_000030", "class": "cat", "bbox": [[0.1, 0.2, 0.5, 0.6]]}]


def one_error_line(capsys, *words) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


@pytest.fixture
def inputs(tmp_path) -> dict[str, Path]:
    """Placeholder inputs of every command (the refusals happen before they are read)."""
    data = tmp_path / "data"
    (data / "videos").mkdir(parents=True)
    files = {
        "video": data / "videos" / "v.mp4", "ckpt": tmp_path / "m.pt", "maps": tmp_path / "m.npz",
        "ann": data / "avsol-e.json", "ave": data / "Annotations.txt", "vggss": tmp_path / "vggss.json",
    }
    for name, p in files.items():
        p.write_bytes(json.dumps(VGGSS).encode() if name == "vggss" else f"{name} bytes".encode())
    files["data"] = data
    return files


def unchanged(files: dict[str, Path]) -> None:
    for name, p in files.items():
        if p.is_file():
            assert p.read_bytes() == (json.dumps(VGGSS).encode() if name == "vggss" else f"{name} bytes".encode()), p


# -- 1. no output destroys an input ---------------------------------------------------------

OUT_IS_INPUT = [
    ("infer VIDEO --out VIDEO", lambda f: ["infer", f["video"], "--checkpoint", f["ckpt"], "--out", f["video"]]),
    ("infer --out CKPT", lambda f: ["infer", f["video"], "--checkpoint", f["ckpt"], "--out", f["ckpt"]]),
    ("import SRC --out SRC", lambda f: ["import", "vggss", f["vggss"], "--out", f["vggss"]]),
    ("metrics --out MAPS", lambda f: ["metrics", "--maps", f["maps"], "--annotations", f["ann"], "--out", f["maps"]]),
    ("metrics --out ANN", lambda f: ["metrics", "--maps", f["maps"], "--annotations", f["ann"], "--out", f["ann"]]),
    ("metrics --csv ANN", lambda f: ["metrics", "--maps", f["maps"], "--annotations", f["ann"],
                                     "--out", f["data"].parent / "r.json", "--csv", f["ann"]]),
    ("eval --out avsol-e.json", lambda f: ["eval", f["data"], "--checkpoint", f["ckpt"], "--out", f["ann"]]),
    ("eval --out a video", lambda f: ["eval", f["data"], "--checkpoint", f["ckpt"], "--out", f["video"]]),
    ("eval --out CKPT", lambda f: ["eval", f["data"], "--checkpoint", f["ckpt"], "--out", f["ckpt"]]),
    ("train --out DATA/Annotations.txt", lambda f: ["train", f["data"], "--head", "avc", "--epochs", "1",
                                                    "--out", f["ave"]]),
    ("train --out a video", lambda f: ["train", f["data"], "--head", "avc", "--epochs", "1", "--out", f["video"]]),
]


@pytest.mark.parametrize("case, argv", OUT_IS_INPUT, ids=[c[0] for c in OUT_IS_INPUT])
def test_an_output_equal_to_an_input_is_refused(inputs, capsys, case, argv):
    assert main([str(a) for a in argv(inputs)]) == 2
    one_error_line(capsys, "also an input", "choose another")
    unchanged(inputs)


def test_links_to_an_input_are_the_input(inputs, tmp_path, capsys):
    hard = tmp_path / "hard.npz"
    os.link(inputs["maps"], hard)
    soft = tmp_path / "soft.json"
    soft.symlink_to(inputs["ann"])
    for out in (hard, soft):
        assert main(["metrics", "--maps", str(inputs["maps"]), "--annotations", str(inputs["ann"]),
                     "--out", str(out)]) == 2
        one_error_line(capsys, "also an input")
    unchanged(inputs)


def test_a_symlinked_output_is_written_through_to_its_target(tmp_path, capsys):
    src = tmp_path / "vggss.json"
    src.write_text(json.dumps(VGGSS))
    target = tmp_path / "real" / "out.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert main(["import", "vggss", str(src), "--out", str(link)]) == 0
    assert link.is_symlink() and json.loads(target.read_text())["format"] == "avsol-e"


@pytest.mark.parametrize("kind", ["device", "fifo", "folder", "under a file"])
def test_outputs_that_are_not_regular_files_are_refused(tmp_path, capsys, kind):
    src = tmp_path / "vggss.json"
    src.write_text(json.dumps(VGGSS))
    if kind == "device":
        out, words = Path("/dev/null"), ("a device",)
    elif kind == "fifo":
        out, words = tmp_path / "f.json", ("a FIFO",)
        os.mkfifo(out)
    elif kind == "folder":
        out, words = tmp_path / "d.json", ("is a folder",)
        out.mkdir()
    else:
        (tmp_path / "file").write_text("x")
        out, words = tmp_path / "file" / "o.json", ("Not a directory", str(tmp_path / "file"))
    assert main(["import", "vggss", str(src), "--out", str(out)]) == 2
    line = one_error_line(capsys, *words)
    assert ".tmp" not in line and "File exists" not in line      # names the real problem
    if kind == "fifo":
        import stat

        assert stat.S_ISFIFO(os.stat(out).st_mode)                   # not replaced by a file


UNWRITABLE = [
    ("train --out DIR", lambda f, t: ["train", f["data"], "--head", "avc", "--epochs", "1",
                                      "--out", f["data"] / "videos"], "is a folder"),
    ("train --out DATA", lambda f, t: ["train", f["data"], "--head", "avc", "--epochs", "1", "--out", f["data"]],
     "also an input"),
    ("train --out under a file", lambda f, t: ["train", f["data"], "--head", "avc", "--epochs", "1",
                                               "--out", f["ckpt"] / "x.pt"], "Not a directory"),
    ("eval --csv under a file", lambda f, t: ["eval", f["data"], "--checkpoint", f["ckpt"], "--out", t / "r.json",
                                              "--csv", f["ckpt"] / "r.csv"], "Not a directory"),
    ("metrics --csv a folder", lambda f, t: ["metrics", "--maps", f["maps"], "--annotations", f["ann"],
                                             "--out", t / "r.json", "--csv", f["data"]], "is a folder"),
    ("infer --out a FIFO", lambda f, t: ["infer", f["video"], "--checkpoint", f["ckpt"], "--out", t / "fifo"],
     "a FIFO"),
]


@pytest.mark.parametrize("case, argv, words", UNWRITABLE, ids=[c[0] for c in UNWRITABLE])
def test_every_output_is_checked_before_the_work(inputs, tmp_path, capsys, case, argv, words):
    os.mkfifo(tmp_path / "fifo")
    assert main([str(a) for a in argv(inputs, tmp_path)]) == 2
    one_error_line(capsys, words)
    assert not (tmp_path / "r.json").exists()            # the JSON is not written before a bad --csv
    assert not (inputs["data"] / ".avsol-cache").exists()
    unchanged(inputs)


def test_two_outputs_the_same_file_are_refused(inputs, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["metrics", "--maps", str(inputs["maps"]), "--annotations", str(inputs["ann"]),
                 "--out", str(out), "--csv", str(out)]) == 2
    one_error_line(capsys, "same file")


# -- 2. one writer per output -------------------------------------------------------------

def test_a_second_writer_is_refused_naming_the_first_process(tmp_path, capsys):
    src = tmp_path / "vggss.json"
    src.write_text(json.dumps(VGGSS))
    out = tmp_path / "o.json"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from model_core.outputs.lock import OutputLock
            OutputLock({str(out)!r}).acquire()
            print("locked", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        assert holder.stdout.readline().strip() == "locked"
        t0 = time.monotonic()
        assert main(["import", "vggss", str(src), "--out", str(out)]) == 2
        assert time.monotonic() - t0 < 5                                     # at once, no waiting
        one_error_line(capsys, str(out), f"pid {holder.pid}", "another process")
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    assert main(["import", "vggss", str(src), "--out", str(out)]) == 0        # the lock died with it
    assert out.exists() and not lock_path(out).exists()


def test_lock_is_exclusive_within_one_process_too_and_released(tmp_path):
    out = tmp_path / "r.json"
    with OutputLock(out):
        with pytest.raises(InputError, match=f"pid {os.getpid()}"):
            OutputLock(out).acquire()
    with OutputLock(out):
        pass


# -- 3. avsol synth OUT --------------------------------------------------------------------

SYNTH = ["--videos", "2", "--seed", "1", "--duration", "1", "--size", "32", "--fps", "5", "--classes", "2"]


def test_synth_never_writes_into_a_foreign_folder_and_force_replaces_its_own(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "Annotations.txt").write_text("the user's own annotations")
    assert main(["synth", str(mine), *SYNTH]) == 2
    one_error_line(capsys, "not empty", "avsol synth")
    assert main(["synth", str(mine), *SYNTH, "--force"]) == 2       # --force is for our own sets only
    assert (mine / "Annotations.txt").read_text() == "the user's own annotations"

    out = tmp_path / "set"
    assert main(["synth", str(out), *SYNTH[:1], "3", *SYNTH[2:]]) == 0
    capsys.readouterr()
    assert main(["synth", str(out), *SYNTH]) == 2                    # our own: --force to replace
    one_error_line(capsys, "--force")
    leftover = out / "videos" / ".synth_00001.mp4.abc.tmp"          # a killed run's temporary video
    leftover.write_bytes(b"")
    assert main(["synth", str(out), *SYNTH, "--force"]) == 0
    assert sorted(p.name for p in (out / "videos").iterdir()) == ["synth_00000.mp4", "synth_00001.mp4"]
    assert "synth_00002" not in (out / "Annotations.txt").read_text()


# -- 4. everything checked before work -----------------------------------------------------

BAD_OPTIONS = {
    "infer": (["infer", "{video}", "--checkpoint", "{ckpt}", "--out", "{out}"], [
        ["--fps", "inf"], ["--fps", "1e9"], ["--fps", "nan"], ["--fps", "0"], ["--fps", "-1"],
        ["--batch-size", "0"], ["--threads", "0"]]),
    "train": (["train", "{data}", "--head", "dnm", "--epochs", "1", "--out", "{out}"], [
        ["--seed", "-1"], ["--lr", "inf"], ["--lr", "nan"], ["--lr", "0"], ["--weight-decay", "nan"],
        ["--lambda", "nan"], ["--lambda", "-1"], ["--width", "100000"], ["--threads", "0"],
        ["--epochs", "0"], ["--batch-size", "0"], ["--layers", "0,1,1,1"], ["--image-size", "100000"],
        ["--workers", "0"], ["--save-every", "0"]]),
    "eval": (["eval", "{data}", "--checkpoint", "{ckpt}", "--out", "{out}"], [
        ["--threads", "0"], ["--batch-size", "0"], ["--threshold", "nan"], ["--threshold", "1"],
        ["--limit", "0"]]),
    "metrics": (["metrics", "--maps", "{maps}", "--annotations", "{ann}", "--out", "{out}"], [
        ["--threshold", "nan"], ["--threshold", "inf"], ["--threshold", "-0.5"]]),
    "synth": (["synth", "{outdir}", "--videos", "1", "--seed", "0"], [
        ["--fps", "nan"], ["--fps", "inf"], ["--seed", "-1"], ["--size", "100000"], ["--workers", "0"],
        ["--noise", "nan"], ["--videos", "0"]]),
}
BAD_CASES = [(cmd, bad) for cmd, (_, bads) in BAD_OPTIONS.items() for bad in bads]


@pytest.mark.parametrize("cmd, bad", BAD_CASES, ids=[f"{c}{' '.join(b)}".replace(" ", "_") for c, b in BAD_CASES])
def test_every_bad_option_is_one_line_and_exit_2_before_any_work(inputs, tmp_path, capsys, cmd, bad):
    template, _ = BAD_OPTIONS[cmd]
    out = tmp_path / "o" / "out.x"
    values = {k: str(v) for k, v in inputs.items()} | {"out": str(out), "outdir": str(tmp_path / "o")}
    argv = [a.format(**values) for a in template] + bad
    assert main(argv) == 2
    one_error_line(capsys, bad[0])
    assert not out.exists() and not (tmp_path / "o" / "videos").exists()
    assert not (inputs["data"] / ".avsol-cache").exists()      # no decoding, no cache
    unchanged(inputs)


@pytest.mark.parametrize("bad", [["--at", "nan"], ["--at", "-1"], ["--timeout", "-1"], ["--timeout", "inf"],
                                 ["--timeout", "0"]])
def test_viewer_bad_options_one_line_before_qt(tmp_path, capsys, bad):
    from avsol_viewer.app import main as viewer_main

    assert viewer_main(["x.mp4", "--screenshot", str(tmp_path / "s.png"), *bad]) == 2
    one_error_line(capsys, bad[0])


def test_viewer_screenshot_output_checked_before_any_work(tmp_path, capsys):
    from avsol_viewer.app import main as viewer_main

    video = tmp_path / "v.mp4"
    video.write_bytes(b"video bytes")
    assert viewer_main([str(video), "--screenshot", str(video)]) == 2        # not an image name
    one_error_line(capsys, ".png")
    link = tmp_path / "shot.png"
    link.symlink_to(video)
    assert viewer_main([str(video), "--screenshot", str(link)]) == 2          # an image name for the video
    one_error_line(capsys, "also an input")
    assert viewer_main([str(video), "--screenshot", str(tmp_path / "s.gif")]) == 2
    one_error_line(capsys, "--screenshot must end in")
    assert video.read_bytes() == b"video bytes"


def test_screenshot_jpg_is_jpeg(tmp_path, qapp):
    from PySide6.QtGui import QColor, QImage

    from avsol_viewer.headless import save_image

    img = QImage(40, 30, QImage.Format.Format_ARGB32)
    img.fill(QColor(200, 30, 30))
    save_image(img, str(tmp_path / "x.jpg"))
    save_image(img, str(tmp_path / "x.png"))
    assert (tmp_path / "x.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    assert (tmp_path / "x.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_argparse_types_refuse_nan_inf_and_range():
    import argparse

    f = finite(0, 1, hi_open=True)
    assert f("0.5") == 0.5
    for text in ("nan", "inf", "-inf", "1", "-0.1", "x"):
        with pytest.raises(argparse.ArgumentTypeError):
            f(text)
    i = integer(1, 10)
    assert i("3") == 3
    for text in ("0", "11", "1.5", "nan"):
        with pytest.raises(argparse.ArgumentTypeError):
            i(text)


def test_stale_temporaries_of_killed_runs_are_removed_by_the_next(tmp_path, capsys):
    src = tmp_path / "vggss.json"
    src.write_text(json.dumps(VGGSS))
    out = tmp_path / "o.json"
    stale = [tmp_path / ".o.json.k2j3.tmp", tmp_path / ".o.json.x9.npz.tmp"]
    for p in stale:
        p.write_bytes(b"")
    other = tmp_path / ".other.json.k2j3.tmp"   # another output's: not ours to remove
    other.write_bytes(b"")
    assert main(["import", "vggss", str(src), "--out", str(out)]) == 0
    assert not any(p.exists() for p in stale) and other.exists()
    # train: the .last.pt / .best.pt temporaries too
    ck = tmp_path / "avc.pt"
    last = tmp_path / ".avc.last.pt.abc.tmp"
    last.write_bytes(b"")
    _, lock = claim_outputs({"--out": ck, "last": tmp_path / "avc.last.pt"}, lock="--out")
    lock.release()
    assert not last.exists()


def test_a_full_disk_leaves_the_previous_output_and_no_partial_file(tmp_path, monkeypatch):
    from model_core import atomic
    from model_core.evaluation.store import ItemsLog, read_logs

    out = tmp_path / "r.json"
    atomic.write_json(out, {"old": 1})

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        atomic.write_with(out, lambda tmp: (Path(tmp).write_text('{"new'), full()))
    assert json.loads(out.read_text()) == {"old": 1} and sorted(os.listdir(tmp_path)) == ["r.json"]

    log = tmp_path / "r.items.jsonl"
    with ItemsLog(log, {"kind": "header", "fingerprint": {}}, resume=False) as items:
        items.append_video("a.mp4", [{"head": "x"}])
        monkeypatch.setattr(os, "fsync", full)
        with pytest.raises(OSError):
            items.append_video("b.mp4", [{"head": "x"}])
        monkeypatch.undo()
    assert log.read_text().endswith("\n") and list(read_logs([log])) == ["a.mp4"]


# -- 5. pipes and signals ----------------------------------------------------------------

class _Closed(io.StringIO):
    def __init__(self, exc):
        super().__init__()
        self.exc = exc

    def write(self, text):
        raise self.exc

    def fileno(self):
        raise io.UnsupportedOperation


def test_safe_stdout_survives_a_closed_pipe_and_remembers_a_full_device():
    r, w = os.pipe()
    os.close(r)
    stream = SafeStdout(os.fdopen(w, "w"))
    stream.write("x" * 100_000)
    stream.flush()
    assert stream.closed_early and stream.error is None
    full = SafeStdout(_Closed(OSError(errno.ENOSPC, "No space left on device")))
    full.write("x")
    assert full.error is not None and full.error.errno == errno.ENOSPC


def test_stdout_closing_early_never_costs_the_output(tmp_path, monkeypatch, capsys):
    src = tmp_path / "vggss.json"
    src.write_text(json.dumps(VGGSS))
    monkeypatch.setattr(sys, "stdout", _Closed(BrokenPipeError(errno.EPIPE, "Broken pipe")))
    assert main(["import", "vggss", str(src), "--out", str(tmp_path / "o.json")]) == 0
    assert (tmp_path / "o.json").exists()
    monkeypatch.setattr(sys, "stdout", _Closed(OSError(errno.ENOSPC, "No space left on device")))
    assert main(["import", "vggss", str(src), "--out", str(tmp_path / "p.json")]) == 2
    assert (tmp_path / "p.json").exists()
    one_error_line(capsys, "standard output", "No space left")


def test_dev_full_is_one_line_not_a_traceback(tmp_path):
    src = tmp_path / "vggss.json"
    src.write_text(json.dumps(VGGSS))
    with open("/dev/full", "w") as full:
        res = subprocess.run([sys.executable, "-m", "model_core", "import", "vggss", str(src),
                              "--out", str(tmp_path / "o.json")], stdout=full, stderr=subprocess.PIPE,
                             text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "Exception ignored" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and (tmp_path / "o.json").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_sigint_and_sigterm_alike_in_a_plain_command(tmp_path, monkeypatch, capsys, sig):
    import model_core.formats as formats

    src = tmp_path / "vggss.json"
    src.write_text(json.dumps(VGGSS))

    def killed(*a, **k):
        os.kill(os.getpid(), sig)
        time.sleep(5)

    monkeypatch.setattr(formats, "import_vggss", killed)
    assert main(["import", "vggss", str(src), "--out", str(tmp_path / "o.json")]) == 130
    one_error_line(capsys, "interrupted", "rerun")
    assert not (tmp_path / "o.json").exists() and not lock_path(tmp_path / "o.json").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_sigint_and_sigterm_alike_in_eval(inputs, tmp_path, monkeypatch, capsys, sig):
    from model_core.evaluation import runner

    seen = {}

    def fake_run_eval(data, checkpoints, out, options, cancel):
        os.kill(os.getpid(), sig)
        seen["cancel"] = cancel()
        return runner.EvalResult(Path(out), {"heads": {}, "notes": []}, True, 0.1, 1, 2)

    monkeypatch.setattr(runner, "run_eval", fake_run_eval)
    assert main(["eval", str(inputs["data"]), "--checkpoint", str(inputs["ckpt"]),
                 "--out", str(tmp_path / "r.json")]) == 130
    assert seen["cancel"] is True                   # stops after the current batch, keeps what is done
    assert "--resume" in capsys.readouterr().err


# -- 6. right messages, validated inputs ------------------------------------------------------

@pytest.mark.parametrize("content, words", [
    (os.urandom(3000), "not a torch file"),
    (b"\x00\x00\x00\x18ftypmp42" + bytes(500), "MP4"),
])
def test_a_checkpoint_that_is_not_a_torch_file_says_so(tmp_path, content, words):
    from model_core.model.checkpoint import load_checkpoint

    p = tmp_path / "x.pt"
    p.write_bytes(b"\x01" + content[1:] if content[:1] in (b"\x80", b"P") else content)
    with pytest.raises(InputError, match=words) as err:
        load_checkpoint(p)
    assert "could run code" not in str(err.value)


@pytest.mark.parametrize("extra, words", [
    ({"maps": np.zeros((1, 0, 0), np.float32)}, "h, w >= 1"),
    ({"p_avc": np.array(["high"])}, "'p_avc' must be numbers"),
    ({"p_avc": np.array([7.0])}, r"\[0, 1\]"),
    ({"p_avc": np.array([np.nan])}, "NaN"),
    ({"p_avc": np.zeros(3)}, "one value per map"),
    ({"times": np.array([-1.0])}, "'times' must be >= 0"),
])
def test_maps_files_are_validated(tmp_path, extra, words):
    from model_core.maps_file import load_maps

    arrays = {"maps": np.zeros((1, 4, 4), np.float32), "videos": np.array(["a.mp4"]),
              "times": np.array([0.5])} | extra
    p = tmp_path / "m.npz"
    np.savez(p, **arrays)
    with pytest.raises(InputError, match=words):
        load_maps(p)


@pytest.mark.parametrize("name", ["../outside.mp4", "/etc/passwd", "sub/../../x.mp4"])
def test_eval_annotation_paths_stay_inside_data(tmp_path, name):
    from model_core.evaluation import load_eval_set
    from model_core.formats import AvsolE, Segment, VideoAnnotation, save_avsol_e

    data = tmp_path / "data"
    data.mkdir()
    save_avsol_e(AvsolE(("a",), (VideoAnnotation(name, "a", (Segment(0, 1, 0.5, False),)),)),
                 data / "avsol-e.json")
    with pytest.raises(InputError, match="inside the videos folder"):
        load_eval_set(data)


def test_an_eval_that_scores_nothing_exits_non_zero(inputs, tmp_path, monkeypatch, capsys):
    from model_core.evaluation import runner

    head = {"n_items": 0, "n_missing": 4, "n_failed": 0, "ciou@0.5": None, "auc": None, "pointing": None,
            "pixel_ap": None, "background": {"false_alarm_rate": None},
            "classification": {"accuracy": None}}
    monkeypatch.setattr(runner, "run_eval", lambda *a, **k: runner.EvalResult(
        Path(a[2]), {"heads": {"m": head}, "notes": []}, False, 0.1, 2, 2))
    assert main(["eval", str(inputs["data"]), "--checkpoint", str(inputs["ckpt"]),
                 "--out", str(tmp_path / "r.json")]) == 2
    assert "no item could be scored (4 missing" in capsys.readouterr().err


def test_complete_only_with_every_item_of_every_head_and_class_mismatch_named(tmp_path):
    """A log of another run (other heads) must not make this run's report complete."""
    from fakes import FakeModel
    from test_eval import CLASSES, FakeLocalize, make_set

    from model_core.evaluation import EvalOptions, run_eval
    from model_core.evaluation.distributed import Dist
    from model_core.evaluation.store import ItemsLog, log_path

    root = make_set(tmp_path / "data", n_videos=3, absent=())
    out = tmp_path / "r.json"
    fake = FakeLocalize()
    calls = []

    def cancel():
        calls.append(1)
        if len(calls) == 2:   # while this run works, "another run" writes a log of head z
            with ItemsLog(log_path(out, 1), {"kind": "header", "fingerprint": {}}, resume=False) as log:
                for v in ("v0.mp4", "v1.mp4", "v2.mp4"):
                    log.append_video(v, [{"head": "z", "video": v}])
        return len(calls) > 2

    small = FakeModel("b", classes=CLASSES)
    small.classes = ["bell", "drum", "gong"][:1]
    res = run_eval(root, [], out, EvalOptions(), localizers=[FakeModel("a", classes=CLASSES), small], localize=fake,
                   dist=Dist(), err=io.StringIO(), stdout=io.StringIO(), cancel=cancel)
    meta = res.report["meta"]
    assert meta["videos_done"] < 3 and meta["complete"] is False
    assert any("b: the checkpoint knows 1 classes, the data has 2" in n for n in res.report["notes"])


def test_check_outputs_unit(tmp_path):
    a = tmp_path / "a.json"
    a.write_text("x")
    with pytest.raises(InputError, match="also an input"):
        check_outputs({"--out": a}, {"--annotations": [a]})
    paths = check_outputs({"--out": tmp_path / "new" / "deeper" / "r.json"})
    assert paths["--out"].parent.is_dir()                 # the folder is created before the work
    assert remove_stale_temps([tmp_path / "none.json"]) == []


def test_a_read_only_output_folder_is_named_before_the_work(tmp_path, monkeypatch, capsys):
    import model_core.outputs.checks as outputs

    def read_only(path, *a, **k):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(outputs, "open", read_only, raising=False)   # the write probe
    src = tmp_path / "vggss.json"
    src.write_text(json.dumps(VGGSS))
    assert main(["import", "vggss", str(src), "--out", str(tmp_path / "o.json")]) == 2
    one_error_line(capsys, str(tmp_path), "Read-only file system")
