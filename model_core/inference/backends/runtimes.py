"""The runtimes: how one model step (a module method, one tensor in, one tensor out) is
exported, compiled and run by each backend on the CPU.

One ONNX export (``torch.onnx.export``, batch dimension dynamic) is the input of every
compiled runtime: ONNX Runtime runs it as it is, OpenVINO compiles it and its compiled
blob is cached too (importing it skips the graph compilation), and pnnx converts it to
ncnn's network files. ncnn is there for its algorithm: its 3x3 convolutions go through
Winograd transforms, which do fewer multiplications than the direct or GEMM convolutions of
oneDNN, OpenVINO and ONNX Runtime, at fp32 precision (the maps equal torch's to about 3e-6
relative). On the AVX2 CPU of ``benchmarks/README.md``, without the bf16 or VNNI
instructions that make OpenVINO fast elsewhere, it runs the full-size ResNet-18 trunk
1.4-1.8x faster than torch eager or OpenVINO. Everything built is kept in
the cache folder (:mod:`~model_core.inference.backends.cache`), so a second start of the
same weights reads files and compiles nothing. :data:`COUNTS` counts exports, compilations
and cache loads (tests and benchmarks read it to tell a cache hit from a rebuild).
"""
from __future__ import annotations

import collections
import contextlib
import copy
import os
import threading
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from model_core.atomic import atomic_path, write_bytes
from model_core.inference.backends import cache

#: Events by name: "export", "compile:openvino", "load:openvino", "load:onnxruntime",
#: "compile:ncnn", "load:ncnn".
COUNTS: collections.Counter = collections.Counter()
#: Runtimes that can compile a step (torch, the reference, runs it as it is).
COMPILED = ("openvino", "onnxruntime", "ncnn")
#: The longest a pnnx conversion may take (a full-size ResNet-18 step takes 1-2 s).
PNNX_TIMEOUT_S = 300
#: torch's ONNX exporter keeps global state: two exports at once (a model's visual and
#: audio steps build in parallel) corrupt each other's graphs, so one at a time.
_export_lock = threading.Lock()


class BackendUnavailable(RuntimeError):
    """A runtime that is not installed or cannot run this step here (one line)."""


class _Step(nn.Module):
    """A model's step method as a module's forward, so exporters can trace it."""

    def __init__(self, net: nn.Module, method: str):
        super().__init__()
        self.net = net
        self.method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.net, self.method)(x)


def runtime_version(backend: str) -> str:
    """The installed runtime's version; :class:`BackendUnavailable` when it is missing."""
    try:
        if backend == "openvino":
            import openvino

            return str(openvino.__version__)
        if backend == "onnxruntime":
            import onnxruntime

            return str(onnxruntime.__version__)
        if backend == "ncnn":
            import importlib.metadata

            import ncnn

            # pnnx writes the network files: a new pnnx may write them differently
            return f"{ncnn.__version__}+pnnx{importlib.metadata.version('pnnx')}"
    except Exception as exc:  # noqa: BLE001 - a broken install is as missing as an absent one
        raise BackendUnavailable(f"{backend} cannot be imported ({type(exc).__name__}: {exc})") from None
    if backend == "torch":
        return str(torch.__version__)
    raise BackendUnavailable(f"unknown backend {backend!r}")


class StepSource:
    """One step of one model, and the names of its cache entries."""

    def __init__(self, net: nn.Module, method: str, example: torch.Tensor):
        self.net = net
        self.method = method
        self.example = example
        self.weights = cache.weights_digest(net)
        self.shape = tuple(example.shape[1:])
        self.dtype = str(example.dtype)

    def entry(self, *parts) -> Path:
        return cache.compiled_dir() / cache.digest(self.weights, self.method, self.shape, self.dtype, *parts)

    def onnx(self) -> Path:
        """The step's ONNX file, exported once per weights and input shape."""
        with _export_lock:
            return self._onnx()

    def _onnx(self) -> Path:
        path = self.entry("onnx", torch.__version__).with_suffix(".onnx")
        if path.is_file():
            cache.touch(path)
            return path
        try:
            import onnx  # noqa: F401 - torch's exporter writes through it
        except Exception as exc:  # noqa: BLE001
            raise BackendUnavailable(f"onnx cannot be imported ({type(exc).__name__}: {exc})") from None
        # a copy: tracing must not touch the module that keeps serving maps meanwhile
        step = _Step(copy.deepcopy(self.net), self.method).eval()
        example = self.example.contiguous()
        with atomic_path(path, suffix=".onnx") as tmp, torch.no_grad():
            torch.onnx.export(step, (example,), str(tmp), input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, dynamo=False)
        COUNTS["export"] += 1
        cache.prune(keep=(path,))
        return path


