"""``avsol train DATA --head {avc,cls,dnm} --epochs E --out CKPT [--device auto|cpu|cuda]
[--resume] [--jsonl]`` (SPEC 9), plus the options of a run (declared once, with help, default and
range: :class:`~model_core.options.train.TrainCommand`, which extends
:class:`~model_core.train.options.TrainOptions` with the model choice and ``--jsonl``).

The run's events (:mod:`model_core.jobs.events`: ``start``, the feature cache's
``progress``, ``step``, ``epoch``, ``log``, ``done``) go to stdout: with ``--jsonl`` as JSON
lines only, for the GUI's training job; otherwise as short human-readable lines, with a
step bar on a terminal (:class:`model_core.jobs.sinks.HumanSink`). Under ``torchrun`` with
several processes only rank 0 prints and writes.
"""
from __future__ import annotations

import argparse
import sys

from model_core.options.spec import add_options
from model_core.options.train import TrainCommand


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train", help="train a model (head avc, cls or dnm) on an AVE-format folder",
        description="Train a DNM model on an AVE-format folder (e.g. one written by avsol synth). "
                    "Positives are 1 s event segments (frame at the segment's middle + its 1 s of "
                    "audio), AVC negatives the audio of another clip of the batch of another class. "
                    "Decoded inputs are cached (--cache) and reused by later runs. A resumable "
                    "checkpoint OUT.last.pt is written beside --out every --save-every steps.")
    add_options(p, TrainCommand)   # every option, declared once (model_core.options.train)
    p.set_defaults(func=run)
    return p


def interrupted_hint(args) -> str:
    last = TrainCommand(data=args.data, head=args.head, epochs=args.epochs, out=args.out).last_path
    if last.exists():
        return (f"{last} holds the run up to its last save (every --save-every steps and each "
                f"epoch's end); rerun the same command with --resume to continue from it")
    return "no resumable checkpoint was saved yet; rerun the same command"


def _claim(cmd: TrainCommand):
    """Check every output against every input, take the lock on --out, clean leftovers."""
    import os

    from model_core.input_protection import data_inputs
    from model_core.outputs.checks import claim_outputs

    config_file = cmd.config if os.path.isfile(cmd.config) else None
    paths, _ = claim_outputs(
        {"--out": (cmd.out, "checkpoint"), "the resumable checkpoint": (cmd.last_path, "checkpoint"),
         "the best checkpoint": (cmd.best_path, "checkpoint")},
        {"DATA": [cmd.data, *data_inputs(cmd.data)], "--config": [config_file],
         "--visual-init": [cmd.visual_init], "--cache": [cmd.cache_dir]}, lock="--out")
    return paths["--out"]


def run(args: argparse.Namespace) -> int:
    from model_core.options.spec import from_args
    from model_core.jobs.sinks import HumanSink, JsonlSink
    from model_core.train.loop import Trainer
    from model_core.train.options import model_settings

    cmd = from_args(TrainCommand, args, command=["avsol", *getattr(args, "argv", sys.argv[1:])])
    out = _claim(cmd)
    opts = cmd.run_options(out=str(out), model=model_settings(cmd.config, cmd.model_overrides()))
    Trainer(opts, [JsonlSink() if cmd.jsonl else HumanSink("train", "steps", stream=sys.stdout)]).run()
    return 0
