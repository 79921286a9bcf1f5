"""``avsol agreement SET.json [--annotators A B] [--out F.json]``.

Inter-annotator agreement of two annotators of an AVSOL-E set: per segment, per class and
overall, the box IoU after matching, the share of segments where they agree on
sounding/silent and on "no sounding object visible", and Cohen's kappa of the segment
labels (definitions: :mod:`model_core.annotate.agreement`). Prints the overall line and one
line per class; ``--out`` writes everything, per segment too, as JSON (atomically).

A malformed set is one line naming the file and its problems (exit 2), as is a set with
fewer than two annotators or an annotator it does not have.
"""
from __future__ import annotations

import argparse

from model_core.options.reports import AgreementCommand
from model_core.options.spec import add_options


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "agreement",
        help="inter-annotator agreement of an AVSOL-E set (box IoU, sounding/silent, kappa)",
        description=(
            "Compare two annotators of an AVSOL-E set on the segments both annotated: box IoU "
            "after one-to-one matching, the share of segments agreeing on sounding/silent and on "
            "'no sounding object visible', and Cohen's kappa of the segment labels; per segment, "
            "per class and overall."),
    )
    add_options(parser, AgreementCommand)   # every option, declared once in model_core.options.reports
    parser.set_defaults(func=run)
    return parser


def _f(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _line(s: dict) -> str:
    return (f"box IoU {_f(s['box_iou'])} ({s['box_iou_segments']} seg), sounding/silent "
            f"{_f(s['sounding_agree'])} ({s['sounding_segments']} seg), no-sounding {_f(s['no_sounding_agree'])}, "
            f"labels {_f(s['label_agree'])}, kappa {_f(s['kappa'])}; {s['segments']} segments")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from model_core.annotate.agreement import agreement
    from model_core.annotate.document import AnnotationDocument
    from model_core.atomic import write_json
    from model_core.errors import InputError
    from model_core.input_protection import beside
    from model_core.outputs.checks import claim_outputs

    paths: dict[str, Path] = {}
    if args.out is not None:
        paths, _ = claim_outputs({"--out": (args.out, "json")}, {"SET.json": beside(args.annotations)},
                                 lock="--out")
    doc = AnnotationDocument.load(args.annotations)
    try:
        result = agreement(doc, args.annotators)
    except ValueError as exc:
        raise InputError(args.annotations, str(exc)) from None
    result = {"annotations": str(args.annotations), **result}
    if args.out is not None:
        write_json(paths["--out"], result)
    a, b = (name if name is not None else "(unnamed)" for name in result["annotators"])
    o = result["overall"]
    print(f"{a} vs {b}: {_line(o)}" + (f", {o['not_compared']} annotated by one only" if o["not_compared"] else ""))
    for name, s in result["classes"].items():
        print(f"  {name}: {_line(s)}")
    if args.out is not None:
        print(f"-> {args.out}")
    return 0
