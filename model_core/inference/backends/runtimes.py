"""The runtimes: how one model step (a module method, one tensor in, one tensor out) is
exported, compiled and run by each backend on the CPU.

One ONNX export (``torch.onnx.export``, batch dimension dynamic) is the input of both
compiled runtimes: ONNX Runtime runs it as it is, OpenVINO compiles it and its compiled
blob is cached too (importing it skips the graph compilation). Everything built is kept in
the cache folder (:mod:`~model_core.inference.backends.cache`), so a second start of the
same weights reads files and compiles nothing. :data:`COUNTS` counts exports, compilations
and cache loads (tests and benchmarks read it to tell a cache hit from a rebuild).
"""
from __future__ import annotations

import collections
import contextlib
import copy
import threading
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from model_core.atomic import atomic_path, write_bytes
from model_core.inference.backends import cache

#: Events by name: "export", "compile:openvino", "load:openvino", "load:onnxruntime".
COUNTS: collections.Counter = collections.Counter()
#: Runtimes that can compile a step (torch, the reference, runs it as it is).
COMPILED = ("openvino", "onnxruntime")
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


BUILDERS: dict[str, Callable] = {"openvino": build_openvino, "onnxruntime": build_onnxruntime}


def build(backend: str, source: StepSource, precision: str, threads: int):
    """The runner of ``backend`` for ``source``; :class:`BackendUnavailable` or the
    runtime's own exception when it cannot be built."""
    builder = BUILDERS.get(backend)
    if builder is None:
        raise BackendUnavailable(f"unknown backend {backend!r}")
    return builder(source, precision, threads)
