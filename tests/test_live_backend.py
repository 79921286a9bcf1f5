"""Live mode runs its maps through the viewer's ``--backend`` option: the models it runs are
the ones the map worker loaded through the window's localizer factory, the factory
``avsol-viewer`` builds from ``--backend`` / ``--precision`` (``avsol_viewer.app``)."""
from __future__ import annotations

import functools
import sys
import threading


def test_live_mode_runs_the_models_built_through_the_backend_option(make_viewer, make_tiny_checkpoint,
                                                                       other_clip):
    from model_core.inference.engine import default_localizer

    ckpt = make_tiny_checkpoint()
    # what avsol_viewer.app gives the controller for `--backend onnxruntime --precision fp32`
    v = make_viewer(functools.partial(default_localizer, backend="onnxruntime", precision="fp32"))
    v.win.load_checkpoint(ckpt)
    v.qtbot.waitUntil(lambda: len(v.c.maps.models) == 1, timeout=30000)
    live = v.win.live
    live.start(str(other_clip), str(other_clip))
    try:
        v.qtbot.waitUntil(lambda: live.shown >= 1, timeout=30000)
        loop = live.session.loop
        loaded = v.c.maps.worker.loaded_localizers()
        assert set(loop.localizers) == set(loaded) and len(loaded) == 1
        assert all(loop.localizers[k] is loaded[k] for k in loaded)   # no second copy of the model
        (loc,) = loop.localizers.values()
        assert (loc.backend, loc.precision) == ("onnxruntime", "fp32")
    finally:
        live.stop()
    # the first maps started the backend's builds in the background: let them end here,
    # not during the next test
    assert loc._visual.wait(120) and loc._audio.wait(120)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("avsol-live")]


def test_the_viewer_builds_its_factory_from_the_backend_option(monkeypatch):
    """``avsol-viewer --backend X --precision Y`` hands the controller the engine's
    ``default_localizer`` with that backend and precision (the factory live mode's models
    come from)."""
    from avsol_viewer import app, controller

    got = {}

    class Stop(Exception):
        pass

    def capture(localizer_factory=None, **kw):
        got["factory"] = localizer_factory
        raise Stop

    monkeypatch.setattr(controller, "ViewerController", capture)
    monkeypatch.setattr(app, "headless_platform", lambda: False)   # leave Qt's message handler alone
    switch = sys.getswitchinterval()
    try:
        app.main(["--backend", "onnxruntime", "--precision", "bf16"])
    except Stop:
        pass
    finally:
        sys.setswitchinterval(switch)                              # the process's, for the next tests
    f = got["factory"]
    from model_core.inference.engine import default_localizer

    assert f.func is default_localizer and f.keywords == {"backend": "onnxruntime", "precision": "bf16"}
