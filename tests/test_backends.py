"""Inference backends (model_core.inference.backends): each compiled runtime gives torch's
maps to 1e-5 in fp32, for our head and a published family; the second load of the same
weights compiles nothing; a missing or failing runtime is one line and torch serves;
bf16 is refused where the CPU lacks it; auto measures once and keeps its decision."""
from __future__ import annotations

import io
import json
import logging

import numpy as np
import pytest

from model_core.inference.backends import BACKENDS, PRECISIONS, capability, runtimes
from model_core.inference.localizer import Localizer
from model_core.models.loading import load_model
from model_core.models.protocol import normalise

COMPILED = ("openvino", "onnxruntime")
# torch's TorchScript-based ONNX exporter (the one that needs no onnxscript) says it is deprecated
pytestmark = pytest.mark.filterwarnings("ignore:You are using the legacy TorchScript:DeprecationWarning",
                                        "ignore:The feature will be removed:DeprecationWarning")


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """``tiny_checkpoint(seed=0, **config)``: the tests' tiny head (tests/tiny_models.py)."""
    from tiny_models import save_tiny

    made = {}

    def make(seed: int = 0, **config):
        key = (seed, tuple(sorted(config.items())))
        if key not in made:
            made[key] = save_tiny(tmp_path_factory.mktemp("ckpt") / "head.pt", seed=seed, **config)
        return made[key]

    return make


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """Each test its own cache folder (an empty one: nothing compiled yet)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("AVSOL_CACHE", str(folder))
    return folder


def frames_and_audio(n: int = 3, size: int = 64, seconds: float = 1.0):
    rng = np.random.default_rng(7)
    frames = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    audio = (rng.standard_normal((n, int(16000 * seconds))) * 0.1).astype(np.float32)
    return frames, audio


def served(model, frames, emb):
    """Maps once the background build is done (the first call starts it, torch answers)."""
    model.predict(frames, emb)
    assert model._visual.wait(120), "the backend's build did not finish"
    return model.predict(frames, emb)


def embedded(model, audio):
    """Audio embeddings once the audio step's background build is done."""
    model.embed_audio(audio)
    assert model._audio.wait(120), "the backend's build did not finish"
    return model.embed_audio(audio)


def test_names_are_the_cli_vocabulary():
    assert BACKENDS == ("auto", "torch", "openvino", "onnxruntime")
    assert PRECISIONS == ("fp32", "bf16")


@pytest.mark.slow   # compiles both trunks: seconds each, kept out of the fast subset
@pytest.mark.parametrize("backend", COMPILED)
def test_dnm_head_maps_equal_torch(backend, tiny_checkpoint):
    ckpt = tiny_checkpoint(image_size=64, map_size=8)
    frames, audio = frames_and_audio()
    ref = Localizer(ckpt, device="cpu", batch_size=4)
    emb = ref.embed_audio(audio)
    want = ref.predict(frames, emb)
    model = Localizer(ckpt, device="cpu", batch_size=4, backend=backend)
    got = served(model, frames, emb)
    assert model.backend_used == f"torch+{backend}"   # torch while it compiled, then the runtime
    assert model._visual.active == backend
    # the audio trunk too
    np.testing.assert_allclose(embedded(model, audio), emb, rtol=0, atol=1e-5)
    assert model._audio.active == backend
    np.testing.assert_allclose(got.maps, want.maps, rtol=0, atol=1e-5)
    np.testing.assert_allclose(got.p_avc, want.p_avc, rtol=0, atol=1e-5)
    np.testing.assert_allclose(got.class_probs, want.class_probs, rtol=0, atol=1e-5)
    # and the maps are not trivially equal: another checkpoint's differ by far more
    other = Localizer(tiny_checkpoint(image_size=64, map_size=8, seed=1), device="cpu")
    assert np.abs(other.predict(frames, other.embed_audio(audio)).maps - want.maps).max() > 1e-3


@pytest.mark.slow
def test_published_family_maps_equal_torch(tmp_path):
    """EZ-VSL (a full-size ResNet-18: the published families have no small layout)."""
    from published_support import make_repo_checkpoint

    ckpt = make_repo_checkpoint("ezvsl", tmp_path / "ezvsl.pth")
    frames, audio = frames_and_audio(2, 96, 3.0)
    ref = load_model(ckpt, device="cpu", batch_size=2)
    emb = ref.embed_audio(audio)
    want = ref.predict(frames, emb).maps
    for backend in COMPILED:
        model = load_model(ckpt, device="cpu", batch_size=2, backend=backend)
        got = served(model, frames, emb).maps
        assert model._visual.active == backend
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
        np.testing.assert_allclose(embedded(model, audio), emb, rtol=0, atol=1e-5)
        assert model._audio.active == backend
        np.testing.assert_allclose(normalise(got, model.map_kind, model.tau),
                                   normalise(want, ref.map_kind, ref.tau), rtol=0, atol=1e-5)


