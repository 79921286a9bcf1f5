"""``avsol compare REPORT [REPORT ...] --out COMPARE.json`` (SPEC 9).

Reads eval or metrics reports, takes every head of every report as one model, and writes
per pair of models each metric's paired difference with a 95 % bootstrap interval over the
shared items, and per training head (several checkpoints of one head = seeds) the mean and
spread over seeds plus the seed-averaged pair differences (statistics in
:mod:`model_core.metrics.compare`). Prints one line per kind pair.

Refused with one line naming the file and exit 2: a report whose header or any item row
breaks the schema (:mod:`model_core.metrics.report_schema`: a string or out-of-range cIoU,
an infinite time, an unknown format version, JSON nested too deeply), an incomplete
report (unless ``--allow-incomplete``), reports scored on different annotations (their
sha256 differ), and reports whose heads share no item. Items are paired by their
annotated segment (video, start, end), never by a map time rounded to the millisecond.
"""
from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    from model_core.options.reports import CompareCommand
    from model_core.options.spec import add_options

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
    add_options(parser, CompareCommand)   # every option, declared once in model_core.options.reports
    parser.set_defaults(func=run)
    return parser


def _load(path: str, allow_incomplete: bool = False) -> dict:
    """A report checked as every reader checks it (:mod:`model_core.metrics.report_schema`,
    strict: one located line for the first bad field, e.g. a hand-set cIoU of 57), and
    complete unless ``allow_incomplete``."""
    from model_core.errors import InputError
    from model_core.metrics.report_schema import read_report

    doc, _ = read_report(path, strict=True)
    meta = doc.get("meta") or {}
    if meta.get("complete") is False and not allow_incomplete:
        done, total = meta.get("videos_done"), meta.get("videos_total")
        what = f"{done} of {total} videos" if done is not None and total is not None else "part of its videos"
        raise InputError(path, f"is incomplete ({what} evaluated): finish it with avsol eval --resume, "
                               f"or pass --allow-incomplete to compare the items it has")
    return doc


def model_names(found: list[tuple[str, str]]) -> list[str]:
    """Unique, stable names of (report path, head) pairs, in argument order: the head name
    when it is unique; else ``STEM:head``; report paths that still collide (same stem in
    two folders) grow parent folders until they differ; the very same report given twice
    gets ``#2``, ``#3`` by argument order. Never two models under one name."""
    from pathlib import Path

    heads = [h for _, h in found]
    if len(set(heads)) == len(heads):
        return heads
    paths = [Path(p).resolve() for p, _ in found]
    depth = [1] * len(found)

    def label(i):
        parts = paths[i].with_suffix("").parts
        return "/".join(parts[-depth[i]:]) + ":" + found[i][1]

    while True:
        names = [label(i) for i in range(len(found))]
        grown = False
        for i, n in enumerate(names):
            clash = [j for j, m in enumerate(names) if m == n and paths[j] != paths[i]]
            if clash and depth[i] < len(paths[i].parts):
                depth[i] += 1
                grown = True
        if not grown:
            break
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out


def segment_key(row: dict) -> tuple:
    """An item's identity: its video and annotated segment (not the map's time)."""
    return (str(row["video"]), round(float(row["start"]), 6), round(float(row["end"]), 6))


