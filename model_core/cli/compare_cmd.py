"""``avsol compare REPORT [REPORT ...] --out COMPARE.json`` (SPEC 9).

Reads eval or metrics reports, takes every head of every report as one model, and writes
per pair of models each metric's paired difference with a 95 % bootstrap interval over the
shared items, and per training head (several checkpoints of one head = seeds) the mean and
spread over seeds plus the seed-averaged pair differences (statistics in
:mod:`model_core.metrics.compare`). Prints one line per kind pair. Reports whose heads
share no item exit 2 with one line naming the files.
"""
from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    from model_core.metrics.compare import DEFAULT_RESAMPLES, DEFAULT_SEED
    from model_core.outputs import integer

    parser = subparsers.add_parser(
        "compare",
        help="paired differences of heads with bootstrap intervals, and spread over seeds",
        description=(
            "Compare heads scored on the same items: for every pair, the difference of "
            "cIoU@0.5, AUC, pointing, mean cIoU and pixel AP with a 95 %% paired-bootstrap "
            "interval over items; checkpoints of the same training head (avc/cls/dnm, from "
            "the report's meta) count as seeds: mean and standard deviation over seeds, and "
            "the seed-averaged difference per pair of heads."),
    )
    parser.add_argument("reports", nargs="+", metavar="REPORT", help="report JSON (avsol eval / metrics)")
    parser.add_argument("--out", required=True, metavar="COMPARE.json", help="file to write")
    parser.add_argument("--resamples", type=integer(100, 1_000_000), default=DEFAULT_RESAMPLES,
                        help=f"bootstrap resamples (default {DEFAULT_RESAMPLES})")
    parser.add_argument("--seed", type=integer(0, 2**32 - 1), default=DEFAULT_SEED,
                        help=f"bootstrap seed (default {DEFAULT_SEED})")
    parser.set_defaults(func=run)
    return parser


def _load(path: str) -> dict:
    import json

    from model_core.errors import InputError

    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise InputError(path, f"not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("heads"), dict) or not isinstance(doc.get("items"), list):
        raise InputError(path, "not an avsol report (needs 'heads' and 'items')")
    return doc


def load_models(paths: list[str]):
    """Every head of every report as a :class:`~model_core.metrics.compare.Model`."""
    from pathlib import Path

    from model_core.errors import InputError
    from model_core.metrics.compare import Model, item_metrics

    found = []
    for path in paths:
        doc = _load(path)
        ckpts = {c.get("name"): c for c in (doc.get("meta") or {}).get("checkpoints") or []
                 if isinstance(c, dict)}
        rows: dict[str, list] = {h: [] for h in doc["heads"]}
        for r in doc["items"]:
            if not isinstance(r, dict):
                raise InputError(path, "an item row is not an object")
            if (r.get("status", "scored") == "scored" and r.get("kind", "event") == "event"
                    and r.get("ciou") is not None and r.get("head") in rows):
                rows[r["head"]].append(r)
        for head, hrows in rows.items():
            try:
                keys = [(str(r["video"]), int(round(float(r["time"]) * 1000))) for r in hrows]
            except (KeyError, TypeError, ValueError):
                raise InputError(path, f"head {head!r}: an item row lacks a video or a time") from None
            if len(set(keys)) != len(keys):
                raise InputError(path, f"head {head!r}: the same item (video, time) appears twice")
            ck = ckpts.get(head) or {}
            found.append((path, head, ck.get("head") or head, ck.get("path"), keys, item_metrics(hrows)))
    heads = [f[1] for f in found]
    unique = len(set(heads)) == len(heads)
    return [Model(name=head if unique else f"{Path(path).stem}:{head}", report=str(Path(path).resolve()),
                  head=head, kind=kind, checkpoint=ck, keys=keys, metrics=metrics)
            for path, head, kind, ck, keys, metrics in found]


def run(args: argparse.Namespace) -> int:
    from model_core.atomic import write_json
    from model_core.errors import InputError
    from model_core.metrics.compare import compare_models, shared_keys
    from model_core.metrics.meta import run_meta
    from model_core.outputs import claim_outputs, report_inputs

    # the same contract as every writer: never over a report it reads or what they point at
    # (annotations, data folders, checkpoints), one writer, checked first
    paths, _ = claim_outputs({"--out": (args.out, "comparison")},
                             {"REPORT": [p for r in args.reports for p in report_inputs(r)]}, lock="--out")
    models = load_models(args.reports)
    if len(models) < 2:
        raise InputError(args.reports[0], "holds one head: give reports with two heads or more")
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            if not shared_keys([a, b]):
                where = a.report if a.report == b.report else f"{a.report} and {b.report}"
                raise InputError(where, f"heads {a.name!r} and {b.name!r} share no scored item "
                                        f"(different annotations or videos?)")
    doc = compare_models(models, resamples=args.resamples, seed=args.seed)
    doc["meta"] = run_meta(command="compare", reports=[m.report for m in models])
    try:
        write_json(paths["--out"], doc)
    except OSError as exc:
        raise InputError(exc.filename or args.out, f"cannot write: {exc.strerror or exc}") from None

    def f(x):
        return "n/a" if x is None else f"{x:+.3f}"

    for kp in doc["kind_pairs"] or doc["pairs"]:
        parts = [f"{k} {f(e['diff'])} [{f(e['ci'][0])}, {f(e['ci'][1])}]" for k, e in kp["metrics"].items()]
        print(f"{kp['a']} - {kp['b']} ({kp['n_items']} items): " + "; ".join(parts))
    print(f"wrote {args.out} ({len(models)} heads, {len(doc['pairs'])} pairs, "
          f"{args.resamples} resamples, seed {args.seed})")
    return 0
