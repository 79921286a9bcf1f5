"""Write a synthetic AVE-like data set (SPEC 6): videos, AVSOL-E JSON, AVE annotations.

``generate(out_dir, config, workers)`` makes ``OUT/videos/synth_NNNNN.mp4`` (H.264 + AAC,
16 kHz mono), ``OUT/avsol-e.json``, ``OUT/Annotations.txt``, the three split files and
``OUT/synth-plan.json`` (the generator's settings, class recipes and each video's hidden
plan: what every background segment holds, the off-screen class, object sizes; the
AVSOL-E reader rejects unknown keys, so this lives beside it). Each video depends only on
(config, index), so the output is the same with any number of workers.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from model_core import data_layout as layout
from model_core.atomic import write_json, write_text
from model_core.synth import annotations as ann
from model_core.synth.classes import make_classes
from model_core.synth.plan import (STREAM_AUDIO, STREAM_BACKGROUND, STREAM_PIXEL_NOISE,
                                   SynthConfig, VideoPlan, plan_video, video_rng)

PLAN_FILE = layout.PLAN_FILE
SPLIT_FILES = layout.SPLIT_FILES
PIXEL_NOISE_SIGMA = 20.0   # grey levels of pixel noise at --noise 1


@dataclass(frozen=True)
class SynthResult:
    """What :func:`generate` made.

    Attributes
    ----------
    out_dir : the set's folder.
    document : the AVSOL-E v1 document written to ``avsol-e.json``.
    plans : per video, its hidden plan (as written to ``synth-plan.json``).
    splits : split name -> video names.
    media_seconds : total duration of the videos.
    elapsed_s : wall time of the run.
    """

    out_dir: Path
    document: dict
    plans: list[dict]
    splits: dict[str, list[str]]
    media_seconds: float
    elapsed_s: float


def render_video(config: SynthConfig, plan: VideoPlan, path: str | os.PathLike) -> list[tuple[int, int, int, int]]:
    """Draw and encode the video of ``plan`` at ``path``; return its sprites' extents."""
    from model_core.media.writer import write_video
    from model_core.synth.scene import make_background, render_frames, render_sprite
    from model_core.synth.sound import SAMPLE_RATE, render_soundtrack

    classes = make_classes(config.classes)
    sprites = [render_sprite(classes[o.class_index], o.side) for o in plan.objects]
    background = make_background(video_rng(config.seed, plan.index, STREAM_BACKGROUND),
                                 config.width, config.height)
    n_frames = int(round(config.duration * config.fps))
    frames = render_frames(background, plan.objects, sprites, n_frames, config.fps,
                           PIXEL_NOISE_SIGMA * config.noise,
                           video_rng(config.seed, plan.index, STREAM_PIXEL_NOISE))
    offscreen = classes[plan.offscreen] if plan.offscreen is not None else None
    audio = render_soundtrack(plan.kinds, classes[plan.category], offscreen, plan.gain,
                              config.noise, video_rng(config.seed, plan.index, STREAM_AUDIO),
                              SAMPLE_RATE)
    write_video(path, frames, config.fps, audio=audio, sample_rate=SAMPLE_RATE,
                size=(config.width, config.height), **encoder_options())
    return [s.extent for s in sprites]


def encoder_options() -> dict:
    """Keyword arguments that make :func:`write_video` deterministic.

    libx264 with its default slice threads gave two different bitstreams (and so
    different decoded frames) for the same frames fed from a generator, 5 runs in 12 for a
    224 px clip; one encoder thread per video is deterministic by construction, and the
    parallelism comes from ``--workers``.
    """
    return {"threads": 1}


def plan_summary(plan: VideoPlan, extents, class_names: list[str], config: SynthConfig) -> dict:
    """The hidden plan of one video as plain JSON data."""
    area = config.width * config.height
    objects = []
    for j, (obj, ext) in enumerate(zip(plan.objects, extents)):
        d = asdict(obj)
        d.update(label=class_names[obj.class_index], sounding=j == plan.sounding,
                 extent=list(ext),
                 area_share=round((ext[2] - ext[0]) * (ext[3] - ext[1]) / area, 5))
        objects.append(d)
    return {"video": plan.name, "category": class_names[plan.category],
            "kinds": list(plan.kinds), "gain": plan.gain,
            "offscreen": None if plan.offscreen is None else class_names[plan.offscreen],
            "objects": objects}


def make_one(config: SynthConfig, index: int, videos_dir: str) -> tuple[dict, dict]:
    """Plan, render and write video ``index``; return (AVSOL-E entry, plan summary).

    Top-level and argument-only so worker processes can run it.
    """
    names = [c.name for c in make_classes(config.classes)]
    plan = plan_video(config, index)
    extents = render_video(config, plan, Path(videos_dir) / plan.name)
    entry = ann.video_entry(plan, extents, names, config.width, config.height)
    return entry, plan_summary(plan, extents, names, config)


def generate(out_dir: str | os.PathLike, config: SynthConfig, workers: int = 1,
             progress: Callable[[int, int], None] | None = None) -> SynthResult:
    """Write the synthetic set described by ``config`` into ``out_dir``.

    Parameters
    ----------
    out_dir : folder to create or fill (existing files of the same names are replaced).
    config : the set's settings; must be valid (see :meth:`SynthConfig.problems`).
    workers : processes rendering videos in parallel (1 = in this process).
    progress : called with (videos done, videos total) after each video.

    Raises
    ------
    ValueError
        If ``config`` is invalid.
    """
    problems = config.problems()
    if problems:
        raise ValueError("; ".join(problems))
    t0 = time.perf_counter()
    out = Path(out_dir)
    videos_dir = out / layout.SYNTH_VIDEOS
    videos_dir.mkdir(parents=True, exist_ok=True)
    indices = range(config.videos)
    results: list[tuple[dict, dict]] = []
    if workers <= 1 or config.videos == 1:
        for i in indices:
            results.append(make_one(config, i, str(videos_dir)))
            if progress:
                progress(len(results), config.videos)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: safe whatever threads the caller (a GUI, torch) has started.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, config.videos), mp_context=ctx) as pool:
            futures = [pool.submit(make_one, config, i, str(videos_dir)) for i in indices]
            try:
                for fut in futures:
                    results.append(fut.result())
                    if progress:
                        progress(len(results), config.videos)
            except BaseException:  # Ctrl-C / SIGTERM: the videos being written finish, no others start
                pool.shutdown(wait=True, cancel_futures=True)
                raise

    classes = make_classes(config.classes)
    names = [c.name for c in classes]
    entries = [r[0] for r in results]
    plans = [r[1] for r in results]
    document = ann.avsol_e_document(names, entries)
    write_json(out / layout.AVSOL_E_FILE, document)
    lines_by_video = {e["video"]: ann.ave_lines([e]) for e in entries}
    write_text(out / layout.AVE_ANNOTATIONS, ann.ave_text([line for e in entries for line in lines_by_video[e["video"]]]))
    split_idx = ann.split_indices([e["category"] for e in entries], config.seed)
    splits = {}
    for split, fname in SPLIT_FILES.items():
        chosen = [entries[i]["video"] for i in split_idx[split]]
        splits[split] = chosen
        write_text(out / fname, ann.ave_text([line for v in chosen for line in lines_by_video[v]]))
    write_json(out / PLAN_FILE, {
        "generator": "avsol synth", "config": config.to_dict(),
        "classes": [asdict(c) for c in classes], "videos": plans})
    return SynthResult(out_dir=out, document=document, plans=plans, splits=splits,
                       media_seconds=float(config.videos * config.duration),
                       elapsed_s=time.perf_counter() - t0)
