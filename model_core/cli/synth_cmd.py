"""``avsol synth OUT --videos N --seed S [--classes K] ...`` (SPEC 6, 9).

Writes a seeded synthetic AVE-like set: ``OUT/videos/*.mp4``, ``OUT/avsol-e.json``,
``OUT/Annotations.txt``, ``OUT/trainSet.txt``, ``OUT/valSet.txt``, ``OUT/testSet.txt``
(and ``OUT/synth-plan.json``, the hidden plan). Same arguments, same output, whatever
``--workers``. Prints one summary line; bad options exit 2 with a one-line message. With
``--jsonl`` the job protocol's events go to stdout as JSON lines (``progress`` in videos,
``done`` once the set is whole) and the summary to stderr.
"""
from __future__ import annotations

import argparse

from model_core.data_layout import SYNTH_VIDEOS
from model_core.options.spec import add_options
from model_core.options.synth import SynthCommand


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "synth",
        help="write a synthetic audio-visual data set (AVE + AVSOL-E formats)",
        description=(
            "Write a seeded synthetic data set: videos of procedurally drawn objects, one of "
            "which sounds (its class's sound) during event segments, with silent objects of "
            "other classes and background segments (silence, noise or an off-screen class)."),
    )
    add_options(parser, SynthCommand)   # every option, declared once in model_core.options.synth
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
    remove_stale_temps([], [out, out / SYNTH_VIDEOS])
    (out / MARKER).write_text("written by avsol synth\n")
    return out


def _remove_stale_videos(out, names) -> None:
    """After a --force rerun: the videos of the old set that the new one does not list."""
    folder = out / SYNTH_VIDEOS
    for p in folder.iterdir() if folder.is_dir() else ():
        if p.is_file() and p.name not in names:
            p.unlink()


def interrupted_hint(args) -> str:
    return ("the set is unfinished (each video and file is whole); rerun the same command with "
            "--force to write it again")


def run(args: argparse.Namespace) -> int:
    from model_core.errors import InputError
    from model_core.options.spec import from_args
    from model_core.synth.generate import generate

    config = from_args(SynthCommand, args).config()
    problems = config.problems()
    if problems:
        raise InputError(None, "; ".join(problems))
    import sys
    from contextlib import nullcontext

    from model_core.jobs.events import Done, Progress
    from model_core.jobs.sinks import HumanSink, JsonlSink

    out = _claim(args)
    try:
        with nullcontext(JsonlSink()) if args.jsonl else HumanSink("synth", "videos", total=config.videos) as sink:
            result = generate(out, config, workers=args.workers,
                              progress=lambda d, t: sink(Progress(done=d, total=t)))
    except OSError as exc:
        raise InputError(exc.filename or args.out, f"cannot write: {exc.strerror or exc}") from None
    _remove_stale_videos(out, {v["video"] for v in result.document["videos"]})
    sink(Done(out=str(args.out), seconds=result.elapsed_s))    # the set is whole: the job is done
    n_bg = sum(not s["event"] for v in result.document["videos"] for s in v["segments"])
    n_seg = config.videos * config.duration
    print(f"wrote {config.videos} videos ({result.media_seconds:g} s of media, {config.classes} "
          f"classes, {n_bg}/{n_seg} background segments) to {args.out} in "
          f"{result.elapsed_s:.1f} s", file=sys.stderr if args.jsonl else sys.stdout)
    return 0