@pytest.mark.slow   # compiles twice
def test_second_load_compiles_nothing(tiny_checkpoint, tmp_path, cache):
    import shutil

    ckpt = tiny_checkpoint(image_size=64, map_size=8)
    frames, audio = frames_and_audio()
    before = runtimes.COUNTS.copy()
    first = Localizer(ckpt, device="cpu", backend="openvino")
    served(first, frames, embedded(first, audio))
    assert runtimes.COUNTS["export"] - before["export"] == 2                 # visual and audio trunks
    assert runtimes.COUNTS["compile:openvino"] - before["compile:openvino"] == 2
    # the same weights under another name and folder: keyed by content, not by path
    copy = shutil.copy(ckpt, tmp_path / "renamed.pt")
    before = runtimes.COUNTS.copy()
    second = Localizer(copy, device="cpu", backend="openvino")
    served(second, frames, embedded(second, audio))
    assert second._visual.active == second._audio.active == "openvino"
    assert runtimes.COUNTS["export"] == before["export"]
    assert runtimes.COUNTS["compile:openvino"] == before["compile:openvino"]
    assert runtimes.COUNTS["load:openvino"] - before["load:openvino"] == 2
    # other weights are another entry
    third = Localizer(tiny_checkpoint(image_size=64, map_size=8, seed=3), device="cpu", backend="openvino")
    served(third, frames, embedded(third, audio))
    assert runtimes.COUNTS["compile:openvino"] - before["compile:openvino"] == 2
    assert not list(cache.rglob("*.tmp")), "a temporary file left in the cache"


def test_missing_runtime_is_one_line_and_torch_serves(tiny_checkpoint, monkeypatch, caplog):
    def missing(backend):
        raise runtimes.BackendUnavailable(f"{backend} cannot be imported (ModuleNotFoundError: No module named "
                                          f"'{backend}')")

    monkeypatch.setattr(runtimes, "runtime_version", missing)
    ckpt = tiny_checkpoint(image_size=64, map_size=8)
    frames, audio = frames_and_audio()
    ref = Localizer(ckpt, device="cpu")
    emb = ref.embed_audio(audio)
    model = Localizer(ckpt, device="cpu", backend="openvino")
    with caplog.at_level(logging.WARNING, logger="avsol.backends"):
        got = served(model, frames, emb)
    lines = [r.getMessage() for r in caplog.records if r.name == "avsol.backends"]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert "openvino" in lines[0] and "torch" in lines[0] and ckpt.stem in lines[0]
    assert model.backend_used == "torch" and model._visual.active == "torch"
    np.testing.assert_array_equal(got.maps, ref.predict(frames, emb).maps)


def test_runtime_failing_while_running_falls_back(tiny_checkpoint, caplog):
    ckpt = tiny_checkpoint(image_size=64, map_size=8)
    frames, audio = frames_and_audio()
    model = Localizer(ckpt, device="cpu", backend="onnxruntime")
    emb = model.embed_audio(audio)
    want = served(model, frames, emb).maps

    class Broken:
        name = "onnxruntime"

        def __call__(self, x):
            raise RuntimeError("device lost\nsecond line")

    model._visual._runner = Broken()
    with caplog.at_level(logging.WARNING, logger="avsol.backends"):
        got = model.predict(frames, emb).maps
        again = model.predict(frames, emb).maps
    lines = [r.getMessage() for r in caplog.records if r.name == "avsol.backends"]
    assert len(lines) == 1 and "device lost" in lines[0] and "second line" not in lines[0]
    assert model._visual.active == "torch"
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_array_equal(got, again)


def test_bf16_refused_without_cpu_support(tiny_checkpoint, monkeypatch, caplog):
    monkeypatch.setattr(capability, "cpu_bf16", lambda: False)
    ckpt = tiny_checkpoint(image_size=64, map_size=8)
    with caplog.at_level(logging.WARNING, logger="avsol.backends"):
        model = Localizer(ckpt, device="cpu", precision="bf16")
    lines = [r.getMessage() for r in caplog.records if r.name == "avsol.backends"]
    assert len(lines) == 1 and "bf16" in lines[0] and "fp32" in lines[0]
    assert model.precision == "fp32"