@contextlib.contextmanager
def _dropped_if_unreadable(path: Path):
    """A cache entry a runtime cannot read is deleted (rebuilt next time, never read again)."""
    try:
        yield
    except Exception:
        path.unlink(missing_ok=True)
        raise


def _numpy(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.detach().to("cpu").numpy())


class OpenVINORunner:
    """A compiled OpenVINO model, callable from any thread.

    Infer requests are lent from a pool held by the runner, one per concurrent call, not
    kept in a ``threading.local``: a thread-local request is destroyed while its thread's
    Python state is being torn down, and OpenVINO's destructor releases the GIL there,
    which crashed the viewer (SIGSEGV) when its map ``QThread`` ended."""

    name = "openvino"

    def __init__(self, compiled):
        self.compiled = compiled
        self._free: list = []
        self._lock = threading.Lock()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        with self._lock:
            req = self._free.pop() if self._free else None
        if req is None:
            req = self.compiled.create_infer_request()
        try:
            req.infer({0: _numpy(x)})
            # the request reuses its output buffer: copy before it is lent again
            return torch.from_numpy(np.array(req.get_output_tensor(0).data, dtype=np.float32))
        finally:
            with self._lock:
                self._free.append(req)


class OnnxRuntimeRunner:
    name = "onnxruntime"

    def __init__(self, session):
        self.session = session

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = self.session.run(None, {"x": _numpy(x)})[0]
        return torch.from_numpy(np.asarray(out, dtype=np.float32))


def build_openvino(source: StepSource, precision: str, threads: int) -> OpenVINORunner:
    """OpenVINO's compiled step (its blob read from the cache, or compiled and cached).
    The precision is always set: OpenVINO runs bf16 by default where the CPU has it, and
    fp32 must mean fp32."""
    version = runtime_version("openvino")
    import openvino as ov

    core = ov.Core()
    blob = source.entry("openvino", version, precision).with_suffix(".blob")
    run_config = {"INFERENCE_NUM_THREADS": int(threads)}
    if blob.is_file():
        try:
            compiled = core.import_model(blob.read_bytes(), "CPU", run_config)
            COUNTS["load:openvino"] += 1
            cache.touch(blob)
            return OpenVINORunner(compiled)
        except Exception:  # noqa: BLE001 - an unreadable entry is rebuilt below
            pass
    config = {**run_config, "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
              "PERFORMANCE_HINT": "LATENCY"}
    onnx = source.onnx()
    with _dropped_if_unreadable(onnx):
        compiled = core.compile_model(core.read_model(str(onnx)), "CPU", config)
    COUNTS["compile:openvino"] += 1
    write_bytes(blob, compiled.export_model().getvalue())
    cache.prune(keep=(blob,))
    return OpenVINORunner(compiled)


def build_onnxruntime(source: StepSource, precision: str, threads: int) -> OnnxRuntimeRunner:
    """ONNX Runtime's session on the cached ONNX file. Its CPU provider has no bf16
    convolutions, so bf16 is refused (the caller falls back)."""
    runtime_version("onnxruntime")
    if precision != "fp32":
        raise BackendUnavailable("onnxruntime has no bf16 convolutions on the CPU")
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # ONNX Runtime's workers spin after every run by default, each session's pool its own:
    # a model's visual and audio sessions, torch's pool (log-mel, read-out) and the
    # decoder then share two cores with threads that burn them waiting. Blocking instead
    # costs a wake-up per operator (tens of microseconds beside a trunk's tens of ms).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    onnx = source.onnx()
    with _dropped_if_unreadable(onnx):
        session = ort.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])
    COUNTS["load:onnxruntime"] += 1
    return OnnxRuntimeRunner(session)


