"""``avsol eval DATA --checkpoint CKPT [--checkpoint CKPT ...] --out REPORT.json [--csv F]
[--resume] [--jsonl] [--threshold RULE] [--negatives [--noise-level rms|unit] [--offscreen-draws K]
[--negatives-seed S]]`` (SPEC 9): run checkpoints over a folder and score every item.

``--negatives`` (SPEC 5, audio dependence) reads every event item again with silence,
noise and off-screen sound in place of its own audio (the frame's visual features shared
with the own-audio pass) and reports, per head, kind and class, ROC-AUC, false alarm, pIA,
map IoU and map change (``model_core.metrics.negatives``).

DATA holds the videos and AVSOL-E (``avsol-e.json``) or AVE (``Annotations.txt``)
annotations. Progress goes to stderr (a bar on a terminal, plain lines otherwise); with
``--jsonl`` JSON lines go to stdout (``progress``, ``item``, ``error``, ``done`` events).
Results are appended per video to ``REPORT.items.jsonl``: after a kill or SIGTERM,
``--resume`` redoes nothing already done. Under ``torchrun`` the videos are sharded across
the ranks and rank 0 writes the report. Exit 0 done, 2 bad input, 130 cancelled.
"""
from __future__ import annotations

import argparse

from model_core.metrics.threshold import parse_rule
from model_core.options.types import integer


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate checkpoints on a folder of annotated videos",
        description=(
            "Run one or more checkpoints over the videos of DATA (AVSOL-E or AVE annotations), "
            "decoding each video once for all heads, and write a report (SPEC 9) with every "
            "metric of SPEC 5 per head, per class and per size, items worst first."),
    )
    parser.add_argument("data", metavar="DATA", help="folder with videos + avsol-e.json or Annotations.txt")
    parser.add_argument("--checkpoint", action="append", required=True, metavar="CKPT",
                        help="checkpoint to evaluate, ours or a published model's (EZ-VSL, FNAC, SLAVC, "
                             "LVS, SSL-align, SSL-TIE, RCGrad, a plugin's); repeat for several heads")
    parser.add_argument("--model-family", default=None, metavar="NAME",
                        help="force this family for the checkpoints instead of detecting it")
    parser.add_argument("--out", required=True, metavar="REPORT.json", help="report to write")
    parser.add_argument("--csv", default=None, metavar="F", help="also write the item table as CSV")
    parser.add_argument("--resume", action="store_true",
                        help="keep the results already in REPORT.items*.jsonl and do only the rest")
    parser.add_argument("--jsonl", action="store_true", help="JSON-line events on stdout")
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    parser.add_argument("--batch-size", type=integer(1, 4096), default=16,
                        help="frames per forward pass (default 16)")
    parser.add_argument("--threads", type=integer(1, 1024), default=None,
                        help="torch CPU threads (default: torch's)")
    parser.add_argument("--protocol", default=None, choices=("ezvsl", "fnac", "slavc", "lvs", "ssl-align",
                                                             "ssl-tie", "rcgrad"),
                        help="evaluate as that paper did: the annotated frame, the model's own audio "
                             "window centred on it, the paper's threshold rule (recorded in the report; "
                             "what cannot be matched without the paper's data is listed there)")
    parser.add_argument("--threshold", type=parse_rule, default=None, metavar="RULE",
                        help="binary prediction of cIoU: median (default: LVS, EZ-VSL, FNAC), "
                             "fixed:T (the absolute [0,1] map > T), top-gt (the |GT| highest pixels), "
                             "adaptive (SSL-align's cIoU_adap), slavc (SLAVC's (S+1/tau)/(2/tau) > 0.5), "
                             "sweep (cIoU at fixed 0.05..0.95, reported); a bare number T thresholds "
                             "the min-max map")
    parser.add_argument("--annotations", default=None, metavar="PATH",
                        help="AVSOL-E file or AVE folder to use instead of the one in DATA")
    parser.add_argument("--videos", default=None, metavar="DIR", help="folder of the videos")
    parser.add_argument("--split", choices=("train", "val", "test"), default=None,
                        help="AVE only: evaluate this split (default: every annotated video)")
    parser.add_argument("--limit", type=integer(1), default=None, metavar="N", help="first N videos only")
    parser.add_argument("--audio-stream", type=integer(0, 1023), default=None, metavar="N",
                        help="which audio stream the maps hear (0 = the first; default: the first "
                             "that is not silent); named in the report")
    parser.add_argument("--negatives", action="store_true",
                        help="audio dependence (SPEC 5): also read every event item with silence, "
                             "noise and an off-screen sound in place of its own audio")
    parser.add_argument("--noise-level", choices=("rms", "unit"), default=None,
                        help="--negatives noise: rms (default: the RMS of the item's own 1 s window) "
                             "or unit (unit variance, as Juanola et al.)")
    parser.add_argument("--offscreen-draws", type=integer(1, 100), default=None, metavar="K",
                        help="--negatives: off-screen segments drawn per item (default 1)")
    parser.add_argument("--negatives-seed", type=integer(0, 2**31 - 1), default=None, metavar="S",
                        help="--negatives: seed of the off-screen draws and the noise (default 0; recorded)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    import signal
    import sys
    import threading

    from model_core.errors import InputError
    from model_core.evaluation.runner import EvalOptions, run_eval

    negatives = None
    given = [o for o, v in (("--noise-level", args.noise_level), ("--offscreen-draws", args.offscreen_draws),
                            ("--negatives-seed", args.negatives_seed)) if v is not None]
    if given and not args.negatives:
        raise InputError(None, f"{given[0]} applies only with --negatives")
    if args.negatives:
        from model_core.evaluation.negatives import NegativeOptions

        negatives = NegativeOptions(args.noise_level or "rms", args.offscreen_draws or 1, args.negatives_seed or 0)
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
    options = EvalOptions(device=args.device, batch_size=args.batch_size, threshold=threshold or "median",
                          resume=args.resume, jsonl=args.jsonl, limit=args.limit,
                          annotations=args.annotations, videos_dir=args.videos, split=args.split,
                          csv=paths.get("--csv"), threads=args.threads, negatives=negatives,
                          audio_stream=args.audio_stream, model_family=args.model_family,
                          protocol=args.protocol)
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
    if negatives is not None:
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