def load_models(paths: list[str], allow_incomplete: bool = False):
    """Every head of every report as a :class:`~model_core.metrics.compare.Model`."""
    from pathlib import Path

    from model_core.errors import InputError
    from model_core.metrics.compare import Model, item_metrics

    found = []
    for path in paths:
        doc = _load(path, allow_incomplete)
        meta = doc.get("meta") or {}
        ckpts = {c.get("name"): c for c in meta.get("checkpoints") or []}
        rows: dict[str, list] = {h: [] for h in doc["heads"]}
        for r in doc["items"]:
            if r["status"] == "scored" and r["kind"] == "event" and r.get("ciou") is not None:
                rows[r["head"]].append(r)
        for head, hrows in rows.items():
            keys = [segment_key(r) for r in hrows]
            if len(set(keys)) != len(keys):
                dup = next(k for k in keys if keys.count(k) > 1)
                raise InputError(path, f"head {head!r}: the item {dup[0]} {dup[1]:g}-{dup[2]:g} s appears twice")
            ck = ckpts.get(head) or {}
            found.append((path, head, ck.get("head") or head, ck.get("path"), keys, item_metrics(hrows),
                          meta.get("annotations_sha256")))
    names = model_names([(f[0], f[1]) for f in found])
    return [Model(name=name, report=str(Path(path).resolve()), head=head, kind=kind, checkpoint=ck, keys=keys,
                  metrics=metrics, annotations_sha256=digest)
            for name, (path, head, kind, ck, keys, metrics, digest) in zip(names, found)]


def repeated_reports(paths: list[str]) -> list[str]:
    """Notes for a report given more than once: kept apart by name (``#2``), but its heads
    then count as that many seeds of their training head."""
    from collections import Counter
    from pathlib import Path

    seen = Counter(str(Path(p).resolve()) for p in paths)
    return [f"{p}: given {k} times: each of its heads is compared as {k} models (and {k} seeds)"
            for p, k in seen.items() if k > 1]


def check_same_annotations(models) -> list[str]:
    """Refuse models scored on different annotations (their sha256 differ): files of two
    data sets may share names (``synth_00001.mp4``) and would be paired as one item.
    Returns notes for reports without a digest (written before version 2)."""
    from model_core.errors import InputError

    known = [m for m in models if m.annotations_sha256]
    for m in known[1:]:
        if m.annotations_sha256 != known[0].annotations_sha256:
            where = m.report if m.report == known[0].report else f"{known[0].report} and {m.report}"
            raise InputError(where, f"were scored on different annotations (sha256 "
                                    f"{known[0].annotations_sha256[:12]}… vs {m.annotations_sha256[:12]}…): "
                                    f"their items are not the same items")
    old = sorted({m.report for m in models if not m.annotations_sha256})
    return [f"{r}: records no annotations digest (an older report): that its items are the same "
            f"data set is assumed, not checked" for r in old] if old and len({m.report for m in models}) > 1 else []


def run(args: argparse.Namespace) -> int:
    from model_core.atomic import write_json
    from model_core.errors import InputError
    from model_core.metrics.compare import compare_models, shared_keys
    from model_core.metrics.meta import run_meta
    from model_core.input_protection import report_inputs
    from model_core.outputs.checks import claim_outputs

    # the same contract as every writer: never over a report it reads or what they point at
    # (annotations, data folders, checkpoints), one writer, checked first
    paths, _ = claim_outputs({"--out": (args.out, "comparison")},
                             {"REPORT": [p for r in args.reports for p in report_inputs(r)]}, lock="--out")
    models = load_models(args.reports, getattr(args, "allow_incomplete", False))
    notes = check_same_annotations(models) + repeated_reports(args.reports)
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
    doc["notes"] = notes
    try:
        write_json(paths["--out"], doc)
    except OSError as exc:
        raise InputError(exc.filename or args.out, f"cannot write: {exc.strerror or exc}") from None

    def f(x):
        return "n/a" if x is None else f"{x:+.3f}"

    for line in notes:
        print(f"note: {line}")
    for kp in doc["kind_pairs"] or doc["pairs"]:
        parts = [f"{k} {f(e['diff'])} [{f(e['ci'][0])}, {f(e['ci'][1])}]" for k, e in kp["metrics"].items()]
        print(f"{kp['a']} - {kp['b']} ({kp['n_items']} items): " + "; ".join(parts))
    print(f"wrote {args.out} ({len(models)} heads, {len(doc['pairs'])} pairs, "
          f"{args.resamples} resamples, seed {args.seed})")
    return 0
