"""The ncnn backend (model_core.inference.backends.runtimes): what is particular to it.

ncnn has no uint8 tensors and pnnx converts some ONNX forms badly, so the step's ONNX
export is rewritten before pnnx sees it; each rewrite is held to the original graph run by
ONNX Runtime (the same numbers, computed both ways). Its network files are cached like the
other runtimes' builds, a failing conversion is one line and torch serves, and fp32 means
fp32 (its fp16 / bf16 storage and Winograd F(6, 3) are off: maps equal torch's to 1e-5 in
tests/test_backends.py and the eval report in tests/test_eval_backends.py)."""
from __future__ import annotations

import importlib.util
import logging

import numpy as np
import pytest

from model_core.inference.backends import runtimes
from model_core.inference.localizer import Localizer

pytestmark = [
    pytest.mark.filterwarnings("ignore:You are using the legacy TorchScript:DeprecationWarning",
                               "ignore:The feature will be removed:DeprecationWarning"),
    pytest.mark.skipif(importlib.util.find_spec("ncnn") is None, reason="ncnn is not installed"),
]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("AVSOL_CACHE", str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tiny_models import save_tiny

    return save_tiny(tmp_path_factory.mktemp("ckpt") / "head.pt", image_size=64, map_size=8)


def _graph(nodes, inputs, outputs, path, opset=17):
    import onnx
    from onnx import helper

    model = helper.make_model(helper.make_graph(nodes, "g", inputs, outputs),
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _run(path, x):
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_a_uint8_input_cast_to_float_becomes_a_float_input(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 3, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])
    half = helper.make_tensor("half", TensorProto.FLOAT, [], [0.5])
    nodes = [helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
             helper.make_node("Constant", [], ["h"], value=half),
             helper.make_node("Mul", ["xf", "h"], ["y"])]
    src = _graph(nodes, [x], [y], tmp_path / "u8.onnx")
    out = tmp_path / "f32.onnx"
    runtimes._for_ncnn(src, out)

    rewritten = onnx.load(str(out))
    assert rewritten.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT
    assert [n.op_type for n in rewritten.graph.node] == ["Constant", "Mul"]
    pixels = np.arange(48, dtype=np.uint8).reshape(1, 3, 4, 4) * 5
    # the same numbers: uint8 -> float32 is exact, so the cast's removal changes nothing
    np.testing.assert_array_equal(_run(out, pixels.astype(np.float32)), _run(src, pixels))
    np.testing.assert_array_equal(_run(out, pixels.astype(np.float32)), pixels.astype(np.float32) * 0.5)


def test_a_uint8_input_read_otherwise_is_refused(tmp_path):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 3])
    y = helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 3])
    src = _graph([helper.make_node("Identity", ["x"], ["y"])], [x], [y], tmp_path / "u8.onnx")
    with pytest.raises(runtimes.BackendUnavailable, match="uint8"):
        runtimes._for_ncnn(src, tmp_path / "out.onnx")


@pytest.mark.parametrize("op, pool, keepdims", [("ReduceMax", "GlobalMaxPool", 0),
                                                ("ReduceMean", "GlobalAveragePool", 1)])
