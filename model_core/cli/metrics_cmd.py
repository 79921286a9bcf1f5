"""``avsol metrics --maps MAPS.npz --annotations avsol-e.json --out REPORT.json [--csv F]``
(SPEC 9): evaluate the maps of any model against AVSOL-E annotations.

Maps are matched to segments by video name and time (see ``model_core.metrics.matching``);
maps that match nothing are listed in the report's ``unmatched`` section and counted on
stdout; annotated segments without a map are ``missing`` items. A pickled npz, a maps file
with NaN, or bad annotations exit 2 with a one-line message naming the file.
"""
from __future__ import annotations

import argparse

from model_core.outputs import finite


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
    parser.add_argument("--maps", required=True, metavar="MAPS.npz", help="maps file (SPEC 9)")
    parser.add_argument("--annotations", required=True, metavar="AVSOL_E_JSON",
                        help="AVSOL-E v1 annotation file")
    parser.add_argument("--out", required=True, metavar="REPORT.json", help="report to write")
    parser.add_argument("--csv", default=None, metavar="F", help="also write the item table as CSV")
    parser.add_argument("--head", default=None, metavar="NAME",
                        help="name of the maps in the report (default: the file's head, else its stem)")
    parser.add_argument("--threshold", type=finite(0, 1, hi_open=True), default=None, metavar="T",
                        help="fixed threshold of the normalised map instead of the median protocol")
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
    from model_core.outputs import claim_outputs

    paths, _ = claim_outputs({"--out": args.out, "--csv": args.csv},
                             {"--maps": [args.maps], "--annotations": [args.annotations]}, lock="--out")
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
                                    p_avc=p_avc, threshold=args.threshold)
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
