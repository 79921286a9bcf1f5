"""The self-test's backend checks (``avsol_viewer.self_test.check_backends``): one map of the
demo frame per backend, each held to torch's map within 1e-5; a runtime the installation
lacks is ``skipped``, unless the bundle was built with it (``resources/bundle.json``), then
FAILED. The fast tests stand fake runtimes in for OpenVINO and ONNX Runtime (through the
backends' own builder table, so the routing, the background build and the wait are the
real ones); the slow one builds the installed runtimes themselves, twice, and checks that
the second start reads the compiled model from the cache."""
from __future__ import annotations

import io
import json
import re

import pytest

from avsol_viewer.constants import resources_dir
from avsol_viewer.self_test import MAP_TOLERANCE, SelfTest, check_backends, expected_backends
from model_core.inference.backends import runtimes

CLIP = resources_dir() / "demo" / "demo.mp4"


@pytest.fixture
def tiny(make_tiny_checkpoint):
    """The tests' tiny DNM network at a 64-pixel input and a 4 x 4 map: milliseconds a map."""
    return make_tiny_checkpoint(image_size=64, map_size=4)


class FakeRunner:
    """A compiled runtime's runner that runs the torch step itself, plus ``offset``."""

    def __init__(self, name: str, source, offset: float):
        self.name = name
        self.fn = getattr(source.net, source.method)
        self.offset = offset

    def __call__(self, x):
        return self.fn(x) + self.offset


def fake_builder(name: str, offset: float = 0.0, error: Exception | None = None):
    def build(source, precision, threads):
        if error is not None:
            raise error
        return FakeRunner(name, source, offset)

    return build


@pytest.fixture
def fakes(monkeypatch, tmp_path):
    """Fake builders for both compiled runtimes; returns a setter ``fakes(name, builder)``."""
    monkeypatch.setenv("AVSOL_CACHE", str(tmp_path / "cache"))
    for name in runtimes.COMPILED:
        monkeypatch.setitem(runtimes.BUILDERS, name, fake_builder(name))

    def set_builder(name, builder):
        monkeypatch.setitem(runtimes.BUILDERS, name, builder)

    return set_builder


def lines_of(checkpoint, expected=(), timeout_s=60.0) -> tuple[list[str], int]:
    out = io.StringIO()
    t = SelfTest(out)
    check_backends(t, checkpoint, CLIP, expected=expected, timeout_s=timeout_s)
    return out.getvalue().splitlines(), t.failures


def line(lines: list[str], backend: str) -> str:
    found = [ln for ln in lines if re.match(rf"^\w+ backend {backend}:", ln)]
    assert len(found) == 1, lines
    return found[0]


def test_one_map_per_backend_equal_to_torch(fakes, tiny):
    """Runners that compute exactly torch's step: each map equals torch's (difference 0)."""
    lines, failures = lines_of(tiny, expected=runtimes.COMPILED)
    assert failures == 0, lines
    assert len(lines) == 1 + len(runtimes.COMPILED), lines
    assert line(lines, "torch").startswith("ok backend torch: 4x4 map of the frame at 1.00 s by dnm.pt, fp32")
    for name in runtimes.COMPILED:
        assert line(lines, name).startswith(f"ok backend {name}: map equals torch's to 0.0e+00 (limit 1e-05;")


def test_a_backend_whose_map_differs_fails(fakes, tiny):
    """0.05 added to every trunk output moves the map far beyond 1e-5: FAILED, with the figure."""
    fakes("onnxruntime", fake_builder("onnxruntime", offset=0.05))
    lines, failures = lines_of(tiny)
    assert failures == 1, lines
    assert line(lines, "openvino").startswith("ok backend openvino:")
    bad = line(lines, "onnxruntime")
    assert bad.startswith("FAILED backend onnxruntime: map differs from torch's by "), bad
    assert float(bad.split(" by ")[1].split(" ")[0]) > MAP_TOLERANCE


def test_missing_runtime_is_skipped_in_a_clone_and_fails_in_its_bundle(fakes, tiny, monkeypatch):
    real = runtimes.runtime_version

    def version(name):
        if name == "openvino":
            raise runtimes.BackendUnavailable("openvino cannot be imported (ModuleNotFoundError: no)")
        return real(name)

    monkeypatch.setattr(runtimes, "runtime_version", version)
    lines, failures = lines_of(tiny)
    assert failures == 0, lines
    assert line(lines, "openvino") == ("skipped backend openvino: not installed (openvino cannot be "
                                       "imported (ModuleNotFoundError: no))")
    assert line(lines, "onnxruntime").startswith("ok backend onnxruntime:")

    lines, failures = lines_of(tiny, expected=("openvino", "onnxruntime"))
    assert failures == 1, lines
    assert line(lines, "openvino").startswith("FAILED backend openvino: not installed (")
    assert line(lines, "openvino").endswith("(this bundle was built with it)")


def test_a_runtime_that_cannot_build_says_why(fakes, tiny):
    """The build's own error reaches the line (the engine's warning, captured), and torch's
    map is not passed off as the runtime's."""
    fakes("openvino", fake_builder("openvino", error=RuntimeError("no CPU plugin")))
    lines, failures = lines_of(tiny)
    assert failures == 0, lines
    skipped = line(lines, "openvino")
    assert skipped.startswith("skipped backend openvino: unavailable: ") and "no CPU plugin" in skipped, skipped
    lines, failures = lines_of(tiny, expected=("openvino",))
    assert failures == 1 and line(lines, "openvino").startswith("FAILED backend openvino: unavailable: ")


def test_expected_backends(tmp_path):
    assert expected_backends(tmp_path) == ()  # a clone: no bundle.json
    (tmp_path / "bundle.json").write_text(json.dumps({"variant": "cpu", "backends": ["openvino"]}))
    assert expected_backends(tmp_path) == ("openvino",)
    (tmp_path / "bundle.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"bundle\.json: unreadable \(JSONDecodeError"):
        expected_backends(tmp_path)
    (tmp_path / "bundle.json").write_text(json.dumps({"backends": "openvino"}))
    with pytest.raises(ValueError, match="not a list of names"):
        expected_backends(tmp_path)


@pytest.mark.slow
def test_installed_runtimes_build_then_load_from_the_cache(monkeypatch, tiny, tmp_path):
    """The real runtimes of this environment: the first check exports and compiles, the second
    (same cache folder, a new model as at the next start) reads OpenVINO's compiled blob, and
    both maps equal torch's to 1e-5."""
    present = []
    for name in runtimes.COMPILED:
        try:
            runtimes.runtime_version(name)
            present.append(name)
        except runtimes.BackendUnavailable:
            pass
    if not present:
        pytest.skip("no compiled runtime installed")
    monkeypatch.setenv("AVSOL_CACHE", str(tmp_path / "cache"))
    first, failures = lines_of(tiny, expected=tuple(present), timeout_s=240)
    assert failures == 0, first
    second, failures = lines_of(tiny, expected=tuple(present), timeout_s=240)
    assert failures == 0, second
    # the first runtime checked exports the ONNX file the other reads; OpenVINO compiles it
    assert "; built now: " in line(first, present[0]) and "export" in line(first, present[0]), first
    if "openvino" in present:
        assert "compile:openvino" in line(first, "openvino"), first
    for name in present:
        assert line(first, name).startswith(f"ok backend {name}: map equals torch's to "), first
        assert line(second, name).endswith(f"; from the cache: load:{name})"), second
