"""DNM model (SPEC 3): shapes, hand-computed normalizations, which loss reaches which weights."""
from __future__ import annotations

import math

import pytest
import torch

import tiny_models
from model_core.model import ModelConfig, build_model, head_loss, pick_negatives

TINY = dict(num_classes=3, **tiny_models.TINY)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_model(ModelConfig(**TINY)).eval()


def batch(n=4, size=224):
    g = torch.Generator().manual_seed(1)
    return torch.rand(n, 3, size, size, generator=g), torch.randn(n, 1, 64, 101, generator=g)


@pytest.mark.parametrize("map_size", [7, 14])
def test_shapes(map_size):
    model = build_model(ModelConfig(**TINY, map_size=map_size)).eval()
    frames, mels = batch()
    with torch.inference_mode():
        out = model(frames, mels)
    assert out.logits_map.shape == (4, map_size, map_size)
    assert out.class_logits.shape == (4, 3)
    assert out.p_avc.shape == (4,)
    assert torch.all(out.similarity.abs() <= 1 + 1e-5)
    assert torch.allclose(out.attention.flatten(1).sum(1), torch.ones(4))


def test_full_resnet18_matches_torchvision_names():
    from torchvision.models import resnet18

    model = build_model(ModelConfig(num_classes=28, map_size=14))
    ref = {k: v.shape for k, v in resnet18().state_dict().items() if not k.startswith("fc.")}
    own = {k: v.shape for k, v in model.visual_trunk.state_dict().items()}
    assert own.keys() == ref.keys()
    # layer4's first block has stride 1 for the 14 x 14 map; every other shape matches.
    assert own == ref
    assert model.visual_trunk.layer4[0].conv1.stride == (1, 1)
    assert model.visual_trunk.layer4[0].downsample[0].stride == (1, 1)


def test_visual_init_from_torchvision_state_dict(tmp_path):
    from torchvision.models import resnet18

    ref = resnet18()
    path = tmp_path / "r18.pt"
    torch.save(ref.state_dict(), path)
    model = build_model(ModelConfig(num_classes=2), visual_init=str(path))
    assert torch.equal(model.visual_trunk.layer3[1].conv2.weight, ref.layer3[1].conv2.weight)


def test_normalizations_by_hand():
    """A 2 x 1 map with D = 2: compute S, Z, p_avc, alpha and u on paper."""
    model = build_model(ModelConfig(**TINY))
    with torch.no_grad():
        model.log_scale.fill_(math.log(2.0))
        model.bias.fill_(-1.0)
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
        model.classifier.weight[0, :2] = torch.tensor([1.0, 0.0])
    D = TINY["embed_dim"]
    V = torch.zeros(1, D, 2, 1)
    V[0, :2, 0, 0] = torch.tensor([3.0, 4.0])   # normalized (0.6, 0.8)
    V[0, :2, 1, 0] = torch.tensor([0.0, 2.0])   # normalized (0, 1)
    a = torch.zeros(1, D)
    a[0, 0] = 1.0                               # a = (1, 0)
    out = model.read(V, a)
    # S = (0.6, 0); Z = 2 S - 1 = (0.2, -1)
    assert torch.allclose(out.similarity.flatten(), torch.tensor([0.6, 0.0]), atol=1e-6)
    assert torch.allclose(out.logits_map.flatten(), torch.tensor([0.2, -1.0]), atol=1e-6)
    # p_avc = max sigmoid(Z) = sigmoid(0.2)
    assert out.p_avc.item() == pytest.approx(1 / (1 + math.exp(-0.2)), abs=1e-6)
    # alpha = softmax(0.2, -1) = (e^1.2, 1) / (e^1.2 + 1)
    e = math.exp(1.2)
    alpha = torch.tensor([e / (e + 1), 1 / (e + 1)])
    assert torch.allclose(out.attention.flatten(), alpha, atol=1e-6)
    # u = alpha_0 (3, 4) + alpha_1 (0, 2); class 0 logit = u_0 = 3 alpha_0
    assert out.class_logits[0, 0].item() == pytest.approx(3 * alpha[0].item(), abs=1e-5)


def _grads(model, head, labels):
    model.train()
    model.zero_grad(set_to_none=True)
    frames, mels = batch()
    V, a = model.visual(frames), model.audio(mels)
    neg = pick_negatives(labels, 4, torch.Generator().manual_seed(0))
    head_loss(model, V, a, labels, head, neg)["loss"].backward()
    # "reaches" = a gradient above float32 round-off (softmax is invariant to b only exactly)
    return {n: (p.grad is not None and p.grad.abs().max().item() > 1e-6) for n, p in model.named_parameters()}


def test_avc_loss_does_not_reach_classifier():
    model = build_model(ModelConfig(**TINY))
    g = _grads(model, "avc", torch.tensor([0, 1, 2, 0]))
    assert not g["classifier.weight"] and not g["classifier.bias"]
    assert g["bias"] and g["log_scale"] and g["audio_proj.weight"] and g["visual_proj.weight"]
    assert g["visual_trunk.conv1.weight"] and g["audio_trunk.conv1.weight"]


def test_cls_loss_does_not_reach_bias():
    # the spatial softmax is invariant to b: only the AVC task can set it
    model = build_model(ModelConfig(**TINY))
    g = _grads(model, "cls", torch.tensor([0, 1, 2, 0]))
    assert not g["bias"]
    assert g["classifier.weight"] and g["log_scale"] and g["audio_proj.weight"]
    assert g["visual_trunk.conv1.weight"]


