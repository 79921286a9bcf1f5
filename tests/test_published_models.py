"""The field's published models as heads (issue 27): protocol, loading, faithfulness.

Faithfulness: for each family a checkpoint is built with exactly that repository's key
names and shapes (torchvision's ResNet-18 for the trunks, the repository's extra stems,
projections and momentum copies), seeded random weights and randomised batch-norm
statistics, saved in the repository's container; a lossless clip (FFV1 + FLAC) is
decoded once, and our model's maps are compared with a reference forward written here
from torchvision's resnet18, scipy's spectrogram (torchaudio's transforms for SSL-TIE and
RCGrad) and PIL's resize, on the same decoded frame and waveform, at times in the middle
and near both ends of the clip.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
nn = torch.nn
F = torch.nn.functional

from model_core.cli import main  # noqa: E402
from model_core.errors import CheckpointError  # noqa: E402
from model_core.models import loading  # noqa: E402
from model_core.models.protocol import MapModel, cut_window, normalise, place_window  # noqa: E402

SR = 16000
CLIP_SECONDS = 12.0
FPS = 5
SIZE = (160, 96)          # w, h: not square, so the centre crop differs from the squash
TIMES = (0.3, 6.0, 11.7)  # near the start (window shifted in), the middle, near the end
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CLIP = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))


# -- rules computed by hand -----------------------------------------------------------------
def test_place_window_by_hand():
    # 3 s window in a 12 s file: centred, shifted in at both ends
    assert place_window(6.0, 3.0, 12.0) == (4.5, False)
    assert place_window(0.3, 3.0, 12.0) == (0.0, False)      # 0.3 - 1.5 < 0 -> 0
    assert place_window(11.7, 3.0, 12.0) == (9.0, False)     # 11.7 - 1.5 = 10.2 > 12 - 3
    assert place_window(1.5, 3.0, 3.0) == (0.0, False)       # exactly the file
    assert place_window(1.0, 10.0, 4.0) == (0.0, True)       # shorter than the window: tiled
    with pytest.raises(ValueError):
        place_window(1.0, 0.0, 4.0)


def test_cut_window_by_hand():
    x = np.arange(10, dtype=np.float32)                                   # 10 s at 1 Hz
    assert cut_window(x, 9.0, 4.0, sample_rate=1).tolist() == [6, 7, 8, 9]   # start min(7, 6)
    assert cut_window(x, 0.0, 4.0, sample_rate=1).tolist() == [0, 1, 2, 3]
    assert cut_window(x, 5.0, 4.0, sample_rate=1).tolist() == [3, 4, 5, 6]
    assert cut_window(np.array([1, 2, 3], np.float32), 1.0, 7.0, sample_rate=1).tolist() == [1, 2, 3, 1, 2, 3, 1]
    assert cut_window(np.zeros(0, np.float32), 1.0, 2.0, sample_rate=1).tolist() == [0, 0]


def test_normalise_by_hand():
    assert normalise(np.array([[-1.0, 0.0, 1.0]]), "cosine").tolist() == [[0.0, 0.5, 1.0]]
    assert normalise(np.array([[-2.0, 0.0, 2.0]]), "cosine_tau", tau=0.5).tolist() == [[0.0, 0.5, 1.0]]
    assert normalise(np.array([[0.0, 2.0], [4.0, 4.0]]), "gradcam").tolist() == [[0.0, 0.5], [1.0, 1.0]]
    assert normalise(np.full((1, 2, 2), 3.0), "gradcam").tolist() == [[[0.0, 0.0], [0.0, 0.0]]]
    assert normalise(np.array([[0.25]]), "sigmoid").tolist() == [[0.25]]
    with pytest.raises(ValueError):
        normalise(np.zeros((2, 2)), "cosine_tau")
    with pytest.raises(ValueError):
        normalise(np.zeros((2, 2)), "softmax")


# -- front ends against their references ----------------------------------------------------
def test_audio_front_ends_equal_scipy_and_torchaudio():
    from scipy import signal

    from model_core.models import frontends

    rng = np.random.default_rng(1)
    x = (rng.standard_normal(3 * SR) * 0.4).astype(np.float32)   # a few samples past +-1: clipped
    for noverlap in (274, 353):
        _, _, s = signal.spectrogram(np.clip(x, -1, 1), SR, nperseg=512, noverlap=noverlap)
        ours = frontends.scipy_log_spectrogram(x[None], noverlap)[0, 0].numpy()
        assert ours.shape == s.shape
        assert np.abs(ours - np.log(s + 1e-7) / 12).max() < 1e-5
    ta = pytest.importorskip("torchaudio")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torchaudio: 257 mels over 257 bins leave empty filters
        mel = ta.transforms.MelSpectrogram(sample_rate=SR, n_fft=512, hop_length=239, n_mels=257,
                                           normalized=True)(torch.from_numpy(x)[None])
    ref = ta.transforms.AmplitudeToDB()(mel)
    assert torch.allclose(frontends.ssltie_log_mel(x[None])[0], ref, atol=1e-3)
    spec = ta.transforms.Spectrogram(n_fft=512, hop_length=353)(torch.from_numpy(x[:SR])[None, None])
    spec = torch.log(spec + 1e-7)
    spec = (spec - spec.mean()) / (spec.std() + 1e-9)
    assert torch.allclose(frontends.rcgrad_spectrogram(x[None, :SR]), spec, atol=1e-4)


@pytest.mark.parametrize("shape", [(96, 160, 3), (480, 640, 3)])
def test_image_transforms_equal_pil(shape):
    from PIL import Image
    from torchvision import transforms as T

    from model_core.models import frontends

    img = np.random.default_rng(2).integers(0, 256, shape).astype(np.uint8)
    refs = {"squash": T.Compose([T.Resize((224, 224), Image.BICUBIC), T.ToTensor()]),
            "centre": T.Compose([T.Resize(224, Image.BICUBIC), T.CenterCrop(224), T.ToTensor()])}
    for geometry, tr in refs.items():
        ref = tr(Image.fromarray(img)).numpy() * 255
        ours = frontends.frames_to_input(img[None], geometry, (0, 0, 0), (1, 1, 1))[0].numpy() * 255
        diff = np.abs(ours - ref)
        # PIL resamples in fixed point: at most one grey level apart, on under 1 % of pixels
        assert diff.max() <= 2.0 + 1e-4 and (diff > 0.5).mean() < 0.01
    # the centre crop of a 160 x 96 frame: resized to int(224 * 160 / 96) = 373 x 224, and
    # CenterCrop's left edge int(round((373 - 224) / 2)) = round(74.5) = 74 (half to even):
    # columns 74..298 of the resized frame, i.e. x from 74 * 160 / 373 to 298 * 160 / 373
    assert frontends.crop_box(160, 96, "centre") == pytest.approx((74 * 160 / 373, 0, 298 * 160 / 373, 96))
    assert frontends.crop_box(160, 96, "squash") == (0, 0, 160, 96)


# -- repository-layout checkpoints ---------------------------------------------------------
from published_support import (CONTAINERS, FAMILIES, build_repo_net, lvs_features,  # noqa: E402,F401
                               save_repo_checkpoint, tv_resnet)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 12 s lossless clip (FFV1 video, FLAC audio) and what our readers decode of it."""
    from media_helpers import make_clip, tone

    from model_core.media.audio import read_audio
    from model_core.media.frames import VideoReader

    rng = np.random.default_rng(3)
    n = int(CLIP_SECONDS * SR)
    audio = 0.3 * tone(CLIP_SECONDS, 440.0) + 0.2 * rng.standard_normal(n).astype(np.float32)
    audio[n // 3:n // 2] *= 0.1                       # a quieter stretch: the windows differ
    path = make_clip(tmp_path_factory.mktemp("clip") / "clip.mkv", n_frames=int(CLIP_SECONDS * FPS), fps=FPS,
                     size=SIZE, audio=audio.astype(np.float32), codec="ffv1", audio_codec="flac")
    samples = read_audio(path)
    with VideoReader(path) as r:
        frames = np.stack([r.read_at_time(t) for t in TIMES])
    return {"path": path, "samples": samples, "frames": frames}


@pytest.fixture(scope="module")
def repo_ckpts(tmp_path_factory):
    """Per family: the repository-layout network (for the reference) and its file."""
    out = tmp_path_factory.mktemp("ckpts")
    built = {}
    for i, family in enumerate(FAMILIES):
        gen = torch.Generator().manual_seed(100 + i)
        net = build_repo_net(family, gen)
        built[family] = (net, save_repo_checkpoint(net, family, out / f"{family}_vggss.pth.tar"))
    return built


# -- the reference forwards (the repositories' code paths, written here) -------------------
def ref_image(frame: np.ndarray, centre: bool, norm=IMAGENET) -> torch.Tensor:
    from PIL import Image
    from torchvision import transforms as T

    steps = [T.Resize(224, Image.BICUBIC), T.CenterCrop(224)] if centre else [T.Resize((224, 224), Image.BICUBIC)]
    return T.Compose([*steps, T.ToTensor(), T.Normalize(*norm)])(Image.fromarray(frame))


def ref_window(samples: np.ndarray, t: float, seconds: float) -> np.ndarray:
    """The window a repository would cut: ``seconds`` around ``t``, whole, inside the file."""
    n = int(seconds * SR)
    if len(samples) < n:
        return np.tile(samples, n // len(samples) + 1)[:n]
    start = int(round((t - seconds / 2) * SR))
    start = max(0, min(start, len(samples) - n))
    return samples[start:start + n]


def ref_scipy_spec(window: np.ndarray, noverlap: int) -> torch.Tensor:
    from scipy import signal

    _, _, s = signal.spectrogram(np.clip(window, -1.0, 1.0), SR, nperseg=512, noverlap=noverlap)
    return torch.from_numpy(np.log(s + 1e-7) / 12.0).float()[None, None]


@torch.no_grad()
def reference_map(family: str, net: nn.Module, frame: np.ndarray, samples: np.ndarray, t: float) -> np.ndarray:
    if family in ("ezvsl", "fnac", "slavc"):
        img = net.imgnet(ref_image(frame, False)[None]).unflatten(1, (512, 7, 7))
        aud = net.audnet(ref_scipy_spec(ref_window(samples, t, 3.0), 274))
        if family == "slavc":
            s = 0
            for ip, ap in ((net.img_proj1, net.aud_proj1), (net.img_proj2, net.aud_proj2)):
                s = s + torch.einsum("nchw,nc->nhw", F.normalize(ip(img), dim=1), F.normalize(ap(aud), dim=1)) / 0.03
            return (s / 2)[0].numpy()
        i = F.normalize(net.img_proj(img), dim=1)
        a = F.normalize(net.aud_proj(aud), dim=1)
        return (torch.einsum("nchw,mc->nmhw", i, a) / 0.03)[0, 0].numpy()
    if family in ("lvs", "sslalign", "ssltie"):
        if family == "ssltie":
            import torchaudio

            w = torch.from_numpy(ref_window(samples, t, 10.0))[None]
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mel = torchaudio.transforms.MelSpectrogram(sample_rate=SR, n_fft=512, hop_length=239, n_mels=257,
                                                           normalized=True)(w)
            spec = torchaudio.transforms.AmplitudeToDB()(mel)[None]
        elif family == "lvs":
            spec = ref_scipy_spec(ref_window(samples, t, 10.0), 274)
        else:
            spec = ref_scipy_spec(ref_window(samples, t, 3.0), 353)
        img = F.normalize(lvs_features(net.imgnet, ref_image(frame, family != "sslalign")[None], False), dim=1)
        aud = F.normalize(F.adaptive_max_pool2d(lvs_features(net.audnet, spec, True), 1).view(1, -1), dim=1)
        return torch.einsum("ncqa,nchw->nqa", [img, aud.unsqueeze(2).unsqueeze(3)])[0].numpy()
    if family == "rcgrad":
        enc = net.audio_encoder
        x = enc.spectrogram(torch.from_numpy(ref_window(samples, t, 1.0))[None].unsqueeze(1))
        x = torch.log(x + 1e-7)
        x = (x - torch.mean(x)) / (torch.std(x) + 1e-9)
        x = enc.maxpool(enc.relu(enc.bn1(enc.conv1(x))))
        emb = enc.avgpool(enc.layer4(enc.layer3(enc.layer2(enc.layer1(x))))).reshape(1, -1)
        with torch.enable_grad():
            act = lvs_features(net.image_encoder, ref_image(frame, False, CLIP)[None], False)
            act.retain_grad()
            out = F.adaptive_avg_pool2d(act, 1).reshape(1, -1)
            out.backward(emb)                                   # GradCAM: outputs.backward(target)
        weights = act.grad.mean(dim=(2, 3))
        return torch.relu((weights[:, :, None, None] * act).sum(dim=1))[0].numpy()
    raise AssertionError(family)


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_maps_equal_the_repository_forward(family, clip, repo_ckpts):
    net, path = repo_ckpts[family]
    model = loading.load_model(path, device="cpu", family="fnac" if family == "fnac" else None)
    assert isinstance(model, MapModel) and model.family == family
    windows = np.stack([cut_window(clip["samples"], t, model.audio_window_s) for t in TIMES])
    pred = model.predict(clip["frames"], model.embed_audio(windows), np.arange(len(TIMES)))
    assert np.isnan(pred.p_avc).all() and pred.class_probs.shape == (len(TIMES), 0)
    for k, t in enumerate(TIMES):
        ref = reference_map(family, net, clip["frames"][k], clip["samples"], t)
        ours = pred.maps[k]
        assert ours.shape == ref.shape
        span = float(ref.max() - ref.min())
        corr = np.corrcoef(ours.ravel(), ref.ravel())[0, 1]
        assert corr >= 0.999, (family, t, corr)
        assert np.abs(ours - ref).max() <= 1e-3 * span, (family, t, np.abs(ours - ref).max(), span)
    if family == "rcgrad":  # Grad-CAM takes its gradient even when the caller is in inference mode
        with torch.inference_mode():
            again = model.predict(clip["frames"], model.embed_audio(windows))
        assert np.allclose(again.maps, pred.maps, atol=1e-6 * float(np.abs(pred.maps).max()))
    # frames of several sizes in one call: each resized on its own, the same maps
    mixed = model.predict([clip["frames"][0], clip["frames"][1][:, :-8]], model.embed_audio(windows[:2]))
    assert np.allclose(mixed.maps[0], pred.maps[0], atol=1e-5 * max(1.0, float(np.abs(pred.maps).max())))
    with pytest.raises(ValueError, match="samples"):   # another window length is a mistake, not a map
        model.embed_audio(windows[:, : windows.shape[1] // 2])
    # several audios at once give the same maps as one at a time
    other = model.embed_audio(windows[::-1].copy())
    both = model.predict_audios(clip["frames"], [model.embed_audio(windows), other])
    assert np.allclose(both[0].maps, pred.maps, atol=1e-5 * max(1.0, float(np.abs(pred.maps).max())))


# -- loading, detection and the one-line failures -------------------------------------------
@pytest.mark.slow
def test_detection_inspect_and_forced_family(repo_ckpts, capsys):
    for family, (_, path) in repo_ckpts.items():
        info = loading.inspect(path)
        assert info["family"] == ("ezvsl" if family == "fnac" else family)
        assert info["missing"] == [] and info["unexpected"] == []
    info = loading.inspect(repo_ckpts["slavc"][1])
    assert info["ignored"] and all(k.startswith("momentum_") for k in info["ignored"])
    # LVS and SSL-align share keys: the container tells them apart
    assert loading.inspect(repo_ckpts["lvs"][1])["container"] == "'model_state_dict' with 'module.' prefix"
    assert main(["models", "inspect", str(repo_ckpts["ezvsl"][1])]) == 0
    out = capsys.readouterr().out
    assert "family:      ezvsl (EZ-VSL)" in out and "licence:     Apache-2.0" in out
    n = sum(p.numel() for p in repo_ckpts["ezvsl"][0].parameters())   # the repository's own module
    assert f"parameters:  {n:,}" in out
    # a wrong family forced: one line, exit 2
    assert main(["models", "inspect", str(repo_ckpts["ezvsl"][1]), "--model-family", "lvs"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not match family lvs" in err[0] and "missing" in err[0]
    assert main(["models", "inspect", str(repo_ckpts["ezvsl"][1]), "--model-family", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown model family 'nope'" in err[0]


@pytest.mark.slow
def test_partial_state_dict_names_the_closest_family(repo_ckpts, tmp_path, capsys):
    obj = torch.load(repo_ckpts["ezvsl"][1], weights_only=False)
    obj["model"] = {k: v for k, v in obj["model"].items() if not k.startswith("audnet.layer4.")}
    torch.save(obj, tmp_path / "partial.pth")
    with pytest.raises(CheckpointError, match="closest is ezvsl .*missing .*audnet.layer4"):
        loading.load_model(tmp_path / "partial.pth", device="cpu")
    assert main(["models", "inspect", str(tmp_path / "partial.pth")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "partial.pth" in err[0] and "closest is ezvsl" in err[0]
    # a weight of the wrong shape
    obj = torch.load(repo_ckpts["ezvsl"][1], weights_only=False)
    obj["model"]["imgnet.conv1.weight"] = torch.zeros(64, 3, 5, 5)
    torch.save(obj, tmp_path / "shape.pth")
    with pytest.raises(CheckpointError, match=r"imgnet.conv1.weight \(64, 3, 5, 5\)"):
        loading.load_model(tmp_path / "shape.pth", device="cpu")


class _Hostile:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_damaged_hostile_and_foreign_files_are_one_line(tmp_path, capsys):
    good = tmp_path / "good.pth"
    torch.save({"model": {"w": torch.zeros(1000)}, "best_cIoU": np.float64(0.3)}, good)
    damaged = tmp_path / "damaged.pth"
    damaged.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    hostile = tmp_path / "hostile.pth"
    evil = _Hostile()
    evil.marker = tmp_path / "pwned"
    torch.save({"model": {"w": torch.zeros(2)}, "extra": evil}, hostile)
    video = tmp_path / "clip.pth"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    cases = {damaged: "truncated", hostile: "could run code", video: "MP4/MOV",
             tmp_path / "none.pth": "no such file", good: "matches no known model family"}
    for path, words in cases.items():
        with pytest.raises(CheckpointError, match=words):
            loading.load_model(path, device="cpu")
        assert main(["models", "inspect", str(path)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(path) in err[0] and words in err[0], err
    assert not (tmp_path / "pwned").exists()


def test_numpy_scalars_are_allowed_and_nothing_else(tmp_path):
    path = tmp_path / "scalars.pth"
    torch.save({"state_dict": {"w": torch.ones(2)}, "best_cIoU": np.float64(0.5), "n": np.int64(3),
                "f": np.float32(1.5)}, path)
    obj = loading.read_file(path)
    assert obj["best_cIoU"] == 0.5 and obj["n"] == 3 and obj["f"] == 1.5
    torch.save({"a": np.arange(3)}, tmp_path / "array.pth")     # an ndarray needs more than scalars
    with pytest.raises(CheckpointError, match="could run code"):
        loading.read_file(tmp_path / "array.pth")


def test_our_checkpoint_loads_as_a_localizer_that_satisfies_the_protocol(make_tiny_checkpoint):
    ours = make_tiny_checkpoint()
    model = loading.load_model(ours, device="cpu")
    assert isinstance(model, MapModel)
    assert (model.family, model.map_kind, model.audio_window_s, model.sample_rate) == ("dnm", "sigmoid", 1.0, 16000)
    assert model.crop(640, 360) == (0.0, 0.0, 640.0, 360.0)
    with pytest.raises(CheckpointError, match="not 'lvs'"):
        loading.load_model(ours, device="cpu", family="lvs")
    assert loading.inspect(ours)["family"] == "dnm"


# -- plugins ----------------------------------------------------------------------------------
PLUGIN = '''
import torch
from torch import nn

from model_core.models.base import Family


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(4, 3)


class TinyFamily(Family):
    key = "tiny"
    title = "Tiny"
    licence = "MIT"
    window_s = 0.5

    def skeleton(self):
        return _Net()


class BadFamily(TinyFamily):
    key = "bad"
    map_kind = "softmax"
'''


def _install_plugin(root: Path, entry: str) -> None:
    (root / "avsol_tiny_plugin.py").write_text(PLUGIN)
    info = root / "avsol_tiny_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: avsol-tiny-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[avsol.models]\n{entry}\n")


def test_a_plugin_family_is_listed_and_detected(tmp_path, monkeypatch, capsys):
    _install_plugin(tmp_path, "tiny = avsol_tiny_plugin:TinyFamily\nbroken = avsol_no_such_module:Family\n"
                              "bad = avsol_tiny_plugin:BadFamily")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert main(["models", "list"]) == 0
        out = capsys.readouterr().out
        assert "tiny" in out and "plugin avsol-tiny-plugin" in out
        assert "not usable: plugin broken = avsol_no_such_module:Family" in out   # named, not fatal
        assert "not usable: plugin bad = avsol_tiny_plugin:BadFamily" in out and "'softmax'" in out
        assert "ezvsl" in out and "rcgrad" in out
        torch.save({"state_dict": {"enc.weight": torch.zeros(3, 4), "enc.bias": torch.zeros(3)}},
                   tmp_path / "tiny.pth")
        assert main(["models", "inspect", str(tmp_path / "tiny.pth")]) == 0
        assert "family:      tiny (Tiny)" in capsys.readouterr().out
    finally:
        sys.modules.pop("avsol_tiny_plugin", None)
