"""A model step routed through a backend: torch serves at once, the compiled runtime takes
over when it is ready.

:class:`RoutedStep` wraps one step method of a model: the visual trunk (the cost of every
map) and the audio trunk (one call per window; the compiled runtimes gain on it as on the
visual trunk, ``benchmarks/README.md``). Its first call starts a background thread that builds the requested backend's
runner for that input's shape (from the cache when it holds one); until the runner is
ready, and for inputs of another shape, the torch method answers, so start-up and the
first maps never wait for a compiler. ``auto`` measures once per machine and architecture
(:func:`measure`) and keeps the fastest backend whose output equals torch's (1e-5 relative
to the output's largest value in fp32, which holds the maps to 1e-5:
``tests/test_backends.py``). A backend that is missing, fails to build or fails while
running is one warning line, and torch serves from then on.
"""
from __future__ import annotations

import atexit
import logging
import os
import statistics
import threading
import time
import weakref
from typing import Callable

import torch

from model_core.inference.backends import cache, runtimes

log = logging.getLogger("avsol.backends")

#: Largest output difference from torch fp32 (relative to the output's largest value)
#: a backend may show to be chosen by ``auto``: fp32 must equal torch; bf16 is bf16's.
TOLERANCE = {"fp32": 1e-5, "bf16": 5e-2}
#: Timed calls per backend when ``auto`` measures (interleaved; the median is kept).
ROUNDS = 3

_live: "weakref.WeakSet[RoutedStep]" = weakref.WeakSet()


def relative_difference(out: torch.Tensor, ref: torch.Tensor) -> float:
    """max |out - ref| / max |ref| (0 when both are zero)."""
    ref = ref.detach().float()
    scale = float(ref.abs().max()) if ref.numel() else 0.0
    diff = float((out.detach().float() - ref).abs().max()) if ref.numel() else 0.0
    return diff / scale if scale > 0 else diff


class RoutedStep:
    """``net.<method>`` run by a backend; call it as the method.

    Parameters
    ----------
    net : the model (in eval mode, batch norm folded: what torch runs).
    method : the step's name, e.g. ``"visual"``.
    backend : one of :data:`~model_core.inference.backends.BACKENDS`.
    precision : ``"fp32"`` or ``"bf16"``, already checked against the device
        (:func:`~model_core.inference.backends.capability.resolve_precision`).
    device : the model's ``torch.device``; compiled runtimes are CPU runtimes, so on a
        GPU the step stays torch's (a named backend says so in one line).
    who : the model's name, for the warning lines.
    """

    def __init__(self, net: torch.nn.Module, method: str, backend: str = "torch", precision: str = "fp32",
                 device: torch.device | str = "cpu", who: str = ""):
        from model_core.inference.backends import BACKENDS

        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r} (one of {', '.join(BACKENDS)})")
        self.net = net
        self.method = method
        self.requested = backend
        self.precision = precision
        self.device = torch.device(device)
        self.who = who or type(net).__name__
        self.active = "torch"          # the backend serving now
        self.decision: dict | None = None   # auto's measurement, when it measured or read one
        self.served: list[str] = []    # backends that have answered a call, by first use
        self._runner = None
        self._shape: tuple | None = None
        self._dtype: torch.dtype | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._stop = False
        if self.device.type != "cpu" and backend not in ("auto", "torch"):
            self._warn(f"backend {backend} runs on the CPU only; torch runs it on {self.device}")
        if backend == "torch" or self.device.type != "cpu":
            self._done.set()

    @property
    def torch_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """The model's own step, looked up at each call (a wrapper set on the model later,
        a test's counter or a profiler's, is what torch runs)."""
        return getattr(self.net, self.method)

    # -- serving -------------------------------------------------------------------------
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        runner = self._runner
        if runner is not None and tuple(x.shape[1:]) == self._shape and x.dtype == self._dtype:
            try:
                out = runner(x)
                if runner.name not in self.served:
                    self.served.append(runner.name)
                return out
            except Exception as exc:  # noqa: BLE001 - a failing runtime must not stop the maps
                self._runner, self.active = None, "torch"
                self._warn(f"backend {runner.name} failed while running ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0][:160] if str(exc) else ''}); torch from now on")
        elif self._thread is None and not self._done.is_set():
            self._start(x)
        if "torch" not in self.served:
            self.served.append("torch")
        return self.run_torch(x)

    def used(self) -> str:
        """The backends that have answered so far, ``+``-joined (``"torch"`` before any call)."""
        return used(self)

    def run_torch(self, x: torch.Tensor) -> torch.Tensor:
        """The torch step at this step's precision (bf16: CPU autocast), float32 out."""
        if self.precision == "bf16" and self.device.type == "cpu":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return self.torch_fn(x).float()
        return self.torch_fn(x)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the background build has finished (or was never needed); True if so."""
        return self._done.wait(timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Ask the background build to stop after its current phase, and wait for it."""
        self._stop = True
        t = self._thread
        if t is not None and t.is_alive() and t is not threading.current_thread():
            t.join(timeout)

    def _warn(self, text: str) -> None:
        log.warning("%s: %s", self.who, text)

    # -- building ------------------------------------------------------------------------
    def _start(self, x: torch.Tensor) -> None:
        example = x.detach().to("cpu").clone()
        self._thread = threading.Thread(target=self._build, args=(example,), daemon=True,
                                        name=f"avsol-backend-{self.method}")
        _live.add(self)
        self._thread.start()

    def _build(self, example: torch.Tensor) -> None:
        try:
            source = runtimes.StepSource(self.net, self.method, example)
            if self.requested == "auto":
                name, runner = self._auto(source, example)
            else:
                name, runner = self.requested, self._named(source)
            if runner is not None and not self._stop:
                self._shape, self._dtype = source.shape, example.dtype
                self._runner, self.active = runner, name
        except Exception as exc:  # noqa: BLE001 - any failure: one line, torch keeps serving
            self._warn(f"backend {self.requested} unavailable ({type(exc).__name__}: "
                       f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); maps from torch")
        finally:
            self._done.set()

    def _named(self, source: runtimes.StepSource):
        return runtimes.build(self.requested, source, self.precision, torch.get_num_threads())

    def _decision_key(self, example: torch.Tensor) -> str:
        versions = []
        for b in runtimes.COMPILED:
            try:
                versions.append(runtimes.runtime_version(b))
            except runtimes.BackendUnavailable:
                versions.append("-")
        return cache.digest(cache.machine(), cache.architecture_digest(self.net), self.method,
                            tuple(example.shape), str(example.dtype), self.precision,
                            torch.get_num_threads(), torch.__version__, *versions)

    def _auto(self, source: runtimes.StepSource, example: torch.Tensor):
        key = self._decision_key(example)
        decision = cache.read_decision(key)
        if decision is not None:
            self.decision = decision
            name = decision["backend"]
            if name == "torch":
                return "torch", None
            return name, runtimes.build(name, source, self.precision, torch.get_num_threads())
        candidates = {}
        for name in runtimes.COMPILED:
            if self._stop:
                return "torch", None
            try:
                candidates[name] = runtimes.build(name, source, self.precision, torch.get_num_threads())
            except Exception as exc:  # noqa: BLE001 - auto uses what it can build
                log.info("%s: auto skips %s (%s: %s)", self.who, name, type(exc).__name__, exc)
        self.decision = measure(self.run_torch, self.torch_fn, candidates, example, self.precision)
        cache.record_decision(key, self.decision)
        name = self.decision["backend"]
        return name, candidates.get(name)


