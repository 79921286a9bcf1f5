"""``avsol synth OUT --videos N --seed S [--classes K] ...`` (SPEC 6, 9).

Writes a seeded synthetic AVE-like set: ``OUT/videos/*.mp4``, ``OUT/avsol-e.json``,
``OUT/Annotations.txt``, ``OUT/trainSet.txt``, ``OUT/valSet.txt``, ``OUT/testSet.txt``
(and ``OUT/synth-plan.json``, the hidden plan). Same arguments, same output, whatever
``--workers``. Prints one summary line; bad options exit 2 with a one-line message.
"""
from __future__ import annotations

import argparse
import re


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected N or WxH (pixels), got {text!r}")
    w = int(m.group(1))
    return w, int(m.group(2)) if m.group(2) else w


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "synth",
        help="write a synthetic audio-visual data set (AVE + AVSOL-E formats)",
        description=(
            "Write a seeded synthetic data set: videos of procedurally drawn objects, one of "
            "which sounds (its class's sound) during event segments, with silent objects of "
            "other classes and background segments (silence, noise or an off-screen class)."),
    )
    parser.add_argument("out", metavar="OUT", help="folder to write the set into")
    parser.add_argument("--videos", type=int, required=True, help="number of videos")
    parser.add_argument("--seed", type=int, required=True, help="random seed (same seed, same set)")
    parser.add_argument("--classes", type=int, default=8, help="number of classes K, 1..28 (default 8)")
    parser.add_argument("--size", type=_size, default=(224, 224), metavar="N|WxH",
                        help="frame size in pixels, square N or WxH, even (default 224)")
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate (default 25)")
    parser.add_argument("--duration", type=int, default=10,
                        help="video length in whole seconds = number of 1 s segments (default 10)")
    parser.add_argument("--motion", type=float, default=0.3,
                        help="object drift, 0 (still) .. 1 (default 0.3)")
    parser.add_argument("--noise", type=float, default=0.1,
                        help="pixel and audio noise, 0 .. 1 (default 0.1)")
    parser.add_argument("--silent-max", type=int, default=3,
                        help="most silent objects per video, 0..3 (default 3)")
    parser.add_argument("--background-prob", type=float, default=0.25,
                        help="chance that a segment is background (default 0.25)")
    parser.add_argument("--sizes", default="benchmark", metavar="MIX",
                        help="object size mix: 'benchmark' (default; sounding objects sized like "
                             "VGG-SS/Flickr boxes, ~58 %% of them over a quarter of the frame) or 'small' "
                             "(the mix of earlier sets, ~19 %% over a quarter)")
    parser.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    parser.add_argument("--force", action="store_true",
                        help="replace the synthetic set already in OUT (its stale videos are removed); "
                             "a non-empty folder that is not a set of avsol synth is never written into")
    parser.set_defaults(func=run)
    return parser


#: Written into OUT before the first video, so that a killed run's folder is still known
#: as one of ours (``synth-plan.json`` comes last).
MARKER = ".avsol-synth"


def _is_own_set(folder) -> bool:
    import json

    from model_core.data_layout import PLAN_FILE

    if (folder / MARKER).is_file():
        return True
    try:
        return json.loads((folder / PLAN_FILE).read_text()).get("generator") == "avsol synth"
    except (OSError, ValueError, AttributeError):
        return False


def _claim(args: argparse.Namespace):
    """OUT: a new or empty folder, or (with --force) one of our own sets; locked; cleaned."""
    from model_core.errors import InputError
    from model_core.outputs.checks import check_output, remove_stale_temps
    from model_core.outputs.lock import OutputLock

    out = check_output(args.out, "OUT", folder_ok=True)
    OutputLock(out, "OUT").acquire()
    if any(out.iterdir()):
        if not _is_own_set(out):
            raise InputError(out, "is not empty and holds no set written by avsol synth: refusing to "
                                  "write into it (choose a new or empty folder)")
        if not args.force:
            raise InputError(out, "already holds a synthetic set (perhaps an unfinished one): "
                                  "add --force to replace it")
    remove_stale_temps([], [out, out / "videos"])
    (out / MARKER).write_text("written by avsol synth\n")
    return out


def _remove_stale_videos(out, names) -> None:
    """After a --force rerun: the videos of the old set that the new one does not list."""
    folder = out / "videos"
    for p in folder.iterdir() if folder.is_dir() else ():
        if p.is_file() and p.name not in names:
            p.unlink()


def interrupted_hint(args) -> str:
    return ("the set is unfinished (each video and file is whole); rerun the same command with "
            "--force to write it again")


def run(args: argparse.Namespace) -> int:
    from model_core.errors import InputError
    from model_core.synth.generate import generate
    from model_core.synth.plan import SynthConfig

    config = SynthConfig(videos=args.videos, seed=args.seed, classes=args.classes,
                         width=args.size[0], height=args.size[1], fps=args.fps,
                         duration=args.duration, motion=args.motion, noise=args.noise,
                         silent_max=args.silent_max, background_prob=args.background_prob, sizes=args.sizes)
    problems = config.problems()
    if args.workers < 1:
        problems.append(f"--workers must be >= 1, got {args.workers}")
    if problems:
        raise InputError(None, "; ".join(problems))
    from model_core.jobs.events import Progress
    from model_core.jobs.sinks import HumanSink

    out = _claim(args)
    try:
        with HumanSink("synth", "videos", total=config.videos) as sink:
            result = generate(out, config, workers=args.workers,
                              progress=lambda d, t: sink(Progress(done=d, total=t)))
    except OSError as exc:
        raise InputError(exc.filename or args.out, f"cannot write: {exc.strerror or exc}") from None
    _remove_stale_videos(out, {v["video"] for v in result.document["videos"]})
    n_bg = sum(not s["event"] for v in result.document["videos"] for s in v["segments"])
    n_seg = config.videos * config.duration
    print(f"wrote {config.videos} videos ({result.media_seconds:g} s of media, {config.classes} "
          f"classes, {n_bg}/{n_seg} background segments) to {args.out} in "
          f"{result.elapsed_s:.1f} s")
    return 0