def test_dnm_loss_reaches_everything():
    model = build_model(ModelConfig(**TINY))
    g = _grads(model, "dnm", torch.tensor([0, 1, 2, 0]))
    assert all(g.values()), [n for n, v in g.items() if not v]


def test_dnm_is_sum_of_parts():
    torch.manual_seed(0)
    model = build_model(ModelConfig(**TINY)).eval()
    frames, mels = batch()
    labels = torch.tensor([0, 1, 2, 0])
    neg = pick_negatives(labels, 4, torch.Generator().manual_seed(0))
    with torch.no_grad():
        V, a = model.visual(frames), model.audio(mels)
        d = head_loss(model, V, a, labels, "dnm", neg, lam=0.5)
    assert d["loss"].item() == pytest.approx(d["l_avc"].item() + 0.5 * d["l_cls"].item(), rel=1e-5)


def test_negatives_come_from_other_classes():
    labels = torch.tensor([0, 0, 1, 1, 2])
    for seed in range(20):
        neg = pick_negatives(labels, 5, torch.Generator().manual_seed(seed))
        for i, j in enumerate(neg.tolist()):
            assert j != i and labels[j] != labels[i]
    # no other class in the batch: no negative
    assert pick_negatives(torch.tensor([1, 1]), 2).tolist() == [-1, -1]
    assert set(pick_negatives(None, 3).tolist()) <= {0, 1, 2}


def test_basic_block_and_trunk_are_torchvisions():
    """The ResNet block is torchvision's, restated (torchvision is a test-only reference):
    same parameter names and shapes, same initialisation from the same seed, same output."""
    from torchvision.models import resnet as tv

    from model_core.model import trunks

    def pair(stride, inplanes, planes):
        torch.manual_seed(3)
        ds = torch.nn.Sequential(tv.conv1x1(inplanes, planes, stride), torch.nn.BatchNorm2d(planes)) \
            if stride != 1 or inplanes != planes else None
        ref = tv.BasicBlock(inplanes, planes, stride, ds)
        torch.manual_seed(3)
        ds = torch.nn.Sequential(trunks.conv1x1(inplanes, planes, stride), torch.nn.BatchNorm2d(planes)) \
            if stride != 1 or inplanes != planes else None
        return ref, trunks.BasicBlock(inplanes, planes, stride, ds)

    x = torch.randn(2, 8, 17, 17, generator=torch.Generator().manual_seed(4))
    for stride, inplanes, planes in ((1, 8, 8), (2, 8, 16), (1, 8, 16)):
        ref, own = pair(stride, inplanes, planes)
        r, o = ref.state_dict(), own.state_dict()
        assert list(o) == list(r) and all(torch.equal(o[k], r[k]) for k in r)
        for mode in ("train", "eval"):
            getattr(ref, mode)(), getattr(own, mode)()
            with torch.no_grad():
                assert torch.equal(own(x), ref(x)), (stride, inplanes, planes, mode)
    # a whole trunk of torchvision blocks (swapped in) computes what the own trunk does
    torch.manual_seed(5)
    trunk = trunks.ResNetTrunk(in_channels=1, width=8, layers=(1, 1, 1, 1)).eval()
    with torch.no_grad():
        y = trunk(torch.randn(1, 1, 64, 101, generator=torch.Generator().manual_seed(6)))
        for layer in (trunk.layer1, trunk.layer2, trunk.layer3, trunk.layer4):
            for i, block in enumerate(layer):
                twin = tv.BasicBlock(block.conv1.in_channels, block.conv1.out_channels, block.stride, block.downsample)
                twin.load_state_dict(block.state_dict())
                layer[i] = twin.eval()
        y_tv = trunk(torch.randn(1, 1, 64, 101, generator=torch.Generator().manual_seed(6)))
    assert torch.equal(y, y_tv)


def test_folding_batch_norm_keeps_the_function(tmp_path):
    """``fold_batch_norm`` (what every Localizer runs): no batch norm left, the same maps,
    p(avc) and class logits up to float rounding, with running statistics far from 0 / 1."""
    import copy

    from model_core.inference import Localizer
    from model_core.model.checkpoint import save_checkpoint
    from model_core.model.trunks import fold_batch_norm

    torch.manual_seed(3)
    cfg = tiny_models.tiny_config(5, image_size=64, map_size=4)
    model = build_model(cfg).eval()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.3, 3.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
    folded = fold_batch_norm(copy.deepcopy(model))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    frames, mels = torch.rand(3, 3, 64, 64), torch.randn(3, 1, 64, 101)
    with torch.no_grad():
        a, b = model(frames, mels), folded(frames, mels)
        va, vb = model.visual(frames), folded.visual(frames)
    assert (va - vb).abs().max() <= 1e-4 * va.abs().max()
    torch.testing.assert_close(b.localization, a.localization, rtol=0, atol=1e-5)
    torch.testing.assert_close(b.p_avc, a.p_avc, rtol=0, atol=1e-5)
    torch.testing.assert_close(b.class_logits, a.class_logits, rtol=1e-4, atol=1e-4)
    assert not torch.equal(folded.visual_trunk.conv1.weight, model.visual_trunk.conv1.weight)  # really folded
    with pytest.raises(RuntimeError, match="eval mode"):
        fold_batch_norm(build_model(cfg).train())
    save_checkpoint(tmp_path / "m.pt", model, cfg, list("abcde"), "dnm")
    loc = Localizer(tmp_path / "m.pt", device="cpu")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in loc.model.modules())
