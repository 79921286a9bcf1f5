"""``avsol train DATA --head {avc,cls,dnm} --epochs E --out CKPT [--device auto|cpu|cuda]
[--resume] [--jsonl]`` (SPEC 9), plus the options of :class:`~model_core.train.options.TrainOptions`.

The run's events (:mod:`model_core.jobs.events`: ``start``, the feature cache's
``progress``, ``step``, ``epoch``, ``log``, ``done``) go to stdout: with ``--jsonl`` as JSON
lines only, for the GUI's training job; otherwise as short human-readable lines, with a
step bar on a terminal (:class:`model_core.jobs.sinks.HumanSink`). Under ``torchrun`` with
several processes only rank 0 prints and writes.
"""
from __future__ import annotations

import argparse
import sys

from model_core.options.types import finite, integer
from model_core.train.options import PRESETS


def _layers(text: str) -> list[int]:
    try:
        vals = [int(x) for x in text.replace("-", ",").split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 4 integers like 2,2,2,2, got {text!r}") from None
    if len(vals) != 4:
        raise argparse.ArgumentTypeError(f"expected 4 integers like 2,2,2,2, got {text!r}")
    if not all(1 <= v <= 64 for v in vals):
        raise argparse.ArgumentTypeError(f"blocks per stage must be in 1..64, got {text!r}")
    return vals


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train", help="train a model (head avc, cls or dnm) on an AVE-format folder",
        description="Train a DNM model on an AVE-format folder (e.g. one written by avsol synth). "
                    "Positives are 1 s event segments (frame at the segment's middle + its 1 s of "
                    "audio), AVC negatives the audio of another clip of the batch of another class. "
                    "Decoded inputs are cached (--cache) and reused by later runs. A resumable "
                    "checkpoint OUT.last.pt is written beside --out every --save-every steps.")
    p.add_argument("data", metavar="DATA", help="AVE-format folder (Annotations.txt, split files, videos)")
    p.add_argument("--head", required=True, choices=("avc", "cls", "dnm"), help="which loss to train")
    p.add_argument("--epochs", type=integer(1, 1_000_000), required=True, help="passes over the train split")
    p.add_argument("--out", required=True, metavar="CKPT", help="checkpoint to write (.pt)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default: auto")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT.last.pt (starts afresh, saying so, if there is none)")
    p.add_argument("--jsonl", action="store_true", help="progress as JSON lines on stdout")
    g = p.add_argument_group("optimisation")
    g.add_argument("--batch-size", type=integer(1, 65536), default=32, help="per process (default 32)")
    g.add_argument("--lr", type=finite(0, 10, lo_open=True), default=2e-3, help="peak learning rate of AdamW (default 2e-3)")
    g.add_argument("--weight-decay", type=finite(0, 10), default=1e-4, help="AdamW weight decay (default 1e-4)")
    g.add_argument("--warmup-steps", type=integer(0), default=None, help="default: 5%% of the steps")
    g.add_argument("--lambda", dest="lam", type=finite(0, 1000), default=1.0,
                   help="weight of the classification loss in the dnm head (default 1)")
    g.add_argument("--seed", type=integer(0, 2**32 - 1), default=0, help="random seed (default 0)")
    g.add_argument("--grad-clip", type=finite(0, 1e6, lo_open=True), default=None, metavar="NORM",
                   help="scale the gradients so that their global L2 norm is at most NORM "
                        "(default: no clipping); step events then carry grad_norm, before clipping")
    g.add_argument("--no-flip", dest="flip", action="store_false", help="no left-right flips")
    g.add_argument("--absent-negatives", action="store_true",
                   help="AVC negatives only with the sound of a class not visible in the frame "
                        "(needs avsol-e.json silent boxes; see model_core/train/pairs.py)")
    g.add_argument("--crop-scale", type=finite(0.1, 1), default=1.0, metavar="S",
                   help="random crops covering S..1 of the frame, resized back (default 1: off)")
    g.add_argument("--swap-silent", type=finite(0, 1), default=0.0, metavar="P",
                   help="with probability P pair a frame with the sound (and class) of one of its "
                        "visible silent objects, as a positive (default 0)")
    m = p.add_argument_group("model")
    m.add_argument("--config", default="demo", metavar="PRESET|FILE.json",
                   help=f"model preset ({', '.join(PRESETS)}) or a JSON file of ModelConfig fields "
                        f"(default demo)")
    m.add_argument("--width", type=integer(1, 512), help="visual (and audio) trunk width; 64 = ResNet-18")
    m.add_argument("--audio-width", type=integer(1, 512), help="audio trunk width")
    m.add_argument("--layers", type=_layers, help="blocks per stage, e.g. 2,2,2,2")
    m.add_argument("--map-size", type=integer(1, 256), help="side of the map (image size / 16 or / 32)")
    m.add_argument("--image-size", type=integer(16, 4096), help="side of the square input frame")
    m.add_argument("--embed-dim", type=integer(1, 8192), help="shared embedding dimension D")
    m.add_argument("--visual-init", metavar="FILE", help="state-dict file to initialise the visual trunk")
    r = p.add_argument_group("running")
    r.add_argument("--cache", metavar="DIR", help="feature cache folder (default DATA/.avsol-cache)")
    r.add_argument("--workers", type=integer(1, 256), default=1, help="processes decoding videos into the cache")
    r.add_argument("--threads", type=integer(1, 1024), help="torch CPU threads (default: torch's choice)")
    r.add_argument("--val-every", type=integer(1), default=1, help="validate every N epochs (and after the last)")
    r.add_argument("--val-limit", type=integer(1), metavar="N",
                   help="validate on N val segments drawn once with a fixed seed (the same N for "
                        "every run and seed; default: all)")
    r.add_argument("--save-every", type=integer(1), default=50, help="write OUT.last.pt every N steps (default 50)")
    r.add_argument("--log-every", type=integer(1), default=10, help="a step event every N steps (default 10)")
    r.add_argument("--select-best", metavar="METRIC",
                   help="write to --out the weights of the epoch with the best val METRIC (loss, "
                        "avc_acc, cls_acc, ciou@0.5, mean_ciou, pointing) instead of the last epoch's")
    r.add_argument("--keep-last", action="store_true", help="keep OUT.last.pt after the run finishes")
    r.add_argument("--stop-after-steps", type=int, help=argparse.SUPPRESS)  # tests: a kill
    p.set_defaults(func=run)
    return p


