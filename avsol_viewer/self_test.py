"""``avsol-viewer --self-test``: does this installation (a clone, a wheel, a frozen bundle) work?

What a user handed a bundle runs first, and what ``packaging/build.sh`` runs on what it
built: an offscreen window opens the bundled demo clip (``resources/demo/demo.mp4``),
loads the bundled checkpoints (``resources/models/{avc,cls,dnm}.pt``), waits for one map
per head of one frame (the same headless wait and render as ``--screenshot``,
:mod:`avsol_viewer.headless`), saves one screenshot and checks that each head's view in it
differs from the plain frame beside it (the overlays were drawn). Then one map of that
frame per inference backend (:func:`check_backends`): torch, and each compiled runtime of
:mod:`model_core.inference.backends` that is installed, each map held equal to torch's to
:data:`MAP_TOLERANCE` in fp32. One line per check, ``ok ...``, ``FAILED ...`` or
``skipped ...`` (a runtime this installation does not have and need not have); exit 0
when none failed, 1 otherwise.

Which runtimes must be there: those a frozen bundle was built with, as its spec recorded
them in ``resources/bundle.json`` (:func:`expected_backends`); a clone expects none, so a
runtime missing from it is reported, not failed.

Resources are found next to the code (:func:`avsol_viewer.constants.resources_dir`: a frozen
app's ``sys._MEIPASS``, else the clone's ``resources``), never in the working directory.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: Time of the frame checked (s): inside the demo clip's first annotated segment.
AT_S = 1.0
#: Mean absolute difference (0-255, RGB) below which a head view counts as "no overlay";
#: an overlay at the default 60 % opacity changes the frame by tens of levels.
MIN_OVERLAY_DIFF = 3.0
#: Largest |map - torch's map| a compiled backend may show in fp32 (maps are in [0, 1]):
#: the bound ``auto`` holds a backend to before choosing it.
MAP_TOLERANCE = 1e-5
#: The head whose map each backend computes (the full model: audio and visual trunks).
BACKEND_HEAD = "dnm"
#: What a frozen bundle was built with, in its resources folder (written by packaging/avsol.spec).
BUNDLE_FILE = "bundle.json"


class SelfTest:
    """Collects the check lines; ``ok`` / ``failed`` print at once (a hang shows where)."""

    def __init__(self, out=sys.stdout):
        self.out = out
        self.failures = 0

    def ok(self, what: str) -> None:
        print(f"ok {what}", file=self.out, flush=True)

    def failed(self, what: str) -> None:
        self.failures += 1
        print(f"FAILED {what}", file=self.out, flush=True)

    def skipped(self, what: str) -> None:
        """Reported, not failed: something this installation need not have."""
        print(f"skipped {what}", file=self.out, flush=True)


def _image_array(image) -> np.ndarray:
    """A QImage as an (h, w, 3) uint8 array."""
    from PySide6.QtGui import QImage

    img = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    return np.frombuffer(img.constBits(), np.uint8, bpl * h).reshape(h, bpl)[:, : w * 3].reshape(h, w, 3).copy()


def view_rects(win) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of each head view's image area in window pixels, in display order
    (side by side: the plain frame first, then one per model)."""
    heads = win.heads
    rects = []
    for v in heads.views:
        r = heads.mapFromScene(v.vb.sceneBoundingRect()).boundingRect()
        top_left = heads.mapTo(win, r.topLeft())
        rects.append((top_left.x(), top_left.y(), r.width(), r.height()))
    return rects


def overlay_differences(shot: np.ndarray, rects, ratio: float = 1.0) -> list[float]:
    """Mean |difference| of each head view (``rects[1:]``) from the plain frame (``rects[0]``),
    over the size they share."""
    def crop(rect):
        x, y, w, h = (int(round(c * ratio)) for c in rect)
        return shot[max(y, 0): y + h, max(x, 0): x + w].astype(np.int16)

    plain = crop(rects[0])
    diffs = []
    for rect in rects[1:]:
        head = crop(rect)
        h, w = min(plain.shape[0], head.shape[0]), min(plain.shape[1], head.shape[1])
        diffs.append(float(np.abs(head[:h, :w] - plain[:h, :w]).mean()) if h and w else 0.0)
    return diffs


