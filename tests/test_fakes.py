"""The fakes the tests run in place of models implement the whole model protocol, so no
production code keeps a branch for a fake (a ``hasattr`` or a ``getattr`` default)."""
from __future__ import annotations

import typing

import numpy as np
import pytest

from model_core.models.protocol import MapModel

from fakes import FakeLocalizer, FakeModel


def protocol_members() -> set[str]:
    hints = set(typing.get_type_hints(MapModel))
    methods = {n for n, v in vars(MapModel).items() if callable(v) and not n.startswith("_")}
    return hints | methods


@pytest.mark.parametrize("fake", [FakeModel("a"), FakeLocalizer("b")], ids=type)
def test_every_fake_has_every_member_of_the_protocol(fake):
    assert isinstance(fake, MapModel)
    missing = [n for n in sorted(protocol_members()) if not hasattr(fake, n)]
    assert not missing
    assert {"device", "fingerprint", "log_mel_input", "embed_audio", "predict_audios"} <= protocol_members()


def test_the_fake_embedding_is_a_tensor_of_rms_and_mean():
    import torch

    w = np.array([[3.0, -3.0, 3.0, -3.0], [1.0, 1.0, 1.0, 1.0]], np.float32)
    emb = FakeModel().embed_audio(w)
    assert isinstance(emb, torch.Tensor)
    assert emb.tolist() == [[3.0, 0.0], [1.0, 1.0]]      # RMS 3 and mean 0; RMS 1 and mean 1