def test_spatial_reductions_become_global_pools(tmp_path, op, pool, keepdims):
    """opset 18's reduction (axes as an input) is converted to opset 17 and then to the
    global pool pnnx can convert: the same output as the original graph's."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, 3, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5, 1, 1] if keepdims else [2, 5])
    axes = helper.make_tensor("axes", TensorProto.INT64, [2], [2, 3])
    nodes = [helper.make_node("Constant", [], ["a"], value=axes),
             helper.make_node(op, ["x", "a"], ["r"], keepdims=keepdims),
             helper.make_node("Relu", ["r"], ["y"])]
    src = _graph(nodes, [x], [y], tmp_path / "reduce.onnx", opset=18)
    out = tmp_path / "pooled.onnx"
    runtimes._for_ncnn(src, out)

    ops = [n.op_type for n in onnx.load(str(out)).graph.node]
    assert op not in ops and pool in ops and ("Flatten" in ops) == (not keepdims), ops
    values = np.random.default_rng(0).standard_normal((2, 5, 3, 4)).astype(np.float32)
    want = _run(src, values)
    got = _run(out, values)
    assert got.shape == want.shape == ((2, 5, 1, 1) if keepdims else (2, 5))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    by_hand = values.max(axis=(2, 3)) if op == "ReduceMax" else values.mean(axis=(2, 3), keepdims=True)
    np.testing.assert_allclose(got, np.maximum(by_hand, 0), rtol=1e-6, atol=1e-6)


def test_a_reduction_over_other_axes_is_left_alone(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, 3, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 4])
    src = _graph([helper.make_node("ReduceMax", ["x"], ["y"], axes=[1], keepdims=0)], [x], [y],
                 tmp_path / "reduce.onnx")
    out = tmp_path / "same.onnx"
    runtimes._for_ncnn(src, out)
    assert [n.op_type for n in onnx.load(str(out)).graph.node] == ["ReduceMax"]


def test_network_files_are_cached_by_weights(tiny, tmp_path, cache):
    import shutil

    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    audio = (rng.standard_normal((3, 16000)) * 0.1).astype(np.float32)
    ref = Localizer(tiny, device="cpu")
    emb = ref.embed_audio(audio)
    want = ref.predict(frames, emb).maps
    before = runtimes.COUNTS.copy()
    first = Localizer(tiny, device="cpu", backend="ncnn")
    first.predict(frames, emb)
    assert first._visual.wait(120)
    np.testing.assert_allclose(first.predict(frames, emb).maps, want, rtol=0, atol=1e-5)
    assert first._visual.active == "ncnn"
    assert runtimes.COUNTS["compile:ncnn"] - before["compile:ncnn"] == 1
    assert len(list(cache.rglob("*.param"))) == 1 and len(list(cache.rglob("*.bin"))) == 1
    assert not [p for p in cache.rglob("*") if p.name.startswith(".pnnx")], "pnnx's scratch folder was left"

    before = runtimes.COUNTS.copy()
    second = Localizer(shutil.copy(tiny, tmp_path / "renamed.pt"), device="cpu", backend="ncnn")
    second.predict(frames, emb)
    assert second._visual.wait(120)
    np.testing.assert_allclose(second.predict(frames, emb).maps, want, rtol=0, atol=1e-5)
    assert runtimes.COUNTS["compile:ncnn"] == before["compile:ncnn"]
    assert runtimes.COUNTS["load:ncnn"] - before["load:ncnn"] == 1


def test_a_failing_conversion_is_one_line_and_torch_serves(tiny, monkeypatch, caplog, tmp_path):
    import pnnx

    fake = tmp_path / "pnnx"
    fake.write_text("#!/bin/sh\necho 'unsupported operator Foo' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(pnnx, "EXEC_PATH", str(fake))
    frames = np.random.default_rng(4).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    ref = Localizer(tiny, device="cpu")
    emb = ref.embed_audio(np.zeros((2, 16000), np.float32))
    model = Localizer(tiny, device="cpu", backend="ncnn")
    with caplog.at_level(logging.WARNING, logger="avsol.backends"):
        model.predict(frames, emb)
        assert model._visual.wait(120)
        got = model.predict(frames, emb)
    lines = [r.getMessage() for r in caplog.records if r.name == "avsol.backends"]
    assert len(lines) == 1 and "\n" not in lines[0], lines
    assert "ncnn" in lines[0] and "exit 3" in lines[0] and "unsupported operator Foo" in lines[0]
    assert model._visual.active == "torch"
    np.testing.assert_array_equal(got.maps, ref.predict(frames, emb).maps)


def test_bf16_is_refused():
    import torch

    source = runtimes.StepSource(torch.nn.Conv2d(1, 1, 1), "forward", torch.zeros(1, 1, 2, 2))
    with pytest.raises(runtimes.BackendUnavailable, match="bf16"):
        runtimes.build("ncnn", source, "bf16", 1)


def test_a_batch_is_every_item_through_the_network():
    """The runner loops over the batch (ncnn blobs have no batch dimension) and gives each
    item torch's output shape: a 2-d output (an audio embedding) as well as a 4-d map."""
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

        def visual(self, x):
            return torch.relu(self.conv(x))

        def audio(self, x):
            return self.conv(x).mean(dim=(2, 3))

    net = Net().eval()
    x = torch.rand(5, 3, 8, 8)
    for method in ("visual", "audio"):
        runner = runtimes.build("ncnn", runtimes.StepSource(net, method, x), "fp32", 1)
        with torch.inference_mode():
            want = getattr(net, method)(x)
        got = runner(x)
        assert got.shape == want.shape and got.dtype == torch.float32
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0, atol=1e-5)
        # and each item is its own: a batch of one gives the same rows
        np.testing.assert_allclose(runner(x[3:4]).numpy(), want[3:4].numpy(), rtol=0, atol=1e-5)
