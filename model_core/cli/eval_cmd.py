"""``avsol eval DATA --checkpoint CKPT [--checkpoint CKPT ...] --out REPORT.json [--csv F]
[--resume] [--jsonl] [--threshold RULE] [--negatives [--noise-level rms|unit] [--offscreen-draws K]
[--negatives-seed S]]`` (SPEC 9): run checkpoints over a folder and score every item.

``--negatives`` (SPEC 5, audio dependence) reads every event item again with silence,
noise and off-screen sound in place of its own audio (the frame's visual features shared
with the own-audio pass) and reports, per head, kind and class, ROC-AUC, false alarm, pIA,
map IoU and map change (``model_core.metrics.negatives``).

DATA holds the videos and AVSOL-E (``avsol-e.json``) or AVE (``Annotations.txt``)
annotations. Progress goes to stderr (a bar on a terminal, plain lines otherwise); with
``--jsonl`` the job protocol's events go to stdout as JSON lines (``progress``, ``item``,
``error``, ``log``, ``done``: :mod:`model_core.jobs.events`).
Results are appended per video to ``REPORT.items.jsonl``: after a kill or SIGTERM,
``--resume`` redoes nothing already done. Under ``torchrun`` the videos are sharded across
the ranks and rank 0 writes the report. Exit 0 done, 2 bad input, 130 cancelled.
"""
from __future__ import annotations

import argparse

from model_core.options.eval import EvalCommand
from model_core.options.spec import add_options


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate checkpoints on a folder of annotated videos",
        description=(
            "Run one or more checkpoints over the videos of DATA (AVSOL-E or AVE annotations), "
            "decoding each video once for all heads, and write a report (SPEC 9) with every "
            "metric of SPEC 5 per head, per class and per size, items worst first."),
    )
    add_options(parser, EvalCommand)   # every option, declared once in model_core.options.eval
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    import signal
    import sys
    import threading

    from model_core.errors import InputError
    from model_core.evaluation.runner import EvalOptions, run_eval
    from model_core.options.spec import check, from_args, project

    cmd = from_args(EvalCommand, args)
    check(cmd)
    from model_core.evaluation.store import log_path
    from model_core.input_protection import data_inputs
    from model_core.outputs.checks import claim_outputs

    paths, _ = claim_outputs(
        {"--out": (args.out, "report"), "--csv": (args.csv, "csv"),
         "the items log": (log_path(args.out), "items log")},
        {"DATA": [args.data, *data_inputs(args.data)], "--checkpoint": args.checkpoint,
         "--annotations": [args.annotations, *data_inputs(args.annotations)],
         "--videos": data_inputs(args.videos)}, lock="--out")
    threshold = args.threshold
    if args.protocol is not None:
        from model_core.evaluation.protocols import protocol

        rule = protocol(args.protocol).threshold
        if threshold is not None and threshold != rule:
            raise InputError(None, f"--protocol {args.protocol} scores with --threshold {rule}, "
                                   f"not {threshold}: leave --threshold out")
        threshold = rule
    options = project(EvalOptions, cmd, threshold=threshold or "median", csv=paths.get("--csv"))
    stop = threading.Event()
    previous = {}

    def on_signal(signum, frame):
        if stop.is_set():              # a second Ctrl-C / SIGTERM: stop now
            raise KeyboardInterrupt
        stop.set()

    if threading.current_thread() is threading.main_thread():
        # SIGINT and SIGTERM (the viewer's Cancel) alike stop after the current batch and
        # write the report of what is done; the items log keeps it for --resume
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        result = run_eval(args.data, args.checkpoint, paths["--out"], options, cancel=stop.is_set)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if result.report is None:          # a rank other than 0
        return 130 if result.cancelled else 0
    out = sys.stderr if args.jsonl else sys.stdout

    def f(x):
        return "n/a" if x is None else f"{x:.3f}"

    for name, h in result.report["heads"].items():
        print(f"{name}: cIoU@0.5 {f(h['ciou@0.5'])}  AUC {f(h['auc'])}  pointing {f(h['pointing'])}  "
              f"pixel AP {f(h['pixel_ap'])}  background FA {f(h['background']['false_alarm_rate'])}  "
              f"accuracy {f(h['classification']['accuracy'])}  items {h['n_items']} scored, "
              f"{h['n_missing']} missing, {h['n_failed']} failed", file=out)
    if options.negatives:
        from model_core.metrics.negatives import summary_lines

        heads_of = {c["name"]: c.get("head") for c in result.report["meta"].get("checkpoints", [])}
        for name, h in result.report["heads"].items():
            for line in summary_lines(name, h.get("negatives", {}), heads_of.get(name), h.get("per_class")):
                print(line, file=out)
    for note in result.report["notes"]:
        print(f"note: {note}", file=out)
    print(f"report: {args.out} ({result.videos_done}/{result.videos_total} videos, "
          f"{result.elapsed_s:.1f} s)", file=out)
    if result.cancelled:
        print("avsol eval: cancelled; rerun with --resume to finish", file=sys.stderr)
        return 130
    heads = result.report["heads"].values()
    if heads and not any(h["n_items"] for h in heads):
        n_missing = max(h["n_missing"] for h in heads)
        n_failed = max(h["n_failed"] for h in heads)
        raise InputError(args.data, f"no item could be scored ({n_missing} missing, {n_failed} failed; "
                                    f"see {args.out})")
    return 0


def interrupted_hint(args) -> str:
    return "the videos done are kept in the items log; rerun with --resume to finish"
