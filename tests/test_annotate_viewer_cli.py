"""``avsol-viewer VIDEO --annotate --prefill HEAD`` end to end: the real command in a child
process, a real (tiny, untrained) checkpoint through the real Localizer, killed with -9
once its autosave holds the proposals; the autosave is then recovered.

What the proposals must be is computed here from the same checkpoint's map of the same
frame (``Localizer.predict_frames`` + ``prefill_boxes``), not copied from the viewer.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    import torch

    from model_core.model import ModelConfig, build_model
    from model_core.model.checkpoint import save_checkpoint

    torch.manual_seed(0)
    cfg = ModelConfig(num_classes=2, width=8, audio_width=8, layers=(1, 1, 1, 1), embed_dim=16)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, build_model(cfg), cfg, ["a", "b"], "dnm")
    return path


def _expected_boxes(checkpoint, clip, t):
    """The proposals for the frame at ``t``, computed apart from the viewer: the map of
    ``avsol infer``'s engine (the same-map test keeps the viewer's equal to it), on the
    display grid and the absolute scale (a sigmoid head's map as it is), the regions above
    0.5 (our heads see the whole frame, so fractions of the map are fractions of the frame)."""
    import numpy as np

    from avsol_viewer.core.map_display import GRID
    from model_core.annotate.prefill import prefill_boxes
    from model_core.inference import Localizer, localize_many
    from model_core.metrics.masks import resize_maps

    loc = Localizer(checkpoint, device="cpu")
    native = localize_many([loc], clip, [t])[loc.name].maps[0]
    return prefill_boxes(np.clip(resize_maps(np.asarray(native, np.float32)[None], GRID)[0], 0.0, 1.0))


def test_annotate_with_prefill_from_a_real_checkpoint_then_kill_9(tmp_path, index_clip, tiny_checkpoint):
    from model_core.annotate.autosave import autosave_path, recover
    from model_core.formats.avsol_e import load_avsol_e

    out = tmp_path / "set.json"
    empty = tmp_path / "no-resources"
    empty.mkdir()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", AVSOL_RESOURCES=str(empty),
               AVSOL_VIEWER_SETTINGS=str(tmp_path / "settings.ini"))
    cmd = [sys.executable, "-m", "avsol_viewer.app", str(index_clip), "--annotate", "--annotations", str(out),
           "--annotator", "alice", "--prefill", str(tiny_checkpoint)]
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    auto = autosave_path(out)
    got = None
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and child.poll() is None:
            try:
                seg = json.loads(auto.read_text())["videos"][0]["segments"][0]
            except (OSError, ValueError, KeyError, IndexError):
                seg = {}
            if seg.get("sounding") or seg.get("silent"):
                got = seg
                break
            time.sleep(0.2)
    finally:
        child.send_signal(signal.SIGKILL)           # the viewer dies without closing
        _, err = child.communicate(timeout=60)
    assert got is not None, f"no proposal autosaved; exit {child.returncode}: {err[-2000:]}"
    assert not out.exists()                        # nothing saved, only autosaved
    load_avsol_e(auto)                             # a valid AVSOL-E set
    doc = recover(out)
    seg = doc.segment(index_clip.name, 0)
    assert all(b.annotator == "alice" and b.sounding for b in seg.boxes)
    want = _expected_boxes(tiny_checkpoint, index_clip, 12 / 25)       # segment 0's frame: 12 at 25 fps
    assert want, "the tiny head's map has no region above 0.5: the test would prove nothing"
    assert [b.coords for b in seg.boxes] == [pytest.approx(b, abs=1e-6) for b in want]
    assert [b["box"] for b in got.get("sounding", [])] == [pytest.approx(list(b), abs=1e-6) for b in want]