class NcnnRunner:
    """ncnn's network for one step; callable from any thread (each call its own extractor).

    ncnn runs one item at a time (its blobs have no batch dimension), so a batch is a loop;
    on the CPU a batch gains little anyway. ``item_shape``: one item's output shape, what
    each extracted blob is reshaped to (ncnn drops the batch dimension of 4-d and 2-d
    outputs alike)."""

    name = "ncnn"

    def __init__(self, net, item_shape: tuple):
        self.net = net
        self.input = net.input_names()[0]
        self.output = net.output_names()[0]
        self.item_shape = tuple(item_shape)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        import ncnn

        # uint8 frames go in as float32: the exported graph's first cast is removed
        # (:func:`_for_ncnn`), and uint8 -> float32 is exact
        items = _numpy(x.float() if x.dtype != torch.float32 else x)
        out = np.empty((len(items), *self.item_shape), dtype=np.float32)
        for i, item in enumerate(items):
            ex = self.net.create_extractor()
            # a copy in ncnn's own memory: ncnn runs layers in place on the input blob, and
            # in place on a Mat over numpy's memory it crashed (SIGSEGV, ncnn 1.0.20261020)
            ex.input(self.input, ncnn.Mat(np.ascontiguousarray(item)).clone())
            ret, blob = ex.extract(self.output)
            if ret != 0:
                raise RuntimeError(f"ncnn extract returned {ret}")
            out[i] = np.asarray(blob).reshape(self.item_shape)
        return torch.from_numpy(out)


def _for_ncnn(onnx_path: Path, out_path: Path) -> None:
    """``onnx_path`` as pnnx converts it best. A uint8 input is made float32: ncnn has no uint8 tensors, so the
    graph's first cast (uint8 -> float32, the frames' step) is removed and the runner
    feeds float32 values, which that cast would have made exactly. A uint8 input used by
    anything but such casts is refused."""
    import onnx
    from onnx import TensorProto, helper, version_converter

    model = onnx.load(str(onnx_path))
    graph = model.graph
    inp = graph.input[0]
    if inp.type.tensor_type.elem_type == TensorProto.UINT8:
        users = [n for n in graph.node if inp.name in n.input]
        casts = [n for n in users if n.op_type == "Cast"
                 and helper.get_attribute_value(n.attribute[0]) == TensorProto.FLOAT]
        if not users or len(casts) != len(users):
            raise BackendUnavailable("ncnn: the step reads its uint8 input other than by a cast to float")
        for cast in casts:
            for node in graph.node:
                for k, name in enumerate(node.input):
                    if name == cast.output[0]:
                        node.input[k] = inp.name
            graph.node.remove(cast)
        inp.type.tensor_type.elem_type = TensorProto.FLOAT
    # pnnx reads the reductions' axes as attributes (opset 17), not as the inputs they
    # became in opset 18 (EZ-VSL's max pool over the spectrogram, ReduceMax, was left an
    # op ncnn does not have); onnx's own converter rewrites them
    if any(o.domain in ("", "ai.onnx") and o.version > 17 for o in model.opset_import):
        model = version_converter.convert_version(model, 17)
    _global_pools(model)
    onnx.save(model, str(out_path))


def _global_pools(model) -> None:
    """A max or mean over both spatial axes of a 4-d tensor (``amax(dim=(2, 3))``, the
    published families' audio pooling) as ONNX's global pool (+ flatten): pnnx converts
    those to ncnn's global pooling, and has no conversion of ReduceMax from ONNX."""
    from onnx import helper, shape_inference

    graph = model.graph
    inferred = shape_inference.infer_shapes(model).graph
    ranks = {v.name: len(v.type.tensor_type.shape.dim)
             for v in [*inferred.value_info, *inferred.input] if v.type.tensor_type.HasField("shape")}
    pools = {"ReduceMax": "GlobalMaxPool", "ReduceMean": "GlobalAveragePool"}
    for node in list(graph.node):
        if node.op_type not in pools or len(node.input) != 1 or ranks.get(node.input[0]) != 4:
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if sorted(int(a) % 4 for a in attrs.get("axes", ())) != [2, 3]:
            continue
        pooled = node.output[0] + "_pooled" if not attrs.get("keepdims", 1) else node.output[0]
        new = [helper.make_node(pools[node.op_type], [node.input[0]], [pooled], name=node.name + "_pool")]
        if pooled != node.output[0]:
            new.append(helper.make_node("Flatten", [pooled], [node.output[0]], axis=1, name=node.name + "_flat"))
        at = list(graph.node).index(node)
        graph.node.remove(node)
        for k, n in enumerate(new):
            graph.node.insert(at + k, n)


