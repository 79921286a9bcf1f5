"""Checkpoints: round trip, and a clear error for every kind of bad file (SPEC 3)."""
from __future__ import annotations

import os
import pickle

import pytest
import torch

from model_core.errors import CheckpointError
from model_core.model import build_model
from model_core.model.checkpoint import load_checkpoint, save_checkpoint
from tiny_models import tiny_config

CFG = tiny_config(2)


@pytest.fixture()
def ckpt(tmp_path):
    torch.manual_seed(0)
    model = build_model(CFG)
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, CFG, ["a", "b"], "dnm", {"epochs": 1})
    return path, model


def test_round_trip(ckpt):
    path, model = ckpt
    c = load_checkpoint(path)
    assert c.config == CFG and c.classes == ["a", "b"] and c.head == "dnm"
    assert c.summary == {"epochs": 1} and c.name == "m"
    rebuilt = c.build()
    for (k, v), (k2, v2) in zip(model.state_dict().items(), rebuilt.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)


def test_missing_and_empty(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "e.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_checkpoint(tmp_path / "e.pt")


def test_truncated(ckpt, tmp_path):
    path, _ = ckpt
    data = path.read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(cut)
    assert "cut.pt" in str(err.value)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/avsol_pwned",))


def test_pickle_that_would_run_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "avsol-checkpoint", "x": _Evil()}, path)
    if os.path.exists("/tmp/avsol_pwned"):
        os.remove("/tmp/avsol_pwned")
    with pytest.raises(CheckpointError, match="could run code"):
        load_checkpoint(path)
    assert not os.path.exists("/tmp/avsol_pwned")
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(CheckpointError):
        load_checkpoint(raw)
    assert not os.path.exists("/tmp/avsol_pwned")


def test_foreign_and_incompatible(tmp_path):
    foreign = tmp_path / "foreign.pt"
    torch.save(build_model(CFG).state_dict(), foreign)
    with pytest.raises(CheckpointError, match="not an AVSOL Studio checkpoint"):
        load_checkpoint(foreign)
    newer = tmp_path / "newer.pt"
    torch.save({"format": "avsol-checkpoint", "format_version": 99}, newer)
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(newer)
    text = tmp_path / "text.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError):
        load_checkpoint(text)


def test_weights_that_do_not_fit(ckpt, tmp_path):
    path, _ = ckpt
    obj = torch.load(path, weights_only=True)
    obj["config"]["embed_dim"] = 32
    bad = tmp_path / "bad.pt"
    torch.save(obj, bad)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(bad).build()