def expected_backends(res: Path) -> tuple[str, ...]:
    """The compiled runtimes this installation must have: those a frozen bundle was built
    with (``backends`` in its ``resources/bundle.json``); none for a clone, which has no
    such file. ``ValueError`` (one line naming the file) when the file is unreadable."""
    path = res / BUNDLE_FILE
    if not path.is_file():
        return ()
    try:
        names = json.loads(path.read_text(encoding="utf-8"))["backends"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise TypeError("'backends' is not a list of names")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: unreadable ({type(exc).__name__}: {exc})") from None
    return tuple(names)


class _Reasons(logging.Handler):
    """Keeps the backends' warning lines (why a runtime fell back to torch) for the check's line."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _steps(model) -> tuple:
    """The model's routed steps (:class:`~model_core.inference.backends.routed.RoutedStep`):
    what the backend runs, and what says which backend answered."""
    return tuple(s for s in (getattr(model, "_visual", None), getattr(model, "_audio", None)) if s is not None)


def check_backends(t: SelfTest, checkpoint: Path, clip: Path, at_s: float = AT_S,
                   expected: tuple[str, ...] = (), timeout_s: float = 120.0) -> None:
    """One map of ``clip``'s frame at ``at_s`` by ``checkpoint``'s model per backend, one
    line each: torch's (the reference), then each compiled runtime's, built as the app
    builds it (exported, compiled, or read from the compiled-model cache), waited for, and
    held to :data:`MAP_TOLERANCE` of torch's map in fp32. A runtime that is not installed,
    or cannot build or run here, is ``skipped`` unless it is in ``expected`` (then FAILED)."""
    from model_core.inference.backends import runtimes
    from model_core.inference.pipeline import localize_many
    from model_core.models.loading import load_model

    def one_map(model) -> np.ndarray:
        return localize_many([model], str(clip), [at_s])[model.name].maps[0]

    def missing(name: str, why: str) -> None:
        if name in expected:
            t.failed(f"backend {name}: {why} (this bundle was built with it)")
        else:
            t.skipped(f"backend {name}: {why}")

    deadline = time.monotonic() + timeout_s
    ref = load_model(checkpoint, device="cpu", name=f"{checkpoint.stem}-torch", backend="torch", precision="fp32")
    ref_map = one_map(ref)
    t.ok(f"backend torch: {ref_map.shape[1]}x{ref_map.shape[0]} map of the frame at {at_s:.2f} s "
         f"by {checkpoint.name}, fp32 (torch {runtimes.runtime_version('torch')}, the reference)")
    reasons = _Reasons()
    log = logging.getLogger("avsol.backends")
    log.addHandler(reasons)
    try:
        for name in runtimes.COMPILED:
            try:
                version = runtimes.runtime_version(name)
            except runtimes.BackendUnavailable as exc:
                missing(name, f"not installed ({exc})")
                continue
            reasons.lines.clear()
            before = runtimes.COUNTS.copy()
            model = load_model(checkpoint, device="cpu", name=f"{checkpoint.stem}-{name}", backend=name,
                               precision="fp32")
            steps = _steps(model)
            one_map(model)  # torch answers while the runtime builds in the background
            if not all(s.wait(max(0.0, deadline - time.monotonic())) for s in steps):
                missing(name, f"not built within {timeout_s:g} s")
                continue
            got = one_map(model) if all(s.active == name for s in steps) else None
            if got is None or not all(s.active == name and name in s.served for s in steps):
                why = reasons.lines[-1] if reasons.lines else "it did not take over from torch"
                missing(name, f"unavailable: {why}")
                continue
            events = sorted(k for k in runtimes.COUNTS if runtimes.COUNTS[k] > before[k])
            built = "built now" if any(k == "export" or k.startswith("compile:") for k in events) else "from the cache"
            diff = float(np.abs(got - ref_map).max())
            how = (f"limit {MAP_TOLERANCE:g}; {name} {version.split('-')[0]}, fp32; "
                   f"{built}{': ' + ', '.join(events) if events else ''}")
            if diff <= MAP_TOLERANCE:
                t.ok(f"backend {name}: map equals torch's to {diff:.1e} ({how})")
            else:
                t.failed(f"backend {name}: map differs from torch's by {diff:.1e} ({how})")
    finally:
        log.removeHandler(reasons)


def run(app, win, timeout_s: float = 180.0, out=sys.stdout) -> int:
    """The whole self-test in a shown (offscreen) window; returns the exit status."""
    from PySide6.QtGui import QImage

    from avsol_viewer.constants import DEMO_HEADS, resources_dir
    from avsol_viewer.headless import render_screenshot
    from avsol_viewer.panels.display_panel import DisplayOptions

    t = SelfTest(out)
    res = resources_dir()
    clip = res / "demo" / "demo.mp4"
    ckpts = [res / "models" / f"{h}.pt" for h in DEMO_HEADS]
    missing = [str(p) for p in (clip, *ckpts) if not p.is_file()]
    if missing:
        t.failed(f"resources: missing {', '.join(missing)} (resources folder {res})")
        return 1
    t.ok(f"resources: demo clip and {len(ckpts)} checkpoints in {res}")
    import PySide6

    t.ok(f"window: Qt {PySide6.__version__}, platform {app.platformName()}")

    # the defaults (three heads beside the plain frame, 60 % opacity), not the user's settings,
    # but the per-frame scale: the check is that every head's overlay is drawn, and on the
    # default absolute scale a head whose map is low (a quiet frame) is rightly near-invisible
    win.set_options(DisplayOptions(layout="side_by_side", scale="per_frame", scale_chosen=True))
    with tempfile.TemporaryDirectory(prefix="avsol-self-test ") as tmp:
        shot_path = Path(tmp) / "self-test.png"
        with contextlib.redirect_stdout(io.StringIO()):  # its "screenshot saved to <temp file>"
            code = render_screenshot(app, win, str(clip), [str(p) for p in ckpts], AT_S, str(shot_path),
                                     timeout_s)
        if code != 0:
            t.failed(f"maps: the headless render of {clip.name} exited {code} (message above)")
            return 1
        c = win.controller
        index = c.player.index
        models = list(c.maps.models)
        if [m.head for m in models] != list(DEMO_HEADS):
            t.failed(f"models: loaded {[m.head for m in models]}, expected {list(DEMO_HEADS)}")
        for m in models:
            entry, _ = c.maps.entry(m.key, index)
            if entry is None:
                t.failed(f"inference {m.head}: no map of frame {index}")
            elif not np.all(np.isfinite(entry.map)) or float(np.ptp(entry.map)) <= 0:
                t.failed(f"inference {m.head}: map of frame {index} is constant or not finite")
            else:
                h, w = entry.map.shape
                t.ok(f"inference {m.head}: {w}x{h} map of frame {index} ({entry.time:.2f} s), "
                     f"values {entry.map.min():.3f}..{entry.map.max():.3f}, p(avc) {entry.p_avc:.3f}")
        image = QImage(str(shot_path))
        if image.isNull():
            t.failed(f"screenshot: {shot_path.name} was not written or does not load")
            return 1
        rects = view_rects(win)
        ratio = image.width() / max(win.width(), 1)
        diffs = overlay_differences(_image_array(image), rects, ratio)
        shown = len(rects) - 1
        if shown != len(models) or not diffs or min(diffs) < MIN_OVERLAY_DIFF:
            t.failed(f"screenshot: {image.width()}x{image.height()}, {shown} head views for {len(models)} "
                     f"models, mean |view - plain frame| {', '.join(f'{d:.1f}' for d in diffs)} "
                     f"(need >= {MIN_OVERLAY_DIFF:g} each: overlays missing)")
        else:
            t.ok(f"screenshot: {image.width()}x{image.height()}, overlays in {shown} head views "
                 f"(mean |view - plain frame| {', '.join(f'{d:.1f}' for d in diffs)})")
    try:
        expected = expected_backends(res)
    except ValueError as exc:
        t.failed(f"bundle: {exc}")
        expected = ()
    check_backends(t, res / "models" / f"{BACKEND_HEAD}.pt", clip, AT_S, expected, timeout_s)
    if t.failures:
        print(f"self-test: {t.failures} check(s) FAILED", file=out, flush=True)
        return 1
    print("self-test: all checks passed", file=out, flush=True)
    return 0
