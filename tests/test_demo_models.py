"""The bundled demo checkpoints (resources/models): they load, are what the README says
(head, demo config, budget, lambda chosen on validation), stay small, and the DNM head
finds the sounding object of the bundled demo clip."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model_core.model.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "resources" / "models"
DEMO = REPO / "resources" / "demo"


@pytest.mark.parametrize("head", ["avc", "cls", "dnm"])
def test_demo_checkpoint_is_the_documented_run(head):
    path = MODELS / f"{head}.pt"
    assert path.stat().st_size < 3_000_000
    ck = load_checkpoint(path)
    assert ck.head == head and len(ck.classes) == 8
    assert (ck.config.image_size, ck.config.map_size, ck.config.width, ck.config.embed_dim) == (224, 14, 16, 64)
    s = ck.summary
    opts = s["options"]
    # one budget for every head
    assert (opts["epochs"], opts["batch_size"], opts["lr"], opts["weight_decay"]) == (6, 32, 1e-3, 0.05)
    assert opts["select_best"] == "pointing" and opts["val_limit"] == 500 and opts["seed"] in (0, 1, 2)
    assert s["selected"]["by"] == "val pointing" and 1 <= s["selected"]["epoch"] <= 6
    assert s["finished"] and s["steps"] == 6 * 51
    if head == "dnm":
        assert opts["lam"] in (1.0, 2.0, 4.0)


def test_dnm_demo_head_points_at_the_sounding_object_of_the_demo_clip():
    """The six event segments of resources/demo: the shipped DNM map's peak (at each
    segment's middle frame, the model's input exactly as training reads it) falls inside
    the sounding box in most of them."""
    import torch

    from model_core.formats import load_avsol_e
    from model_core.metrics import localization as L
    from model_core.metrics.masks import minmax_normalise, resize_maps, sounding_mask
    from model_core.model import build_model
    from model_core.train.feature_cache import compute_video

    ck = load_checkpoint(MODELS / "dnm.pt")
    model = build_model(ck.config)
    model.load_state_dict(ck.state_dict)
    model.eval()
    frames, mels, valid, _ = compute_video(DEMO / "demo.mp4", ck.config.image_size)
    doc = load_avsol_e(DEMO / "avsol-e.json")
    segs = [(k, s) for k, s in enumerate(doc.videos[0].segments) if s.event and s.sounding_boxes]
    assert len(segs) == 6 and all(abs(s.frame_time - (k + 0.5)) < 1e-3 and valid[k] for k, s in segs)
    idx = [k for k, _ in segs]
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(frames[idx])).permute(0, 3, 1, 2)
        out = model.read(model.visual(x), model.audio(torch.from_numpy(np.ascontiguousarray(mels[idx]))))
        maps = out.localization.float().numpy()
    assert maps.shape == (6, 14, 14) and np.isfinite(maps).all()
    hits = L.peak_inside(L.peaks(minmax_normalise(resize_maps(maps))),
                         np.stack([sounding_mask(s) for _, s in segs]))
    assert int(np.sum(hits)) >= MIN_HITS, np.asarray(hits).tolist()


MIN_HITS = 5  # measured: every head of the issue-14 demo runs hits 6 of 6 (before: avc 4, cls 6, dnm 6)


def test_demo_maps_are_the_ones_computed_with_torchvision_and_torchaudio():
    """tests/data/demo_maps_torchvision_torchaudio.npz: each demo head's maps, p(avc) and class
    probabilities of demo.mp4 at 2 frames/s, written by ``avsol infer --fps 2 --device cpu``
    while the model's ResNet block came from torchvision and its log-mel from torchaudio.
    The project's own block and log-mel (which replaced them) give the same numbers, and
    the checkpoints load unchanged."""
    from model_core.inference import Localizer, localize_many

    ref = np.load(Path(__file__).parent / "data" / "demo_maps_torchvision_torchaudio.npz")
    locs = [Localizer(MODELS / f"{head}.pt", device="cpu") for head in ("avc", "cls", "dnm")]
    got = localize_many(locs, DEMO / "demo.mp4", list(ref["times"]))
    for loc in locs:
        vm, head = got[loc.name], loc.head
        np.testing.assert_array_equal(vm.times, ref["times"])
        for key in ("maps", "p_avc", "class_probs"):
            # atol 1e-4: the file was written on an AMD EPYC; an Intel Xeon's AVX-512
            # convolution kernels give up to 2e-6 apart (measured), a wrong mel filter or
            # block moves these numbers by 1e-2 and more
            np.testing.assert_allclose(getattr(vm, key), ref[f"{head}_{key}"], rtol=0, atol=1e-4,
                                       err_msg=f"{head} {key}")
