"""``avsol metrics --maps MAPS.npz --annotations avsol-e.json --out REPORT.json [--csv F]
[--threshold RULE]`` (SPEC 9): evaluate the maps of any model against AVSOL-E annotations.

``avsol metrics --report OLD.json --threshold RULE --out NEW.json`` rescores a saved report
(``avsol eval`` or ``avsol metrics``) under another threshold rule from the maps its items
carry, without running a model (``model_core.metrics.rescore``).

Maps are matched to segments by video name and time (see ``model_core.metrics.matching``);
maps that match nothing are listed in the report's ``unmatched`` section and counted on
stdout; annotated segments without a map are ``missing`` items. A pickled npz, a maps file
with NaN, or bad annotations exit 2 with a one-line message naming the file.

Provenance: the report's meta records the sha256 of the annotations and of the maps file
(``run_meta``). Rescoring refuses a report whose annotations changed since
(``--allow-changed-annotations``, or naming the new set with ``--annotations``, rescores
against the new boxes, records the change and marks the items whose ground truth changed),
and a report with a bad header or item row (a string cIoU, an infinite time, deeply nested
JSON: :mod:`model_core.metrics.report_schema`) with one located line.
"""
from __future__ import annotations

import argparse

from model_core.options.reports import MetricsCommand
from model_core.options.spec import add_options


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "metrics",
        help="evaluate a maps file (any model) against AVSOL-E annotations",
        description=(
            "Score the maps of a maps file (.npz: maps, videos, times, optional head and "
            "p_avc) against AVSOL-E boxes: cIoU@0.5, AUC, pointing, pixel AP/ROC-AUC, "
            "silent-object confusion, background false alarms (needs p_avc), failure labels, "
            "per class and per size. Writes REPORT.json (and the item table as CSV)."),
    )
    add_options(parser, MetricsCommand)   # every option, declared once in model_core.options.reports
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from model_core.errors import InputError
    from model_core.formats import load_avsol_e
    from model_core.maps_file import load_maps
    from model_core.metrics.matching import evaluate_maps, unmatched_section
    from model_core.metrics.report import build_report, write_report
    from model_core.metrics.meta import run_meta
    from model_core.input_protection import beside
    from model_core.outputs.checks import claim_outputs

    if args.report is not None:
        return _rescore(args)
    if args.annotations is None:
        raise InputError(None, "--annotations is needed with --maps")
    paths, _ = claim_outputs({"--out": (args.out, "report"), "--csv": (args.csv, "csv")},
                             {"--maps": beside(args.maps), "--annotations": beside(args.annotations)},
                             lock="--out")
    annotations = load_avsol_e(args.annotations)
    mf = load_maps(args.maps)
    head = args.head or mf.head or Path(args.maps).stem
    p_avc = mf.extra.get("p_avc")
    if p_avc is not None:
        p_avc = np.asarray(p_avc, dtype=np.float64)
        if p_avc.shape != (len(mf),):
            raise InputError(args.maps, f"'p_avc' must hold one value per map ({len(mf)}), "
                                        f"got shape {p_avc.shape}")
    items, matching = evaluate_maps(mf.maps, mf.videos, mf.times, annotations, head,
                                    p_avc=p_avc, threshold=args.threshold, map_kind=mf.map_kind, tau=mf.tau,
                                    crop=mf.crop)
    notes = []
    if p_avc is None:
        notes.append("the maps file has no 'p_avc': background false alarms are not scored")
    if matching.unmatched:
        notes.append(f"{len(matching.unmatched)} map(s) match no annotated segment (see 'unmatched')")
    meta = run_meta(command="metrics", annotations=args.annotations, maps=args.maps,
                    threshold=args.threshold)
    report = build_report(items, [head], meta, notes, unmatched=unmatched_section(matching))
    try:
        write_report(paths["--out"], report, paths.get("--csv"))
    except OSError as exc:
        raise InputError(exc.filename or args.out, f"cannot write: {exc.strerror or exc}") from None
    h = report["heads"][head]
    for line in notes:
        print(f"note: {line}")
    for v, t, why in matching.unmatched[:20]:
        print(f"unmatched map: {v} at {t:g} s ({why})")
    if len(matching.unmatched) > 20:
        print(f"... and {len(matching.unmatched) - 20} more unmatched maps")

    def f(x):
        return "n/a" if x is None else f"{x:.3f}"

    print(f"{head}: cIoU@0.5 {f(h['ciou@0.5'])}  AUC {f(h['auc'])}  pointing {f(h['pointing'])}  "
          f"pixel AP {f(h['pixel_ap'])}  items {h['n_items']} scored, {h['n_missing']} missing, "
          f"{h['n_failed']} failed; {len(matching.unmatched)} unmatched maps -> {args.out}")
    return 0


def _rescore(args: argparse.Namespace) -> int:
    from model_core.errors import InputError
    from model_core.metrics.report import write_report
    from model_core.metrics.rescore import read_report, rescore_report
    from model_core.input_protection import beside, report_inputs
    from model_core.outputs.checks import claim_outputs

    # the report's meta leads to its annotations, data folder and checkpoints: all read or theirs
    paths, _ = claim_outputs({"--out": (args.out, "report"), "--csv": (args.csv, "csv")},
                             {"--report": report_inputs(args.report), "--annotations": beside(args.annotations)},
                             lock="--out")
    old = read_report(args.report, strict=True)       # a hand-edited row: one located line, exit 2
    # an explicit --annotations (a corrected set) means the change is intended
    report = rescore_report(old, args.threshold, args.annotations,
                            allow_changed_annotations=getattr(args, "allow_changed_annotations", False)
                            or args.annotations is not None)
    try:
        write_report(paths["--out"], report, paths.get("--csv"))
    except OSError as exc:
        raise InputError(exc.filename or args.out, f"cannot write: {exc.strerror or exc}") from None
    for note in report["notes"]:
        print(f"note: {note}")
    for head, h in report["heads"].items():
        was = old["heads"].get(head, {}).get("ciou@0.5")
        print(f"{head}: cIoU@0.5 {_f(was)} ({report['meta']['rescored_from']}) -> {_f(h['ciou@0.5'])} "
              f"({args.threshold}), AUC {_f(h['auc'])}, {h['n_items']} scored -> {args.out}")
    return 0


def _f(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"
