"""Localizer: shapes, batching invariance, shared audio embeddings, devices (SPEC 3, 8)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from model_core.errors import CheckpointError, InputError
from model_core.inference import Localizer, Prediction, resolve_device
from model_core.inference.preprocess import frames_to_tensor, resize_batch
from model_core.model import build_model
from model_core.model.checkpoint import load_checkpoint, save_checkpoint
from tiny_models import tiny_config

CFG = tiny_config(3)


@pytest.fixture(scope="module")
def ckpt_path(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model(CFG)
    with torch.no_grad():  # non-trivial BatchNorm statistics, so eval mode matters
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, model, CFG, ["a", "b", "c"], "dnm")
    return path


@pytest.fixture(scope="module")
def loc(ckpt_path):
    return Localizer(ckpt_path, device="cpu", batch_size=4)


def _frames(n, h=64, w=96, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def _windows(n, seed=1):
    return (np.random.default_rng(seed).standard_normal((n, 16000)) * 0.1).astype(np.float32)


def test_attributes(loc, ckpt_path):
    assert loc.name == "tiny" and loc.head == "dnm" and loc.classes == ["a", "b", "c"]
    assert loc.device == torch.device("cpu") and loc.map_size == 7 and loc.image_size == 224
    # a loaded Checkpoint works as well as a path
    assert Localizer(load_checkpoint(ckpt_path), device="cpu").name == "tiny"


def test_shapes_and_dtypes(loc):
    emb = loc.embed_audio(_windows(3))
    assert emb.shape == (3, 16) and emb.dtype == torch.float32 and emb.device == loc.device
    assert torch.allclose(emb.norm(dim=1), torch.ones(3), atol=1e-5)  # L2-normalized
    pred = loc.predict(_frames(5), emb, [0, 1, 2, 0, 1])
    assert isinstance(pred, Prediction)
    assert pred.maps.shape == (5, 7, 7) and pred.maps.dtype == np.float32
    assert pred.p_avc.shape == (5,) and pred.p_avc.dtype == np.float32
    assert pred.class_probs.shape == (5, 3) and pred.class_probs.dtype == np.float32
    assert ((pred.maps > 0) & (pred.maps < 1)).all()
    np.testing.assert_allclose(pred.class_probs.sum(1), 1, atol=1e-5)
    # p_avc is the max of the map (SPEC 3: max_ij sigmoid(Z_ij))
    np.testing.assert_allclose(pred.p_avc, pred.maps.reshape(5, -1).max(1), atol=1e-6)


def test_predict_matches_the_model_directly(loc):
    """The uint8 NHWC fast path gives what the plain float32 NCHW model gives."""
    frames = _frames(2, 224, 224)
    emb = loc.embed_audio(_windows(2))
    pred = loc.predict(frames, emb)
    model = loc.checkpoint.build("cpu")
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255).contiguous()
    from model_core.features import log_mel

    with torch.no_grad():
        out = model(x, log_mel(_windows(2)))
    np.testing.assert_allclose(pred.maps, out.localization.numpy(), atol=1e-5)
    np.testing.assert_allclose(pred.p_avc, out.p_avc.numpy(), atol=1e-5)


@pytest.mark.slow
def test_batch_equals_item_by_item(loc):
    frames, emb = _frames(6), loc.embed_audio(_windows(6))
    whole = loc.predict(frames, emb)  # split in batches of 4 and 2
    one_by_one = [loc.predict(frames[i:i + 1], emb[i:i + 1]) for i in range(6)]
    np.testing.assert_allclose(whole.maps, np.concatenate([p.maps for p in one_by_one]), atol=1e-5)
    np.testing.assert_allclose(whole.p_avc, np.concatenate([p.p_avc for p in one_by_one]), atol=1e-5)
    np.testing.assert_allclose(whole.class_probs, np.concatenate([p.class_probs for p in one_by_one]),
                               atol=1e-5)
    # and the audio embeddings likewise
    np.testing.assert_allclose(loc.embed_audio(_windows(6)).numpy(),
                               torch.cat([loc.embed_audio(w[None]) for w in _windows(6)]).numpy(), atol=1e-5)


def test_shared_audio_embedding_equals_per_frame(loc):
    frames, wins = _frames(4), _windows(2)
    shared = loc.predict(frames, loc.embed_audio(wins), [0, 0, 1, 1])
    per_frame = loc.predict(frames, loc.embed_audio(wins[[0, 0, 1, 1]]))
    np.testing.assert_allclose(shared.maps, per_frame.maps, atol=1e-6)
    np.testing.assert_allclose(shared.class_probs, per_frame.class_probs, atol=1e-6)


def test_channels_last_does_not_change_results(ckpt_path):
    frames, wins = _frames(3), _windows(3)
    a = Localizer(ckpt_path, device="cpu", channels_last=True)
    b = Localizer(ckpt_path, device="cpu", channels_last=False)
    pa, pb = a.predict(frames, a.embed_audio(wins)), b.predict(frames, b.embed_audio(wins))
    np.testing.assert_allclose(pa.maps, pb.maps, atol=1e-5)


def test_resize_any_size_and_list_input(loc):
    big, small = _frames(1, 120, 200)[0], _frames(1, 30, 40)[0]
    batch = resize_batch([big, small], 224)
    assert batch.shape == (2, 224, 224, 3) and batch.dtype == np.uint8
    x = frames_to_tensor(batch, 224)
    assert x.shape == (2, 3, 224, 224) and x.is_contiguous(memory_format=torch.channels_last)
    pred = loc.predict([big, small], loc.embed_audio(_windows(1)), [0, 0])
    assert pred.maps.shape == (2, 7, 7)
    # a uniform frame stays uniform (no crop, no padding border)
    grey = np.full((50, 80, 3), 77, np.uint8)
    assert (resize_batch(grey, 224) == 77).all()


def test_bad_inputs(loc):
    emb = loc.embed_audio(_windows(2))
    with pytest.raises(ValueError):
        loc.predict(_frames(3), emb)  # default audio_index arange(3) points past emb
    with pytest.raises(ValueError):
        loc.predict(_frames(2), emb, [0])
    with pytest.raises(ValueError):
        loc.predict(np.zeros((2, 10, 10), np.uint8), emb)
    empty = loc.predict(_frames(0), emb, np.zeros(0, np.int64))
    assert empty.maps.shape == (0, 7, 7) and empty.class_probs.shape == (0, 3)


def test_bad_checkpoint_and_device(tmp_path, ckpt_path):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt"):
        Localizer(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError):
        Localizer(tmp_path / "missing.pt")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(InputError):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA"):
            Localizer(ckpt_path, device="cuda")


def test_threads_respected(ckpt_path):
    before = torch.get_num_threads()
    try:
        Localizer(ckpt_path, device="cpu")
        assert torch.get_num_threads() == before  # untouched unless asked
        Localizer(ckpt_path, device="cpu", threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