def test_bf16_used_where_the_cpu_has_it(tiny_checkpoint, monkeypatch):
    """Probe says yes: torch runs the trunk under bf16 autocast (close to fp32, not equal)."""
    monkeypatch.setattr(capability, "cpu_bf16", lambda: True)
    ckpt = tiny_checkpoint(image_size=64, map_size=8)
    frames, audio = frames_and_audio()
    ref = Localizer(ckpt, device="cpu")
    emb = ref.embed_audio(audio)
    model = Localizer(ckpt, device="cpu", precision="bf16")
    assert model.precision == "bf16"
    got, want = model.predict(frames, emb).maps, ref.predict(frames, emb).maps
    assert 0 < np.abs(got - want).max() < 0.05


def test_cpu_probe_reads_the_flags(monkeypatch):
    capability.cpu_flags.cache_clear()
    monkeypatch.setattr(capability, "cpu_flags", lambda: frozenset({"avx2", "avx512f"}))
    assert capability.cpu_bf16() is False
    monkeypatch.setattr(capability, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    assert capability.cpu_bf16() is True
    monkeypatch.setattr(capability, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    assert capability.cpu_bf16() is True


@pytest.mark.slow   # compiles both runtimes and measures
def test_auto_measures_once_and_records_its_choice(tiny_checkpoint, cache):
    ckpt = tiny_checkpoint(image_size=64, map_size=8)
    frames, audio = frames_and_audio()
    ref = Localizer(ckpt, device="cpu", batch_size=4)
    emb = ref.embed_audio(audio)
    want = ref.predict(frames, emb).maps
    model = Localizer(ckpt, device="cpu", batch_size=4, backend="auto")
    got = served(model, frames, emb).maps
    decision = model._visual.decision
    assert decision["backend"] in ("torch", *COMPILED)
    assert set(decision["ms_per_item"]) == {"torch", *COMPILED}   # both runtimes are installed
    assert all(d <= 1e-5 for d in decision["relative_difference"].values())
    assert model._visual.active == decision["backend"]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    recorded = json.loads((cache / "compiled" / "decisions.json").read_text())
    assert list(recorded.values()) == [decision]
    # the same architecture (other weights) reads the decision: builds only the chosen one
    before = runtimes.COUNTS.copy()
    again = Localizer(tiny_checkpoint(image_size=64, map_size=8, seed=5), device="cpu", batch_size=4,
                      backend="auto")
    served(again, frames, emb)
    assert again._visual.decision == decision and again._visual.active == decision["backend"]
    built = {k: runtimes.COUNTS[k] - before[k] for k in runtimes.COUNTS}
    assert built.get("load:onnxruntime", 0) == (decision["backend"] == "onnxruntime")
    assert built.get("compile:openvino", 0) == (decision["backend"] == "openvino")


def test_auto_refuses_a_backend_that_differs(monkeypatch):
    """measure() keeps the fast runner only if its output equals torch's to 1e-5."""
    import torch

    from model_core.inference.backends.routed import measure

    def reference(x):
        return x * 2.0

    def fast_but_wrong(x):
        return x * 2.0 + 1e-3

    decision = measure(reference, reference, {"openvino": fast_but_wrong}, torch.ones(2, 3), "fp32")
    assert decision["backend"] == "torch"
    assert decision["relative_difference"]["openvino"] > 1e-5


def test_torch_backend_builds_nothing(tiny_checkpoint):
    ckpt = tiny_checkpoint(image_size=64, map_size=8)
    frames, audio = frames_and_audio()
    model = Localizer(ckpt, device="cpu")
    model.predict(frames, model.embed_audio(audio))
    assert model._visual._thread is None and model.backend_used == "torch"


def test_unknown_backend_and_precision_are_refused(tiny_checkpoint):
    ckpt = tiny_checkpoint(image_size=64, map_size=8)
    with pytest.raises(ValueError, match="unknown backend"):
        Localizer(ckpt, device="cpu", backend="tensorrt")
    with pytest.raises(ValueError, match="unknown precision"):
        Localizer(ckpt, device="cpu", precision="fp8")


def test_the_report_records_backend_and_precision(tiny_checkpoint, synth_set, tmp_path):
    from model_core.evaluation.runner import EvalOptions, run_eval
    from model_core.metrics.report_schema import read_report

    data = synth_set(seed=5, videos=1, classes=2, copy_to=tmp_path / "data")
    ckpt = tiny_checkpoint(image_size=64, map_size=8)
    out = tmp_path / "report.json"
    run_eval(data, [ckpt], out, EvalOptions(device="cpu", batch_size=4, backend="onnxruntime"),
             err=io.StringIO())
    doc, bad = read_report(out)
    (entry,) = doc["meta"]["checkpoints"]
    assert not bad
    assert entry["precision"] == "fp32"
    assert entry["backend"] in ("torch", "torch+onnxruntime")   # the runtime may be ready in time
    # a report written before these fields existed still reads
    for e in doc["meta"]["checkpoints"]:
        del e["backend"], e["precision"]
    out.write_text(json.dumps(doc))
    assert read_report(out)[1] == {}
    # and a wrong type is named
    doc["meta"]["checkpoints"][0]["backend"] = 3
    out.write_text(json.dumps(doc))
    from model_core.errors import InputError

    with pytest.raises(InputError, match="backend"):
        read_report(out)


def test_the_cache_keeps_its_size_by_dropping_the_least_recently_used(cache):
    import os

    from model_core.inference.backends import cache as compiled

    folder = compiled.compiled_dir()
    folder.mkdir(parents=True)
    paths = []
    for i, name in enumerate(("old.onnx", "middle.blob", "new.onnx", "newest.blob")):
        p = folder / name
        p.write_bytes(b"x" * 100)
        os.utime(p, (1000 + i, 1000 + i))
        paths.append(p)
    (folder / "decisions.json").write_text("{}")
    compiled.touch(paths[0])                     # used just now: the most recent
    gone = compiled.prune(limit_bytes=250, keep=(paths[1],))
    assert gone == [paths[2], paths[3]]          # oldest first, the kept one skipped
    assert paths[0].exists() and paths[1].exists() and (folder / "decisions.json").exists()


def test_on_a_gpu_the_trunks_stay_torch(caplog):
    """The compiled runtimes are CPU runtimes: a named one on a GPU is one line; auto is silent."""
    import torch

    from model_core.inference.backends.routed import RoutedStep

    net = torch.nn.Module()
    net.visual = lambda x: x * 2.0
    with caplog.at_level(logging.WARNING, logger="avsol.backends"):
        named = RoutedStep(net, "visual", "openvino", device="cuda", who="m")
        auto = RoutedStep(net, "visual", "auto", device="cuda", who="m")
    lines = [r.getMessage() for r in caplog.records if r.name == "avsol.backends"]
    assert lines == ["m: backend openvino runs on the CPU only; torch runs it on cuda"]
    x = torch.ones(2, 3)
    for step in (named, auto):
        assert torch.equal(step(x), x * 2.0)
        assert step._thread is None and step.wait(0) and step.used() == "torch"


QTHREAD_SCRIPT = """
import torch
from PySide6.QtCore import QCoreApplication, QThread
from model_core.inference.backends.routed import RoutedStep

net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()).eval()
net.step = net.forward
x = torch.randn(2, 3, 16, 16)


class Worker(QThread):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def run(self):
        with torch.inference_mode():
            self.step(x)
            assert self.step.wait(120)
            self.step(x)


app = QCoreApplication([])
for _ in range(2):   # the second thread uses a runner built while the first one served
    step = RoutedStep(net, "step", BACKEND)
    worker = Worker(step)
    worker.start()
    worker.wait()
    assert step.used() == "torch+" + BACKEND, step.used()
    step.close()
print("ended")
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", COMPILED)
def test_a_runtime_in_a_qthread_survives_the_thread_ending(tmp_path, backend):
    """The viewer's map worker is a QThread: an OpenVINO runner that kept its infer request
    in a thread-local had it destroyed during the thread's teardown, and the process died of
    SIGSEGV when the thread ended; every runtime is held to it (a child process, so a crash
    fails this test, not the run)."""
    import os
    import subprocess
    import sys

    pytest.importorskip(backend)
    script = tmp_path / f"qthread_{backend}.py"
    script.write_text(f"BACKEND = {backend!r}\n" + QTHREAD_SCRIPT)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "AVSOL_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                          timeout=300, cwd=os.getcwd())
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.strip().endswith("ended")