def interrupted_hint(args) -> str:
    from model_core.train.options import TrainOptions

    last = TrainOptions(data=args.data, head=args.head, epochs=args.epochs, out=args.out).last_path
    if last.exists():
        return (f"{last} holds the run up to its last save (every --save-every steps and each "
                f"epoch's end); rerun the same command with --resume to continue from it")
    return "no resumable checkpoint was saved yet; rerun the same command"


def _claim(args: argparse.Namespace):
    """Check every output against every input, take the lock on --out, clean leftovers."""
    import os

    from model_core.input_protection import data_inputs
    from model_core.outputs.checks import claim_outputs
    from model_core.train.options import TrainOptions

    o = TrainOptions(data=args.data, head=args.head, epochs=args.epochs, out=args.out, cache=args.cache)
    config_file = args.config if os.path.isfile(args.config) else None
    paths, _ = claim_outputs(
        {"--out": (args.out, "checkpoint"), "the resumable checkpoint": (o.last_path, "checkpoint"),
         "the best checkpoint": (o.best_path, "checkpoint")},
        {"DATA": [args.data, *data_inputs(args.data)], "--config": [config_file],
         "--visual-init": [args.visual_init], "--cache": [o.cache_dir]}, lock="--out")
    return paths["--out"]


def run(args: argparse.Namespace) -> int:
    from model_core.jobs.sinks import HumanSink, JsonlSink
    from model_core.train.loop import Trainer
    from model_core.train.options import TrainOptions, model_settings

    out = _claim(args)

    model = model_settings(args.config, {"width": args.width, "audio_width": args.audio_width,
                                         "layers": args.layers, "map_size": args.map_size,
                                         "image_size": args.image_size, "embed_dim": args.embed_dim})
    opts = TrainOptions(
        data=args.data, head=args.head, epochs=args.epochs, out=str(out), device=args.device,
        resume=args.resume, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps, seed=args.seed, workers=args.workers, model=model,
        lam=args.lam, visual_init=args.visual_init, cache=args.cache, val_every=args.val_every,
        save_every=args.save_every, log_every=args.log_every, flip=args.flip,
        keep_last=args.keep_last, absent_negatives=args.absent_negatives, val_limit=args.val_limit,
        crop_scale=args.crop_scale, swap_silent=args.swap_silent, select_best=args.select_best,
        grad_clip=args.grad_clip,
        threads=args.threads, stop_after_steps=args.stop_after_steps,
        command=["avsol", *getattr(args, "argv", sys.argv[1:])])
    Trainer(opts, [JsonlSink() if args.jsonl else HumanSink("train", "steps", stream=sys.stdout)]).run()
    return 0
