"""``avsol eval`` with a compiled backend writes torch's report: every map to 1e-5 and every
other figure of every item to 1e-5 (fp32), so the faster runtime changes nothing a reader
of the report can see. The runtime is built and warmed up before the run, so the
evaluation's maps come from it, not from torch while it compiles."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest

from model_core.inference.backends import runtimes

pytestmark = pytest.mark.filterwarnings("ignore:You are using the legacy TorchScript:DeprecationWarning",
                                        "ignore:The feature will be removed:DeprecationWarning")


def _installed(name: str) -> bool:
    try:
        runtimes.runtime_version(name)
    except runtimes.BackendUnavailable:
        return False
    return True


def _rows(report: dict) -> dict:
    return {(r["video"], r["head"], round(r["time"], 6)): r for r in report["items"]}


@pytest.mark.parametrize("backend", runtimes.COMPILED)
def test_eval_with_a_compiled_backend_gives_torchs_report(backend, synth_set, tmp_path):
    if not _installed(backend):
        pytest.skip(f"{backend} is not installed")
    from tiny_models import save_tiny

    from model_core.evaluation.runner import EvalOptions, run_eval
    from model_core.inference import Localizer
    from model_core.metrics.items import decode_map

    data = synth_set(seed=5, videos=2, classes=2)
    ckpt = save_tiny(tmp_path / "head.pt", image_size=64, map_size=8)
    opts = EvalOptions(device="cpu", batch_size=4)
    ref = run_eval(data, [ckpt], tmp_path / "torch.json", opts, err=io.StringIO(),
                   localizers=[Localizer(ckpt, device="cpu", batch_size=4)]).report
    loc = Localizer(ckpt, device="cpu", batch_size=4, backend=backend)
    loc.warmup()                               # starts the build of both trunks
    assert loc._visual.wait(120) and loc._audio.wait(120), "the backend's build did not finish"
    loc._visual.served.clear()
    loc._audio.served.clear()
    loc.name = "head"
    got = run_eval(data, [ckpt], tmp_path / f"{backend}.json", opts, err=io.StringIO(), localizers=[loc]).report

    assert loc.backend_used == backend         # the runtime computed every map, torch none
    assert got["meta"]["checkpoints"][0]["backend"] == backend
    a, b = _rows(got), _rows(ref)
    assert a.keys() == b.keys() and len(a) >= 6
    assert sum(r["status"] == "scored" for r in a.values()) == len(a)
    for k, row in a.items():
        other = b[k]
        m, n = decode_map(row["map"]), decode_map(other["map"])
        assert np.abs(m - n).max() <= 1e-5, k
        for name, v in row.items():
            w = other[name]
            if isinstance(v, float) and isinstance(w, float) and math.isfinite(v):
                assert abs(v - w) <= 1e-5, (k, name, v, w)
            elif not isinstance(v, float) and name not in ("map",):
                assert v == w, (k, name)
    assert got["heads"].keys() == ref["heads"].keys()
    for head, summary in got["heads"].items():
        for name, v in summary.items():       # the headline figures: cIoU@0.5, AUC, pointing...
            if isinstance(v, float) and math.isfinite(v):
                assert abs(v - ref["heads"][head][name]) <= 1e-5, (head, name)
            elif isinstance(v, int):
                assert v == ref["heads"][head][name], (head, name)