def used(*steps: RoutedStep) -> str:
    """The backends that have answered any of ``steps``, ``+``-joined by first use
    (``"torch"`` before any call): what computed a model's maps."""
    names = dict.fromkeys(name for step in steps for name in step.served)
    return "+".join(names) or "torch"


def measure(run_torch, torch_fp32, candidates: dict, example: torch.Tensor, precision: str) -> dict:
    """``auto``'s choice among torch (at ``precision``) and ``candidates``: the fastest,
    in median ms per item of interleaved calls, of those whose output is within
    :data:`TOLERANCE` of torch fp32's. Returns the record kept in the cache."""
    with torch.inference_mode():
        ref = torch_fp32(example)
        runs = {"torch": run_torch, **candidates}
        diffs, fine = {}, {}
        for name, fn in runs.items():
            try:
                diffs[name] = relative_difference(fn(example), ref)   # also the warm-up call
            except Exception as exc:  # noqa: BLE001 - a runner that fails is not chosen
                log.info("auto: %s failed (%s)", name, exc)
                continue
            if name == "torch" or diffs[name] <= TOLERANCE[precision]:
                fine[name] = fn
        times: dict[str, list[float]] = {name: [] for name in fine}
        for _ in range(ROUNDS):
            for name, fn in fine.items():
                t0 = time.perf_counter()
                fn(example)
                times[name].append(time.perf_counter() - t0)
    n = max(1, int(example.shape[0]))
    ms = {name: 1000.0 * statistics.median(ts) / n for name, ts in times.items()}
    best = min(ms, key=ms.__getitem__)
    return {"backend": best, "ms_per_item": {k: round(v, 3) for k, v in ms.items()},
            "relative_difference": {k: float(f"{v:.3g}") for k, v in diffs.items()},
            "precision": precision, "batch": n, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            # a busy machine can tip a close race: the load says how far to trust it (delete
            # decisions.json in the cache folder to measure again)
            "load_avg_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None}


@atexit.register
def _close_all() -> None:
    """At exit, let builds finish their current phase (a thread killed inside a native
    compiler can crash the interpreter's shutdown; the cache writes are atomic anyway)."""
    for step in list(_live):
        step.close(timeout=10.0)
