"""The viewer's costs per stage, in CPU seconds (steadier than wall time on a shared
machine): what the GUI thread spends to show a frame with the heads (``paintcost``) and
what the map worker spends per second of video at stride 1 (``mapcost``). Run through
``python -m benchmarks.bench_viewer paintcost FILE CKPTS...`` / ``mapcost FILE [FRAMES
[BATCH ...]]``, whose children and helpers these use; figures in benchmarks/README.md
(playback sections).
"""
from __future__ import annotations

import os

from benchmarks.bench_viewer import DEMO_MODELS, HEADS, _child_window, _pump, _wait, load


def child_paintcost(file: str, checkpoints: list[str], frames: int = 90, start: float = 5.0) -> dict:
    """The GUI thread's CPU per frame shown with the heads, on a clock of its own (thread CPU
    seconds: steadier than wall time on a shared machine): the maps of ``frames`` frames are
    computed first (paused), the frames decoded first, then each frame is shown as playback
    shows it (the controller's ``_show``: the frame, every head's map, titles) and the heads
    panel painted at once (``repaint``). ``show_ms`` + ``paint_ms`` per frame, medians. Alone:
    ``python -m benchmarks.bench_viewer paintcost FILE CKPTS...`` (``none``: the frame alone;
    ``fake``: heads whose maps cost nothing)."""
    import resource

    from model_core.media.frames import VideoReader

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_THREAD)
        return r.ru_utime + r.ru_stime

    app, win, c, n_heads = _child_window(file, checkpoints)
    _wait(lambda: c.track is not None and len(c.maps.models) == n_heads, 300)
    c.player.seek(start)
    i0 = c.player.index
    indices = list(range(i0, i0 + frames))
    # the maps of every frame (paused requests fill 4 s ahead: ask again further on)
    for i in range(i0, i0 + frames, 60):
        c.maps.want(i)
        _wait(lambda i=i: all(c.maps.ready_at(j) for j in range(i, min(i + 60, i0 + frames))), 300)
    _pump(0.5)
    with VideoReader(file) as r:
        imgs = [r.read_at_index(i) for i in indices]
    ready = sum(c.maps.ready_at(j) for j in indices) if n_heads else None
    show, paint = [], []
    for i, img in zip(indices, imgs):
        c.player.seek_index(i)          # the due frame (no timer runs: paused)
        t = cpu()
        c._show(i, img)
        t1 = cpu()
        win.heads.viewport().repaint()
        t2 = cpu()
        show.append(t1 - t)
        paint.append(t2 - t1)
    win.close()
    med = lambda xs: round(1000 * sorted(xs)[len(xs) // 2], 2)  # noqa: E731
    return {"frames": frames, "heads": n_heads, "show_ms_median": med(show), "paint_ms_median": med(paint),
            "show_plus_paint_ms_mean": round(1000 * (sum(show) + sum(paint)) / len(show), 2),
            "frames_with_maps": ready, "load": load()}



def map_cost(file: str, frames: int = 120, batches: tuple[int, ...] = (4, 8), heads: list[str] | None = None,
             backend: str | None = None) -> dict:
    """What the map child spends per second of video playing at stride 1, in process CPU
    seconds (all threads; steadier than wall time on a shared machine): decoding each frame
    at the heads' input size alone, then decoding + every head's map of every frame, per
    batch size. ``backend``: the heads' (default the viewer's, or ``AVSOL_BENCH_BACKEND``),
    compiled and warmed before timing. Alone: ``python -m benchmarks.bench_viewer mapcost
    FILE [FRAMES [BATCH ...]]``."""
    import functools
    import resource

    from model_core.inference.audio_sources import AudioSpec
    from model_core.inference.backends import DEFAULT_BACKEND
    from model_core.inference.engine import MapEngine, default_localizer
    from model_core.inference.frame_sources import FrameSpec
    from model_core.inference.map_cache import MapCache

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    heads = heads or [str(DEMO_MODELS / f"{h}.pt") for h in HEADS]
    backend = backend or os.environ.get("AVSOL_BENCH_BACKEND", DEFAULT_BACKEND)
    spec, audio = FrameSpec(file), AudioSpec()
    out: dict = {"file": file, "frames": frames, "heads": heads, "backend": backend, "load_before": load()}
    reader = spec.open()
    fps = 1.0 / max(reader.time_at(1) - reader.time_at(0), 1e-6)
    reader.read([0], 224)
    c0 = cpu()
    for i in range(1, 1 + frames):
        reader.read([i], 224)
    out["decode_cpu_s_per_video_s"] = round((cpu() - c0) / frames * fps, 3)
    reader.close()
    # playing, the engine takes the display decoder's full frames (HandedFrames): what the
    # display's own decode costs, and what is left to the engine (the reduction to 224 px)
    from model_core.inference.frame_sources import HandedFrames
    from model_core.media.frames import VideoReader

    store = HandedFrames()
    handed_spec = FrameSpec(file, store)
    taker = handed_spec.open()
    with VideoReader(file) as display:
        store.set_source(display.backend, display.rotation)
        display.read_at_index(0)
        decoding = taking = 0.0
        for i in range(1, 1 + frames):
            c0 = cpu()
            store.put(i, display.read_at_index(i))
            c1 = cpu()
            taker.read([i], 224)
            decoding, taking = decoding + c1 - c0, taking + cpu() - c1
    out["display_decode_cpu_s_per_video_s"] = round(decoding / frames * fps, 3)
    out["handed_read_cpu_s_per_video_s"] = round(taking / frames * fps, 3)
    out["handed_taken"] = store.taken
    taker.close()
    start = 300
    for b in batches:
        engine = MapEngine(MapCache(), functools.partial(default_localizer, backend=backend), b)
        for h in heads:
            engine.load(h)
        warm = list(range(start - b, start))
        engine.compute("v", spec, audio, warm, 1.0)
        for loc in engine.models.values():   # compiled before timing (torch: nothing to wait for)
            for step in (getattr(loc, "_visual", None), getattr(loc, "_audio", None)):
                if step is not None:
                    step.wait()
        engine.compute("v", spec, audio, [i - 32 for i in warm], 1.0)
        c0 = cpu()
        for i in range(start, start + frames, b):
            engine.compute("v", spec, audio, list(range(i, i + b)), 1.0)
        out[f"batch_{b}_cpu_s_per_video_s"] = round((cpu() - c0) / frames * fps, 3)
        # the same frames' maps from handed frames (the display's decode outside the timing)
        with VideoReader(file) as display:
            store.set_source(display.backend, display.rotation)
            engine.sources("v", handed_spec, audio)   # the engine's reader opened untimed
            engine.embeddings.clear()                  # the audio trunk paid again, as above
            spent = 0.0
            for i in range(start, start + frames, b):
                for j in range(i, i + b):
                    store.put(j, display.read_at_index(j))
                engine.cache.clear()
                c0 = cpu()
                engine.compute("v", handed_spec, audio, list(range(i, i + b)), 1.0)
                spent += cpu() - c0
        out[f"batch_{b}_handed_cpu_s_per_video_s"] = round(spent / frames * fps, 3)
        out["backend_used"] = sorted({str(loc.backend_used) for loc in engine.models.values()})
        engine.close()
        start += frames + 64
    out["load_after"] = load()
    return out
