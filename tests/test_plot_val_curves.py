"""scripts/plot_val_curves.py: curve data from JSON-lines logs, and a PNG with the lines."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest


SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "plot_val_curves.py"


def _module():
    spec = importlib.util.spec_from_file_location("plot_val_curves", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_curves_from_jsonl(tmp_path):
    import cv2

    log = tmp_path / "dnm_s0.jsonl"
    lines = [{"event": "step", "step": 1}, {"event": "epoch", "epoch": 1, "train": {"loss": 1.0}, "val": {"pointing": 0.5}},
             {"event": "epoch", "epoch": 2, "train": {"loss": 0.5}, "val": {"pointing": 0.75}}]
    log.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    out = tmp_path / "c.png"
    assert _module().main([str(out), f"dnm_s0={log}"]) == 0
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["metric"] == "pointing"
    assert data["runs"]["dnm_s0"]["epoch"] == [1, 2] and data["runs"]["dnm_s0"]["val"] == [0.5, 0.75]
    assert data["runs"]["dnm_s0"]["train_loss"] == [1.0, 0.5]
    img = cv2.imread(str(out))
    assert img.shape == (560, 900, 3)
    red = (img[..., 2] > 200) & (img[..., 0] < 80) & (img[..., 1] < 80)   # dnm's colour (BGR 40, 40, 220)
    assert red.sum() > 100


def test_a_log_of_a_newer_protocol_is_one_line_naming_it(tmp_path):
    log = tmp_path / "run.jsonl"
    log.write_text('{"event": "epoch", "v": 1, "epoch": 1, "val": {"pointing": 0.5}}\n'
                   '{"event": "epoch", "v": 9, "epoch": 2}\n')
    with pytest.raises(SystemExit) as err:
        _module().read_history(log)
    assert str(err.value).startswith(f"plot_val_curves: {log}:2: ") and "version 9" in str(err.value)