def _pnnx(onnx_path: Path, shape: tuple, param: Path, weights: Path) -> None:
    """pnnx's conversion of ``onnx_path`` (one item of ``shape``, float32) to ncnn's
    network files, fp32 weights, in a scratch folder beside the cache entry; the two
    files are moved into place, weights first (the param file's presence means done)."""
    import subprocess
    import tempfile

    import pnnx

    with tempfile.TemporaryDirectory(prefix=".pnnx.", dir=param.parent) as tmp:
        work = Path(tmp)
        graph = work / "step.onnx"
        _for_ncnn(onnx_path, graph)
        out = {key: work / f"out.{key}" for key in ("pnnxparam", "pnnxbin", "pnnxpy", "pnnxonnx",
                                                    "ncnnparam", "ncnnbin", "ncnnpy")}
        dims = ",".join(str(int(d)) for d in (1, *shape))
        cmd = [pnnx.EXEC_PATH, str(graph), f"inputshape=[{dims}]f32", "fp16=0",
               *(f"{key}={path}" for key, path in out.items())]
        try:
            done = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=PNNX_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise BackendUnavailable(f"pnnx took over {PNNX_TIMEOUT_S} s") from None
        if done.returncode != 0 or not out["ncnnparam"].is_file() or not out["ncnnbin"].is_file():
            tail = (done.stderr or done.stdout or "").strip().splitlines()[-1:] or [""]
            raise BackendUnavailable(f"pnnx could not convert the step (exit {done.returncode}: {tail[0][:160]})")
        os.replace(out["ncnnbin"], weights)
        os.replace(out["ncnnparam"], param)


def _ncnn_net(param: Path, weights: Path, threads: int):
    import ncnn

    net = ncnn.Net()
    opt = net.opt
    opt.num_threads = int(threads)
    # fp32 must mean fp32: ncnn stores and computes in fp16 / bf16 where it can by default
    for flag in ("use_fp16_storage", "use_fp16_packed", "use_fp16_arithmetic", "use_bf16_storage",
                 "use_bf16_packed", "use_int8_inference", "use_vulkan_compute"):
        setattr(opt, flag, False)
    # Winograd F(4x4, 3x3), not F(6x6, 3x3): F(6, 3)'s larger transforms gave 3.5x the
    # rounding error of torch's own convolutions on a small trunk (3.5e-6 against 1.0e-6
    # relative), enough to move a pixel of the thresholded maps across the cIoU threshold;
    # F(4, 3) gives torch's error (1.1e-6) at the same speed (tests/test_eval_backends.py)
    opt.use_winograd63_convolution = False
    if net.load_param(str(param)) != 0 or net.load_model(str(weights)) != 0:
        raise RuntimeError(f"ncnn cannot read {param.name}")
    return net


def build_ncnn(source: StepSource, precision: str, threads: int) -> NcnnRunner:
    """ncnn's network for the step (read from the cache, or converted by pnnx from the
    step's ONNX export and cached). fp32 only: ncnn's bf16 on the CPU is a storage format,
    not faster arithmetic, so bf16 is refused (the caller falls back)."""
    version = runtime_version("ncnn")
    if precision != "fp32":
        raise BackendUnavailable("ncnn has no bf16 arithmetic on the CPU")
    param = source.entry("ncnn", version).with_suffix(".param")
    weights = param.with_suffix(".bin")
    with torch.inference_mode():
        item_shape = tuple(getattr(source.net, source.method)(source.example[:1]).shape[1:])
    if param.is_file() and weights.is_file():
        try:
            runner = NcnnRunner(_ncnn_net(param, weights, threads), item_shape)
            COUNTS["load:ncnn"] += 1
            cache.touch(param)
            cache.touch(weights)
            return runner
        except Exception:  # noqa: BLE001 - an unreadable entry is rebuilt below
            param.unlink(missing_ok=True)
    _pnnx(source.onnx(), source.shape, param, weights)
    COUNTS["compile:ncnn"] += 1
    cache.prune(keep=(param, weights))
    return NcnnRunner(_ncnn_net(param, weights, threads), item_shape)


BUILDERS: dict[str, Callable] = {"openvino": build_openvino, "onnxruntime": build_onnxruntime,
                                 "ncnn": build_ncnn}


def build(backend: str, source: StepSource, precision: str, threads: int):
    """The runner of ``backend`` for ``source``; :class:`BackendUnavailable` or the
    runtime's own exception when it cannot be built."""
    builder = BUILDERS.get(backend)
    if builder is None:
        raise BackendUnavailable(f"unknown backend {backend!r}")
    return builder(source, precision, threads)
